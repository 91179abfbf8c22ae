from __future__ import annotations

import numpy as np
import pytest
import torch

from qtrain.learning.data import load_digits
from qtrain.learning.models import cifar_resnet
from qtrain.learning.training import (
    PretrainSettings,
    TrainingDivergedError,
    evaluate,
    lr_factor,
    pretrain,
)

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
        checkpoint_path=tmp_path / "ck.pt",
        config={"test": 1},
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
