"""The N = 1 linearized GD map at network scale against exact oracles."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from model_helpers import float64_resnet_with_random_bn
from torch import nn
from torch.func import functional_call, hessian

from qtrain.spectra.hvp import HessianOperator
from qtrain.spectra.linearized import LinearizedGD

pytestmark = pytest.mark.usefixtures("one_thread")


def batches(n_batches: int, d: int, seed: int = 0, classes: int | None = None):
    gen = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n_batches):
        x = torch.randn(16, d, generator=gen, dtype=torch.float64)
        if classes is None:
            y = torch.randn(16, 1, generator=gen, dtype=torch.float64)
        else:
            y = torch.randint(classes, (16,), generator=gen)
        out.append((x, y))
    return out


def masked_sgd(model, masks, data, lr, weight_decay, loss_fn):
    """The real run: masked SGD as in qtrain.learning.sparse_training."""
    opt = torch.optim.SGD(model.parameters(), lr=lr, weight_decay=weight_decay)
    params = dict(model.named_parameters())
    for x, y in data:
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        for name, m in (masks or {}).items():
            params[name].grad.mul_(m)
        opt.step()
        for name, m in (masks or {}).items():
            with torch.no_grad():
                params[name].mul_(m)
    return model


def test_quadratic_loss_linearization_is_exact_with_masks_and_weight_decay() -> None:
    """MSE of a linear model is quadratic in θ: the N = 1 map is GD itself."""
    torch.manual_seed(0)
    model = nn.Linear(6, 1).double()
    mask = torch.rand(1, 6, generator=torch.Generator().manual_seed(1)) < 0.5
    with torch.no_grad():
        model.weight.mul_(mask)
    masks = {"weight": mask}
    data = batches(7, 6)
    lin = LinearizedGD(model, F.mse_loss, lr=0.1, masks=masks, weight_decay=0.03)
    real = copy.deepcopy(model)
    for step, (x, y) in enumerate(data, start=1):
        lin.step(x, y)
        masked_sgd(real, masks, [(x, y)], 0.1, 0.03, F.mse_loss)
        assert lin.gap(real) < 1e-12 * max(1.0, lin.displacement(real)), step
    assert lin.dim == int(mask.sum()) + 1  # kept weights + the bias
    assert lin.displacement(real) > 1e-3
    # θ_lin written back into a model: pruned weights zero, values equal to the real run
    target = copy.deepcopy(model)
    lin.load_into(target)
    assert torch.equal(target.weight[~mask], torch.zeros(int((~mask).sum()), dtype=torch.float64))
    torch.testing.assert_close(target.weight, real.weight, rtol=0, atol=1e-12)


def test_nonlinear_net_matches_explicit_hessian_iteration() -> None:
    """θ(t+1) = θ(t) − η[g_B(θ̄) + H_B(θ̄)(θ(t) − θ̄)] with H from torch.func.hessian."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 3)).double()
    names = [n for n, _ in model.named_parameters()]
    shapes = [p.shape for p in model.parameters()]
    sizes = [p.numel() for p in model.parameters()]
    theta_bar = torch.cat([p.detach().reshape(-1) for p in model.parameters()])

    def flat_loss(theta, x, y):
        parts = torch.split(theta, sizes)
        params = {n: t.view(s) for n, t, s in zip(names, parts, shapes, strict=True)}
        return F.cross_entropy(functional_call(model, params, (x,)), y)

    data = batches(5, 4, seed=3, classes=3)
    lr = 0.3
    lin = LinearizedGD(model, F.cross_entropy, lr=lr)
    theta = theta_bar.clone()
    for x, y in data:
        lin.step(x, y)
        g = torch.func.grad(flat_loss)(theta_bar, x, y)
        h = hessian(flat_loss)(theta_bar, x, y)
        theta = theta - lr * (g + h @ (theta - theta_bar))
        torch.testing.assert_close(lin.theta(), theta, rtol=1e-10, atol=1e-12)
    # far from the real (nonlinear) run, and the model itself was never moved
    real = masked_sgd(copy.deepcopy(model), None, data, lr, 0.0, F.cross_entropy)
    assert lin.gap(real) > 1e-6
    assert torch.equal(torch.cat([p.detach().reshape(-1) for p in model.parameters()]), theta_bar)


