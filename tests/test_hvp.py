"""HessianOperator against exact float64 Hessians (torch.func.hessian) on a tiny conv+BN net."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from model_helpers import float64_resnet_with_random_bn
from torch import nn
from torch.func import functional_call

from qtrain.bench.hessian import hvp_vs_gradient
from qtrain.spectra.hvp import HessianOperator
from qtrain.spectra.lanczos import lanczos


class TinyNet(nn.Module):
    """Conv (no bias) + BN + SiLU + conv + pool + linear head: 143 parameters."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(2, 3, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(3)
        self.conv2 = nn.Conv2d(3, 2, 3, padding=1, bias=True)
        self.drop = nn.Dropout(0.5)  # must be off inside the operator
        self.fc = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.silu(self.bn1(self.conv1(x)))
        x = F.adaptive_avg_pool2d(torch.tanh(self.conv2(x)), 2).flatten(1)
        return self.fc(self.drop(x))


pytestmark = pytest.mark.usefixtures("one_thread")


def make_setup(seed: int = 0):
    torch.manual_seed(seed)
    model = TinyNet()
    # non-trivial running statistics and BN affine parameters
    model.bn1.running_mean.uniform_(-0.3, 0.3)
    model.bn1.running_var.uniform_(0.5, 1.5)
    with torch.no_grad():
        model.bn1.weight.uniform_(0.5, 1.5)
        model.bn1.bias.uniform_(-0.2, 0.2)
    x = torch.randn(6, 2, 5, 5)
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    masks = {
        "conv1.weight": torch.rand_like(model.conv1.weight) < 0.4,
        "conv2.weight": torch.rand_like(model.conv2.weight) < 0.4,
    }
    with torch.no_grad():  # the sparse point: pruned weights are zero
        for name, mask in masks.items():
            model.get_parameter(name).mul_(mask)
    model.train()  # the operator must not depend on (or change) the model's mode
    return model, x, y, masks


class BatchStatBN(nn.Module):
    """Train-mode BatchNorm2d written out in elementary ops (same parameter names).

    The oracle for train-mode BN: in torch 2.14, torch.func.hessian (and jacrev∘jacrev) of
    F.batch_norm(training=True) gives a wrong, asymmetric weight/input block, while autograd
    double backward agrees with finite differences and with this module (cf. pytorch issue
    #196699, a wrong nested forward-mode derivative of batch_norm in training mode).
    """

    def __init__(self, bn: nn.BatchNorm2d) -> None:
        super().__init__()
        self.weight, self.bias, self.eps = bn.weight, bn.bias, bn.eps

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        mu = z.mean((0, 2, 3), keepdim=True)
        var = z.var((0, 2, 3), unbiased=False, keepdim=True)
        scale = (self.weight / torch.sqrt(var.flatten() + self.eps)).view(1, -1, 1, 1)
        return (z - mu) * scale + self.bias.view(1, -1, 1, 1)


def exact_hessian(model: nn.Module, x, y, bn_mode: str = "eval") -> torch.Tensor:
    """Full float64 Hessian by torch.func.hessian (forward-over-reverse) on a deep copy."""
    m = copy.deepcopy(model).double().eval()
    if bn_mode == "train":  # batch statistics in elementary ops (see BatchStatBN)
        m.bn1 = BatchStatBN(m.bn1)
    names = [n for n, _ in m.named_parameters()]
    shapes = [p.shape for _, p in m.named_parameters()]
    sizes = [p.numel() for _, p in m.named_parameters()]
    buffers = dict(m.named_buffers())
    theta = torch.cat([p.detach().reshape(-1) for p in m.parameters()])

    def f(flat: torch.Tensor) -> torch.Tensor:
        parts = torch.split(flat, sizes)
        params = {n: t.view(s) for n, t, s in zip(names, parts, shapes, strict=True)}
        return F.cross_entropy(functional_call(m, (params, buffers), (x.double(),)), y)

    return torch.func.hessian(f)(theta)


def keep_vector(model: nn.Module, masks) -> torch.Tensor:
    return torch.cat(
        [
            masks.get(n, torch.ones_like(p, dtype=torch.bool)).reshape(-1)
            for n, p in model.named_parameters()
        ]
    )


def operator_and_exact(
    seed: int = 0, **options
) -> tuple[HessianOperator, torch.Tensor, torch.Tensor]:
    """A float64 operator on ``make_setup(seed)`` (its masks; ``options`` go to the operator),
    the exact Hessian of the whole net and the mask of the kept entries."""
    model, x, y, masks = make_setup(seed)
    H = exact_hessian(model, x, y)
    op = HessianOperator(model, F.cross_entropy, x, y, masks=masks, dtype=torch.float64, **options)
    return op, H, keep_vector(model, masks)


