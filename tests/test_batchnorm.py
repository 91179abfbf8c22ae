"""BatchNorm statistics are never stale (SPEC §2.4): refresh, the stale guard, pruning."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from qtrain.learning import batchnorm
from qtrain.learning.data import load_digits
from qtrain.learning.models import cifar_resnet
from qtrain.learning.pruning import prune_with_fresh_batchnorm
from qtrain.learning.training import (
    PretrainSettings,
    StaleBatchNormError,
    evaluate,
    pretrain,
)
from qtrain.run.resume import Checkpointer


def test_refresh_gives_the_mean_and_variance_of_the_inputs():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 3, 1, bias=False), nn.BatchNorm2d(3))
    x = torch.randn(300, 1, 4, 4) * 2.0 + 1.0
    batchnorm.refresh(model, x, batch_size=300)  # one chunk: the exact statistics
    with torch.no_grad():
        act = model[0](x).transpose(0, 1).reshape(3, -1)
    bn = model[1]
    assert torch.allclose(bn.running_mean, act.mean(1), atol=1e-5)
    assert torch.allclose(bn.running_var, act.var(1, unbiased=True), rtol=1e-4)
    assert bn.momentum == 0.1 and model.training  # restored


def test_refresh_is_deterministic_and_independent_of_old_statistics():
    torch.manual_seed(1)
    model = cifar_resnet(8, 1, 10, 1)
    x = torch.randn(100, 1, 8, 8)
    batchnorm.refresh(model, x, batch_size=32)
    first = {k: v.clone() for k, v in model.state_dict().items()}
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.fill_(5.0)
    batchnorm.refresh(model, x, batch_size=32)
    for k, v in model.state_dict().items():
        assert torch.equal(v, first[k]), k


def test_a_stale_model_is_never_evaluated_by_accident():
    model = cifar_resnet(8, 1, 10, 1)
    x, y = torch.randn(16, 1, 8, 8), torch.randint(0, 10, (16,))
    batchnorm.mark_stale(model)
    with pytest.raises(StaleBatchNormError, match="stale"):
        evaluate(model, x, y)
    evaluate(model, x, y, allow_stale=True)  # the explicit comparison run
    evaluate(model, x, y, batch_statistics=True)  # batch statistics need no running ones
    batchnorm.refresh(model, x)
    assert not batchnorm.is_stale(model)
    evaluate(model, x, y)
    plain = nn.Linear(3, 2)
    batchnorm.mark_stale(plain)  # nothing to go stale
    assert not batchnorm.is_stale(plain)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A ResNet-8-2 trained on digits for a few epochs (seconds on a CPU)."""
    data = load_digits()
    torch.manual_seed(0)
    model = cifar_resnet(8, 2, 10, 1)
    settings = PretrainSettings(epochs=6, batch_size=64, lr=0.1, momentum=0.9, weight_decay=5e-4)
    pretrain(
        model,
        data,
        settings,
        seed=0,
        accuracy_indices=torch.arange(256).numpy(),
        checkpointer=Checkpointer(tmp_path_factory.mktemp("bn") / "ckpt.pt", {"test": "batchnorm"}),
    )
    return model, data


def test_fresh_statistics_after_pruning_match_batch_statistics(trained):
    """Right after pruning 90%, eval-mode accuracy with recomputed statistics is within a few
    points of the batch-statistics accuracy; the stale statistics are far off."""
    model, data = trained
    _, table = prune_with_fresh_batchnorm(
        model, 0.1, data.x_train, data.x_train, data.y_train, recompute=True
    )
    acc = dict(zip(table["statistics"], table["accuracy"], strict=True))
    assert abs(acc["fresh"] - acc["batch"]) <= 0.05
    assert acc["fresh"] > acc["stale"] + 0.1
    assert not batchnorm.is_stale(model)
    assert table.set_index("statistics").loc["fresh", "kept_in_model"]
