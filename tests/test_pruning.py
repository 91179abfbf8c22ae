from __future__ import annotations

import pytest
import torch
from torch.nn.utils import prune

from qtrain.learning.models import cifar_resnet
from qtrain.learning.pruning import PruningMasks, global_magnitude_masks, prunable_weights


@pytest.fixture
def model():
    torch.manual_seed(0)
    return cifar_resnet(8, 1, num_classes=10, in_channels=1)


@pytest.mark.parametrize("keep", [0.1, 0.25, 0.5, 1.0])
def test_keeps_exact_count_of_largest(model, keep):
    masks = global_magnitude_masks(model, keep)
    weights = prunable_weights(model)
    flat = torch.cat([w.detach().abs().flatten() for w in weights.values()])
    total = flat.numel()
    assert masks.total == total
    assert masks.kept == total - round((1 - keep) * total)
    kept_values = torch.cat([w.detach().abs()[masks.masks[n]] for n, w in weights.items()])
    pruned_values = torch.cat([w.detach().abs()[~masks.masks[n]] for n, w in weights.items()])
    if len(pruned_values):
        assert kept_values.min() >= pruned_values.max()


def test_matches_torch_global_unstructured(model):
    """Oracle: torch.nn.utils.prune.global_unstructured with L1Unstructured."""
    masks = global_magnitude_masks(model, 0.1)
    reference = cifar_resnet(8, 1, 10, 1)
    reference.load_state_dict(model.state_dict())
    modules = dict(reference.named_modules())
    params = [(modules[name.rsplit(".", 1)[0]], "weight") for name in masks.masks]
    prune.global_unstructured(params, pruning_method=prune.L1Unstructured, amount=0.9)
    for name in masks.masks:
        torch_mask = modules[name.rsplit(".", 1)[0]].weight_mask.bool()
        assert torch.equal(torch_mask, masks.masks[name])


def test_head_bn_and_biases_are_never_pruned(model):
    masks = global_magnitude_masks(model, 0.1)
    assert "fc.weight" not in masks.masks
    assert all(name.endswith(".weight") and "bn" not in name for name in masks.masks)
    assert "conv1.weight" in masks.masks
    assert any("shortcut" in name for name in masks.masks)


def test_ties_are_broken_deterministically_by_position():
    torch.manual_seed(0)
    model = cifar_resnet(8, 1, 10, 1)
    with torch.no_grad():
        for w in prunable_weights(model).values():
            w.fill_(1.0)
    masks = global_magnitude_masks(model, 0.1)
    flat = torch.cat([m.flatten() for m in masks.masks.values()])
    assert flat[: masks.kept].all() and not flat[masks.kept :].any()
    again = global_magnitude_masks(model, 0.1)
    assert all(torch.equal(again.masks[k], v) for k, v in masks.masks.items())


def test_apply_zeroes_and_report(model):
    masks = global_magnitude_masks(model, 0.1)
    masks.apply(model)
    params = dict(model.named_parameters())
    for name, mask in masks.masks.items():
        assert torch.all(params[name][~mask] == 0)
    report = masks.report(model)
    total = report.iloc[-1]
    assert total["kept"] == masks.kept and total["total"] == masks.total
    assert total["pruned_nonzero"] == 0
    assert abs(total["density"] - 0.1) < 1e-4
    assert report["kept"].iloc[:-1].sum() == masks.kept
    never = report.attrs["never_pruned_parameters"]
    assert never == sum(p.numel() for n, p in params.items() if n not in masks.masks)


def test_mask_gradients(model):
    masks = global_magnitude_masks(model, 0.2)
    model(torch.randn(3, 1, 8, 8)).sum().backward()
    masks.mask_gradients(model)
    params = dict(model.named_parameters())
    for name, mask in masks.masks.items():
        assert torch.all(params[name].grad[~mask] == 0)


def test_save_load_roundtrip(model, tmp_path):
    masks = global_magnitude_masks(model, 0.1)
    masks.save(tmp_path / "masks.pt")
    loaded = PruningMasks.load(tmp_path / "masks.pt")
    assert loaded.keep_fraction == 0.1 and loaded.kept == masks.kept
    assert all(torch.equal(loaded.masks[k], v) for k, v in masks.masks.items())


@pytest.mark.parametrize("keep", [0.0, -0.1, 1.5])
def test_invalid_keep_fraction(model, keep):
    with pytest.raises(ValueError, match="keep_fraction"):
        global_magnitude_masks(model, keep)