def op_matrix(op: HessianOperator) -> torch.Tensor:
    eye = torch.eye(op.dim, dtype=torch.float64)
    return torch.stack([op.matvec(eye[i]) for i in range(op.dim)], dim=1)


@pytest.mark.parametrize("space", ["restricted", "masked", "dense"])
@pytest.mark.parametrize(("reuse", "micro"), [(False, None), (True, 4)])
def test_matvec_matches_exact_hessian(space: str, reuse: bool, micro: int | None) -> None:
    op, H, keep = operator_and_exact(space=space, reuse_graph=reuse, micro_batch=micro)
    if space == "restricted":
        expected = H[keep][:, keep]
    elif space == "masked":
        expected = H * keep[:, None] * keep[None, :]
    else:
        expected = H
    assert op.dim == expected.shape[0]
    assert op.dim == (int(keep.sum()) if space == "restricted" else keep.numel())
    gen = torch.Generator().manual_seed(1)
    V = torch.randn(op.dim, 3, generator=gen, dtype=torch.float64)
    for k in range(3):
        torch.testing.assert_close(op.matvec(V[:, k]), expected @ V[:, k], rtol=1e-10, atol=1e-12)
    if space == "masked":
        assert torch.all(op.matvec(V[:, 0])[~keep] == 0)


