from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from qtrain.learning.data import load_digits
from qtrain.learning.models import cifar_resnet
from qtrain.learning.training import (
    PretrainSettings,
    TrainingDivergedError,
    accumulate_gradients,
    evaluate,
    lr_factor,
    pretrain,
)
from qtrain.run.resume import Checkpointer

SETTINGS = PretrainSettings(
    epochs=3, batch_size=64, lr=0.05, momentum=0.9, weight_decay=2e-4, crop_padding=1
)


@pytest.fixture(scope="module")
def digits():
    data = load_digits()
    # a quarter of the digits keeps the test fast
    data.x_train, data.y_train = data.x_train[:384], data.y_train[:384]
    return data


def _run(digits, tmp_path, settings=SETTINGS, **kwargs):
    torch.manual_seed(0)
    model = cifar_resnet(8, 1, 10, 1)
    metrics = pretrain(
        model,
        digits,
        settings,
        seed=0,
        accuracy_indices=np.arange(200),
        checkpointer=Checkpointer(tmp_path / "ck.pt", {"test": 1}),
        **kwargs,
    )
    return model, metrics


def test_pretrain_learns(digits, tmp_path):
    settings = PretrainSettings(**{**SETTINGS.__dict__, "epochs": 6})
    model, metrics = _run(digits, tmp_path, settings)
    assert list(metrics["epoch"]) == [1, 2, 3, 4, 5, 6]
    assert metrics["train_loss"].iloc[-1] < metrics["train_loss"].iloc[0]
    assert metrics["test_accuracy"].iloc[-1] > 0.5  # chance is 0.1
    _, acc = evaluate(model, digits.x_test, digits.y_test)
    assert acc == pytest.approx(metrics["test_accuracy"].iloc[-1])


def test_resume_after_interruption_gives_identical_results(digits, tmp_path):
    ref_model, ref = _run(digits, tmp_path / "ref")

    def interrupt(record):
        if record["epoch"] == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _run(digits, tmp_path / "resumed", on_epoch_end=interrupt)
    model, metrics = _run(digits, tmp_path / "resumed")
    assert metrics.equals(ref)
    for a, b in zip(model.state_dict().values(), ref_model.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_same_seed_same_numbers(digits, tmp_path):
    _, a = _run(digits, tmp_path / "a")
    _, b = _run(digits, tmp_path / "b")
    assert a.equals(b)


def test_nan_stops_with_the_step(digits, tmp_path):
    bad = load_digits()
    bad.x_train = bad.x_train[:256].clone()
    bad.y_train = bad.y_train[:256]
    bad.x_train[:] = float("nan")
    with pytest.raises(TrainingDivergedError, match="epoch 1, step 1"):
        _run(bad, tmp_path)


def test_lr_schedules():
    assert lr_factor("constant", 5, 10) == 1.0
    assert lr_factor("cosine", 0, 10) == pytest.approx(1.0)
    assert lr_factor("cosine", 5, 10) == pytest.approx(0.5)
    assert lr_factor("step", 4, 10) == 1.0
    assert lr_factor("step", 5, 10) == pytest.approx(0.1)
    assert lr_factor("step", 8, 10) == pytest.approx(0.01)
    with pytest.raises(ValueError, match="schedule"):
        lr_factor("linear", 0, 1)


def _no_bn(model: torch.nn.Module) -> torch.nn.Module:
    """The same ResNet with every BatchNorm replaced by the identity (no batch coupling)."""
    for module in list(model.modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, torch.nn.BatchNorm2d):
                setattr(module, child_name, torch.nn.Identity())
    return model


def _run_double(digits, tmp_path, micro_batch, bn=False):
    data = copy.copy(digits)
    data.x_train, data.x_test = digits.x_train.double(), digits.x_test.double()
    torch.manual_seed(0)
    model = cifar_resnet(8, 1, 10, 1).double()
    if not bn:
        model = _no_bn(model)
    settings = PretrainSettings(
        **{**SETTINGS.__dict__, "epochs": 2, "augment": False, "micro_batch": micro_batch}
    )
    metrics = pretrain(
        model,
        data,
        settings,
        seed=0,
        accuracy_indices=np.arange(200),
        checkpointer=Checkpointer(tmp_path / f"ck_{micro_batch}_{bn}.pt", {"test": 1}),
    )
    return model, metrics


def test_gradient_accumulation_equals_the_whole_batch_without_batchnorm(digits, tmp_path):
    """BN-free, float64: chunks of 16 (4 per batch of 64) and of 24 (uneven: 24 + 24 + 16)
    give the whole batch's training to rounding."""
    ref_model, ref = _run_double(digits, tmp_path, 0)
    for micro in (16, 24):
        model, metrics = _run_double(digits, tmp_path, micro)
        for a, b in zip(model.parameters(), ref_model.parameters(), strict=True):
            torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
        for column in ("test_loss", "subset_loss", "subset_accuracy"):
            np.testing.assert_allclose(metrics[column], ref[column], rtol=1e-10)
        # the epoch's mean training loss is summed in float32 by pretrain()
        np.testing.assert_allclose(metrics["train_loss"], ref["train_loss"], rtol=1e-6)


def test_gradient_accumulation_with_batchnorm_is_ghost_batchnorm(digits):
    """With train-mode BN each chunk uses its own statistics: the accumulated gradient equals
    the mean of per-chunk gradients, each chunk's BN running statistics updated in turn, and
    differs from the whole batch's."""
    torch.manual_seed(0)
    model = cifar_resnet(8, 1, 10, 1).double().train()
    x, y = digits.x_train[:48].double(), digits.y_train[:48]
    oracle = copy.deepcopy(model)
    whole = copy.deepcopy(model)
    loss = accumulate_gradients(model, x, y, 16, torch.device("cpu"))
    grads = [p.grad.clone() for p in model.parameters()]
    expected = [torch.zeros_like(p) for p in oracle.parameters()]
    losses = []
    for start in range(0, 48, 16):  # each chunk on its own, as a batch of 16
        xc, yc = x[start : start + 16], y[start : start + 16]
        out = torch.nn.functional.cross_entropy(oracle(xc), yc)
        losses.append(float(out.detach()))
        chunk_grads = torch.autograd.grad(out, list(oracle.parameters()))
        for acc, g in zip(expected, chunk_grads, strict=True):
            acc += g / 3
    for g, e in zip(grads, expected, strict=True):
        torch.testing.assert_close(g, e, rtol=1e-10, atol=1e-12)
    assert float(loss) == pytest.approx(np.mean(losses), rel=1e-12)
    for a, b in zip(model.buffers(), oracle.buffers(), strict=True):
        assert torch.equal(a, b)  # running statistics: one update per chunk, in order
    accumulate_gradients(whole, x, y, 48, torch.device("cpu"))
    pairs = zip(whole.parameters(), grads, strict=True)
    diff = max(float((p.grad - g).abs().max()) for p, g in pairs)
    assert diff > 1e-4  # BN batch statistics differ between a chunk and the batch


def test_accumulated_pretraining_resumes_to_identical_results(digits, tmp_path):
    settings = PretrainSettings(**{**SETTINGS.__dict__, "micro_batch": 24})
    ref_model, ref = _run(digits, tmp_path / "ref", settings)

    def interrupt(record):
        if record["epoch"] == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _run(digits, tmp_path / "resumed", settings, on_epoch_end=interrupt)
    model, metrics = _run(digits, tmp_path / "resumed", settings)
    assert metrics.equals(ref)
    for a, b in zip(model.state_dict().values(), ref_model.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    _, again = _run(digits, tmp_path / "again", settings)
    assert again.equals(ref)
