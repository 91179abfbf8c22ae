"""FLOPs of an SGD step counted by torch (qtrain.learning.flops), the classical comparator."""

from __future__ import annotations

import pandas as pd
import pytest

from qtrain.learning.flops import (
    achieved_throughput,
    classical_flops_table,
    count_step_flops,
    sgd_step_flops,
)
from qtrain.learning.models import cifar_resnet, count_parameters


def test_counted_flops_are_linear_in_batch_and_match_a_hand_count():
    one = count_step_flops(8, 1, 1, num_classes=10)
    four = count_step_flops(8, 1, 4, num_classes=10)
    assert four["total"] == 4 * one["total"]
    # stem: 3x3 conv 3 -> 16 channels on 32x32, 2 FLOPs per multiply-add
    assert one["conv_forward"]["conv1"] == 2 * 3 * 16 * 9 * 32 * 32
    conv = sum(one["conv_forward"].values())
    # backward: input and weight gradients (2x forward) except the stem (weight only)
    expected = 3 * conv - one["conv_forward"]["conv1"] + 3 * one["head_forward"]
    assert one["total"] == pytest.approx(expected, rel=1e-9)


def test_sgd_step_flops_dense_and_sparse():
    step = sgd_step_flops(8, 1, batch=64, keep_fraction=0.1, num_classes=10, count_batches=(1, 3))
    params = count_parameters(cifar_resnet(8, 1, 10, 3))
    assert step["parameters"] == params
    assert step["linear_in_batch"]
    assert step["flops_per_step_dense"] == pytest.approx(64 * step["flops_per_sample"] + 2 * params)
    ratio = step["flops_per_step_sparse"] / step["flops_per_step_dense"]
    assert 0.1 <= ratio < 0.11  # convolutions dominate; the head stays dense
    layers = {name: 1.0 for name in count_step_flops(8, 1, 1, 10)["conv_forward"]}
    full = sgd_step_flops(8, 1, batch=64, layer_density=layers, num_classes=10)
    assert full["flops_per_step_sparse"] == pytest.approx(
        full["flops_per_step_dense"] - 2 * params * 0.9
    )


def test_classical_table_and_achieved_throughput():
    table = classical_flops_table({"tiny": (8, 1)}, batch=32, sustained_tflops=1.0, steps=(10,))
    row = table.iloc[0]
    assert row["seconds_per_step_dense"] == pytest.approx(row["flops_per_step_dense"] / 1e12)
    assert row["seconds_10_steps_dense"] == pytest.approx(10 * row["seconds_per_step_dense"])
    params = count_parameters(cifar_resnet(8, 1, 10, 1))  # digits-shaped: 1 channel
    steps = pd.DataFrame(
        {
            "model": ["ResNet-8-1"] * 3,
            "parameters": [params] * 3,
            "kind": ["dense"] * 3,
            "batch": [16] * 3,
            "seconds": [0.5, 1.0, 2.0],
            "device": ["cpu"] * 3,
        }
    )
    out = achieved_throughput(steps, stated_tflops=2.0).iloc[0]
    flops = sgd_step_flops(8, 1, 16, num_classes=10, in_channels=1)["flops_per_step_dense"]
    assert out["achieved_tflops"] == pytest.approx(flops / 1.0 / 1e12)
    assert out["achieved_over_stated"] == pytest.approx(out["achieved_tflops"] / 2.0)


def test_training_flops_hand_count_and_named_models():
    import torch

    from qtrain.learning.flops import model_flops, training_flops

    net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    counts = training_flops(net, (4,))
    # forward 2·4·3 + 2·3·2 = 36; backward: weight gradients 24 + 12, the second layer's
    # input gradient 12 (the input needs none): 48; 84 per sample; 15 + 8 parameters
    assert counts["flops_per_sample"] == 84
    assert counts["parameters"] == 23
    # a project ResNet by name: the same count as the SGD-step counter's
    small = model_flops("ResNet-8-1", classes=10)
    assert small["flops_per_sample"] == count_step_flops(8, 1, 1, num_classes=10)["total"]
    assert small["parameters"] == count_parameters(cifar_resnet(8, 1, 10, 3))
    tv = model_flops("torchvision:resnet18", image_size=64, classes=10)
    assert tv["parameters"] == 11_181_642 and tv["image_size"] == 64
    with pytest.raises(ValueError, match="unknown model"):
        model_flops("not_a_model")


def test_the_paper_flop_counts_stated_once():
    from qtrain.paper import FLOPS_PER_SAMPLE, RESNET_SIZES

    step = sgd_step_flops(32, 4, batch=2048)
    assert step["flops_per_sample"] == FLOPS_PER_SAMPLE["resnet32_4"]
    assert step["parameters"] == RESNET_SIZES["resnet32_4"]