def test_restricted_operator_is_the_principal_submatrix_and_symmetric() -> None:
    op, H, keep = operator_and_exact(seed=3)
    M = op_matrix(op)
    torch.testing.assert_close(M, H[keep][:, keep], rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(M, M.T, rtol=1e-10, atol=1e-12)
    # Lanczos on the operator finds the exact extreme eigenvalues
    evals = np.linalg.eigvalsh(M.numpy())
    nodes, _ = lanczos(op.matvec, op.dim, op.dim, seed=0, reorthogonalize=True)
    assert nodes.max() == pytest.approx(evals.max(), rel=1e-8)
    assert nodes.min() == pytest.approx(evals.min(), rel=1e-6, abs=1e-10)


def test_train_mode_bn_matches_batch_statistics_and_leaves_model_unchanged() -> None:
    model, x, y, _ = make_setup(seed=2)
    model.eval()
    flags = [m.training for m in model.modules()]
    state = {k: v.clone() for k, v in model.state_dict().items()}
    H = exact_hessian(model, x, y, bn_mode="train")
    H_eval = exact_hessian(model, x, y, bn_mode="eval")
    op = HessianOperator(
        model,
        F.cross_entropy,
        x,
        y,
        space="dense",
        bn_mode="train",
        dtype=torch.float64,
        reuse_graph=False,
    )
    v = torch.randn(op.dim, dtype=torch.float64)
    hv1 = op.matvec(v)
    hv2 = op.matvec(v)
    torch.testing.assert_close(hv1, H @ v, rtol=1e-9, atol=1e-12)
    assert not torch.allclose(H @ v, H_eval @ v, rtol=1e-3)  # the two modes really differ
    assert torch.equal(hv1, hv2)
    assert [m.training for m in model.modules()] == flags
    for k, v0 in model.state_dict().items():
        assert torch.equal(v0, state[k]), k
    assert all(p.grad is None for p in model.parameters())


@pytest.mark.parametrize("reuse", [False, True])
def test_operator_is_the_same_function_at_every_call(reuse: bool) -> None:
    model, x, y, masks = make_setup(seed=4)
    op = HessianOperator(
        model, F.cross_entropy, x, y, masks=masks, reuse_graph=reuse, dtype=torch.float64
    )
    v = torch.randn(op.dim, dtype=torch.float64)
    first = op.matvec(v)
    with torch.no_grad():  # changing the model after construction does not change the operator
        for p in model.parameters():
            p.add_(1.0)
        x.add_(1.0)
    model.train()
    for _ in range(3):
        assert torch.equal(op.matvec(v), first)
    with torch.no_grad():  # callable under no_grad too
        assert torch.equal(op(v), first)


def test_float32_numpy_and_precision() -> None:
    model, x, y, masks = make_setup(seed=5)
    op64 = HessianOperator(model, F.cross_entropy, x, y, masks=masks, dtype=torch.float64)
    op32 = HessianOperator(model, F.cross_entropy, x, y, masks=masks)
    assert op32.precision["dtype"] == "float32" and op32.precision["tf32"] is False
    v = np.random.default_rng(0).standard_normal(op32.dim)
    out = op32.matvec(v)
    assert isinstance(out, np.ndarray) and out.dtype == np.float64
    np.testing.assert_allclose(out, op64.matvec(v), rtol=1e-4, atol=1e-5)
    out32 = op32.matvec(torch.from_numpy(v).float())
    assert out32.dtype == torch.float32
    lin = op64.as_linear_operator()
    np.testing.assert_allclose(lin @ v, op64.matvec(v))


def test_vector_conversions_and_gradient() -> None:
    model, x, y, masks = make_setup(seed=6)
    op = HessianOperator(model, F.cross_entropy, x, y, masks=masks, dtype=torch.float64)
    keep = keep_vector(model, masks)
    full = torch.randn(op.numel_full, dtype=torch.float64)
    r = op.to_restricted(full)
    assert r.shape == (op.dim,)
    torch.testing.assert_close(r, full[keep])
    back = op.from_restricted(r)
    torch.testing.assert_close(back, full * keep)
    params = op.vector_to_params(r)
    assert list(params) == [n for n, _ in model.named_parameters()]
    assert torch.all(params["conv1.weight"][~masks["conv1.weight"]] == 0)
    torch.testing.assert_close(op.params_to_vector(params), r)
    torch.testing.assert_close(op.unflatten(full)["fc.bias"], full[-3:])
    # gradient and point in the restricted space, against plain autograd in float64
    m = copy.deepcopy(model).double().eval()
    loss = F.cross_entropy(m(x.double()), y)
    g = torch.autograd.grad(loss, list(m.parameters()))
    torch.testing.assert_close(op.gradient(), op.to_restricted(op.flatten(g)))
    torch.testing.assert_close(
        op.point(), op.to_restricted(op.flatten(list(m.parameters()))).detach()
    )
    assert op.loss() == pytest.approx(loss.item())


def test_invalid_arguments_are_reported() -> None:
    model, x, y, masks = make_setup()
    with pytest.raises(ValueError, match="space must be one of"):
        HessianOperator(model, F.cross_entropy, x, y, space="full")
    with pytest.raises(ValueError, match="nope"):
        HessianOperator(model, F.cross_entropy, x, y, masks={"nope": masks["conv1.weight"]})
    with pytest.raises(ValueError, match="shape"):
        HessianOperator(model, F.cross_entropy, x, y, masks={"conv2.weight": masks["conv1.weight"]})
    with pytest.raises(ValueError, match="bool"):
        HessianOperator(
            model, F.cross_entropy, x, y, masks={"conv1.weight": masks["conv1.weight"].float()}
        )
    op = HessianOperator(model, F.cross_entropy, x, y, masks=masks)
    with pytest.raises(ValueError, match="dim="):
        op.matvec(torch.zeros(op.dim + 1))


def test_bench_runs_and_reports_ratios() -> None:
    model, x, y, _ = make_setup()
    model.train()
    res = hvp_vs_gradient(model, x, y, repeats=1, warmup=0)
    for key in ("gradient_s", "hvp_reuse_s", "hvp_recompute_s", "baseline_s", "ratio_reuse"):
        assert res[key] > 0
    assert res["params"] == res["dim"] == 143
    assert model.training and all(p.grad is None for p in model.parameters())


@pytest.mark.parametrize(
    "backend",
    [
        "func",
        pytest.param("compile", marks=[pytest.mark.slow, pytest.mark.e2e]),
    ],  # compiles for minutes
)
def test_forward_over_reverse_backends_match_exact_hessian(backend: str) -> None:
    """jvp(grad) (eager or compiled) is the same Hessian as the float64 oracle, in chunks."""
    op, H, keep = operator_and_exact(seed=7, micro_batch=4, backend=backend)
    assert op.precision["backend"] == backend
    gen = torch.Generator().manual_seed(2)
    for _ in range(2):
        v = torch.randn(op.dim, generator=gen, dtype=torch.float64)
        torch.testing.assert_close(op.matvec(v), H[keep][:, keep] @ v, rtol=1e-10, atol=1e-12)
    g, hv = op.gradient_and_matvec(v)
    torch.testing.assert_close(g, op.gradient(), rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(hv, op.matvec(v), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(("bn_mode", "reuse"), [("eval", False), ("eval", True), ("train", False)])
def test_gradient_and_matvec_is_gradient_and_matvec(bn_mode: str, reuse: bool) -> None:
    model, x, y, masks = make_setup(seed=8)
    op = HessianOperator(
        model,
        F.cross_entropy,
        x,
        y,
        masks=masks,
        bn_mode=bn_mode,
        reuse_graph=reuse,
        micro_batch=None if bn_mode == "train" else 4,
        dtype=torch.float64,
    )
    v = torch.randn(op.dim, dtype=torch.float64)
    g, hv = op.gradient_and_matvec(v)
    torch.testing.assert_close(g, op.gradient(), rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(hv, op.matvec(v), rtol=1e-12, atol=1e-14)


def test_backend_and_autocast_options_are_checked_and_bf16_is_approximate() -> None:
    model, x, y, masks = make_setup(seed=9)
    with pytest.raises(ValueError, match="bn_mode='eval'"):
        HessianOperator(model, F.cross_entropy, x, y, bn_mode="train", backend="func")
    with pytest.raises(ValueError, match="backend must be one of"):
        HessianOperator(model, F.cross_entropy, x, y, backend="jax")
    with pytest.raises(ValueError, match="autocast"):
        HessianOperator(model, F.cross_entropy, x, y, autocast="float16")
    exact = HessianOperator(model, F.cross_entropy, x, y, masks=masks)
    bf16 = HessianOperator(model, F.cross_entropy, x, y, masks=masks, autocast="bfloat16")
    assert bf16.precision["autocast"] == "bfloat16"
    v = torch.randn(exact.dim)
    ref, approx = exact.matvec(v), bf16.matvec(v)
    assert approx.dtype == torch.float32
    rel = float((approx - ref).norm() / ref.norm())
    assert 0 < rel < 0.2  # bf16 has 8 mantissa bits: close, never exact


def _resnet_setup(depth: int, seed: int = 0):
    model = float64_resnet_with_random_bn(depth, seed)
    gen = torch.Generator().manual_seed(seed + 1)
    x = torch.randn(12, 3, 8, 8, generator=gen, dtype=torch.float64)
    y = torch.randint(10, (12,), generator=gen)
    return model, x, y


@pytest.mark.parametrize(("depth", "bn_mode"), [(8, "train"), (8, "eval"), (56, "train")])
def test_segmented_backend_is_the_exact_hessian(depth: int, bn_mode: str) -> None:
    """Segment-wise forward-over-reverse with elementary BN (BasicBlock and Bottleneck nets)
    equals the fused double backward over the whole batch: two independent computations (the
    latter checked against exact float64 Hessians above; finite differences are no oracle here,
    ReLU kinks make them jump)."""
    model, x, y = _resnet_setup(depth)
    kwargs = dict(space="dense", bn_mode=bn_mode, dtype=torch.float64)
    ref = HessianOperator(model, F.cross_entropy, x, y, **kwargs)
    seg = HessianOperator(model, F.cross_entropy, x, y, backend="segmented", **kwargs)
    v = torch.randn(ref.dim, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    g, hv = seg.gradient_and_matvec(v)
    g_ref, hv_ref = ref.gradient_and_matvec(v)
    # relative to the vectors' norms: float64 rounding through a 56-layer net, ~1e-13
    assert float((g - g_ref).norm() / g_ref.norm()) < 1e-10
    assert float((hv - hv_ref).norm() / hv_ref.norm()) < 1e-10


def test_segmented_backend_in_restricted_space_and_linearized_map() -> None:
    from qtrain.spectra.linearized import LinearizedGD

    model, x, y = _resnet_setup(8, seed=3)
    masks = {"layer1.0.conv1.weight": torch.rand_like(model.layer1[0].conv1.weight) < 0.3}
    with torch.no_grad():
        model.layer1[0].conv1.weight.mul_(masks["layer1.0.conv1.weight"])
    kwargs = dict(masks=masks, bn_mode="train", dtype=torch.float64)
    ref = HessianOperator(model, F.cross_entropy, x, y, **kwargs)
    seg = HessianOperator(model, F.cross_entropy, x, y, backend="segmented", **kwargs)
    v = torch.randn(ref.dim, dtype=torch.float64)
    torch.testing.assert_close(seg.matvec(v), ref.matvec(v), rtol=1e-9, atol=1e-12)
    lins = [
        LinearizedGD(model, F.cross_entropy, 0.1, masks=masks, backend=b, dtype=torch.float64)
        for b in ("autograd", "segmented")
    ]
    for _ in range(3):
        for lin in lins:
            lin.step(x, y)
    torch.testing.assert_close(lins[1].theta(), lins[0].theta(), rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="CIFAR ResNet"):
        HessianOperator(TinyNet(), F.cross_entropy, x[:, :2, :5, :5], y, backend="segmented")
