from __future__ import annotations

import pytest
import torch

from qtrain.learning.models import (
    BasicBlock,
    Bottleneck,
    blocks_per_stage,
    cifar_resnet,
    count_parameters,
    load_model,
    model_record,
)
from qtrain.run.checkpoints import save_checkpoint


def test_paper_model_sizes_exact():
    assert count_parameters(cifar_resnet(32, 4, device="meta")) == 7_451_044
    assert count_parameters(cifar_resnet(56, 11, device="meta")) == 103_703_700


def test_large_model_built_on_meta_device_allocates_nothing():
    model = cifar_resnet(56, 11, device="meta")
    assert all(p.is_meta for p in model.parameters())


def _count_by_hand(depth: int, widen: int, classes: int, in_ch: int) -> int:
    """Independent count from the architecture description of SPEC §2.1."""
    n = (depth - 2) // 6
    bottleneck = depth >= 54
    exp = 4 if bottleneck else 1
    total = in_ch * 16 * widen * 9 + 2 * 16 * widen  # stem conv + BN
    in_planes = 16 * widen
    for planes, stride in ((16 * widen, 1), (32 * widen, 2), (64 * widen, 2)):
        for i in range(n):
            s = stride if i == 0 else 1
            if bottleneck:
                total += in_planes * planes + 2 * planes
                total += planes * planes * 9 + 2 * planes
                total += planes * planes * exp + 2 * planes * exp
            else:
                total += in_planes * planes * 9 + 2 * planes + planes * planes * 9 + 2 * planes
            if s != 1 or in_planes != planes * exp:
                total += in_planes * planes * exp + 2 * planes * exp
            in_planes = planes * exp
    return total + in_planes * classes + classes


@pytest.mark.parametrize(
    ("depth", "widen", "classes", "in_ch"),
    [(8, 1, 10, 1), (14, 2, 10, 3), (20, 1, 100, 3), (56, 1, 10, 1), (62, 2, 7, 3)],
)
def test_counts_match_independent_formula(depth, widen, classes, in_ch):
    model = cifar_resnet(depth, widen, classes, in_ch, device="meta")
    assert count_parameters(model) == _count_by_hand(depth, widen, classes, in_ch)


@pytest.mark.parametrize(("depth", "block"), [(8, BasicBlock), (56, Bottleneck)])
def test_small_members_run_on_8x8_inputs(depth, block):
    torch.manual_seed(0)
    model = cifar_resnet(depth, 1, num_classes=10, in_channels=1)
    assert isinstance(model.layer1[0], block)
    out = model(torch.randn(4, 1, 8, 8))
    assert out.shape == (4, 10)
    assert torch.isfinite(out).all()
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_architecture_details():
    model = cifar_resnet(32, 4, device="meta")
    assert blocks_per_stage(32) == 5
    assert len(model.layer1) == len(model.layer2) == len(model.layer3) == 5
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert all(c.bias is None for c in convs)
    assert model.fc.in_features == 256
    assert model.layer2[0].conv1.stride == (2, 2)
    assert isinstance(model.layer1[0].shortcut, torch.nn.Identity)


def test_init_bn_and_he_normal():
    torch.manual_seed(0)
    model = cifar_resnet(8, 4, 10, 3)
    assert torch.all(model.bn1.weight == 1) and torch.all(model.bn1.bias == 0)
    w = model.layer3[0].conv2.weight  # fan_out = 256 * 9
    expected_std = (2.0 / (w.shape[0] * 9)) ** 0.5
    assert abs(float(w.detach().std()) - expected_std) / expected_std < 0.05


@pytest.mark.parametrize("depth", [0, 7, 9, 33, 55])
def test_invalid_depth_is_rejected(depth):
    with pytest.raises(ValueError, match="6k \\+ 2"):
        cifar_resnet(depth, 1)


def test_save_and_load_roundtrip(tmp_path):
    torch.manual_seed(1)
    model = cifar_resnet(8, 1, 10, 1)
    save_checkpoint(model_record(model, 1), tmp_path / "m.pt", {"a": 1})
    loaded = load_model(tmp_path / "m.pt", {"a": 1})
    x = torch.randn(2, 1, 8, 8)
    model.eval()
    loaded.eval()
    assert torch.equal(model(x), loaded(x))