def test_first_step_equals_the_real_step_and_train_mode_bn() -> None:
    """At t = 1 the linearized and real steps coincide exactly (u = 0), BN in train mode."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 3)).double()
    x, y = batches(1, 4, seed=5, classes=3)[0]
    lin = LinearizedGD(model, F.cross_entropy, lr=0.2, bn_mode="train")
    real = copy.deepcopy(model)
    real.train()
    lin.step(x, y)
    masked_sgd(real, None, [(x, y)], 0.2, 0.0, F.cross_entropy)
    assert lin.gap(real) < 1e-13
    # the original model's BN running statistics are untouched
    assert torch.equal(model[1].running_mean, torch.zeros(6, dtype=torch.float64))


def test_invalid_arguments() -> None:
    model = nn.Linear(2, 1)
    with pytest.raises(ValueError, match="lr"):
        LinearizedGD(model, F.mse_loss, lr=0.0)
    with pytest.raises(ValueError, match="weight_decay"):
        LinearizedGD(model, F.mse_loss, lr=0.1, weight_decay=-1.0)
    with pytest.raises(RuntimeError, match="first step"):
        LinearizedGD(model, F.mse_loss, lr=0.1).dim  # noqa: B018


def _bn_net_and_batches():
    model = float64_resnet_with_random_bn(8, seed=0)
    gen = torch.Generator().manual_seed(1)
    data = [
        (torch.randn(32, 3, 8, 8, generator=gen, dtype=torch.float64), torch.randint(10, (32,)))
        for _ in range(3)
    ]
    return model, data


def test_eval_mode_bn_chunks_equal_the_whole_batch() -> None:
    """With eval-mode BN the loss is a mean over samples: chunked windows equal unchunked."""
    model, data = _bn_net_and_batches()
    whole = LinearizedGD(model, F.cross_entropy, lr=0.1, bn_mode="eval")
    chunked = LinearizedGD(model, F.cross_entropy, lr=0.1, bn_mode="eval", micro_batch=8)
    for x, y in data:
        whole.step(x, y)
        chunked.step(x, y)
        torch.testing.assert_close(chunked.theta(), whole.theta(), rtol=1e-12, atol=1e-14)
    assert float(torch.linalg.vector_norm(whole.u)) > 1e-3


def test_train_mode_bn_cannot_be_chunked_by_fixing_the_batch_statistics() -> None:
    """The check behind linearized.micro_batch (docs/benchmarks.md, "Chunked train-mode BN").

    With train-mode BN every sample's loss depends on every other sample through the batch mean
    and variance. Normalizing each chunk with its own statistics is another loss; normalizing it
    with the whole batch's statistics computed first gives the same forward values but drops
    the derivative through the statistics, so the gradient and the HVP are different. Both stay
    tens of percent away from the unchunked (exact) operator on this net.
    """
    model, data = _bn_net_and_batches()
    x, y = data[0]
    exact = HessianOperator(model, F.cross_entropy, x, y, space="dense", bn_mode="train",
                            dtype=torch.float64)  # fmt: skip
    own = HessianOperator(model, F.cross_entropy, x, y, space="dense", bn_mode="train",
                          micro_batch=8, dtype=torch.float64)  # fmt: skip
    stats = {}  # the whole batch's BN statistics, from one train-mode forward of a copy
    probe = copy.deepcopy(model).train()
    for name, m in probe.named_modules():
        if isinstance(m, nn.BatchNorm2d):
            m.register_forward_hook(
                lambda mod, inp, out, name=name: stats.__setitem__(
                    name, (inp[0].mean((0, 2, 3)), inp[0].var((0, 2, 3), unbiased=False))
                )
            )
    with torch.no_grad():
        probe(x)
    frozen_model = copy.deepcopy(model)
    with torch.no_grad():
        for name, m in frozen_model.named_modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(stats[name][0])
                m.running_var.copy_(stats[name][1])
    frozen = HessianOperator(frozen_model, F.cross_entropy, x, y, space="dense", bn_mode="eval",
                             micro_batch=8, dtype=torch.float64)  # fmt: skip
    assert frozen.loss() == pytest.approx(exact.loss(), rel=1e-12)  # same forward values
    v = torch.randn(exact.dim, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    g0, h0 = exact.gradient(), exact.matvec(v)

    def rel(a: torch.Tensor, b: torch.Tensor) -> float:
        return float(torch.linalg.vector_norm(a - b) / torch.linalg.vector_norm(b))

    for op in (own, frozen):
        assert rel(op.gradient(), g0) > 0.1
        assert rel(op.matvec(v), h0) > 0.1
