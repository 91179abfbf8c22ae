"""The flat coordinate spaces of the Hessian operator (qtrain.spectra.coordinates), by hand."""

from __future__ import annotations

import pytest
import torch

from qtrain.spectra.coordinates import ParameterSpace

# two parameters: w (2 x 2) with its entry (0, 1) pruned, b (3,) never pruned
SHAPES = [torch.Size([2, 2]), torch.Size([3])]
MASK = {"w": torch.tensor([[True, False], [True, True]])}


def space(kind: str) -> ParameterSpace:
    return ParameterSpace(
        ["w", "b"], SHAPES, kind, MASK, device=torch.device("cpu"), dtype=torch.float64
    )


@pytest.mark.parametrize(("kind", "dim"), [("restricted", 6), ("masked", 7), ("dense", 7)])
def test_dimensions_by_hand(kind: str, dim: int) -> None:
    s = space(kind)
    assert (s.numel_full, s.n_pruned, s.dim) == (7, 1, dim)
    assert s.numels == [4, 3]


def test_conversions_drop_or_zero_the_pruned_coordinate() -> None:
    full = torch.arange(1.0, 8.0, dtype=torch.float64)  # w = [[1, 2], [3, 4]], b = [5, 6, 7]
    restricted, masked, dense = space("restricted"), space("masked"), space("dense")
    assert restricted.to_restricted(full).tolist() == [1, 3, 4, 5, 6, 7]
    assert restricted.from_restricted(restricted.to_restricted(full)).tolist() == [
        1, 0, 3, 4, 5, 6, 7,
    ]  # fmt: skip
    params = {"w": full[:4].view(2, 2), "b": full[4:]}
    assert masked.params_to_vector(params).tolist() == [1, 0, 3, 4, 5, 6, 7]
    assert dense.params_to_vector(params).tolist() == full.tolist()
    back = restricted.vector_to_params(restricted.params_to_vector(params))
    assert back["w"].tolist() == [[1, 0], [3, 4]] and back["b"].tolist() == [5, 6, 7]
    assert restricted.unflatten(full)["w"].shape == (2, 2)
    assert restricted.flatten([full[:4], full[4:]]).tolist() == full.tolist()


def test_errors_name_what_is_wrong() -> None:
    cpu, f64 = torch.device("cpu"), torch.float64
    with pytest.raises(ValueError, match="space must be one of"):
        ParameterSpace(["w", "b"], SHAPES, "full", device=cpu, dtype=f64)
    with pytest.raises(ValueError, match=r"\['x'\]"):
        ParameterSpace(["w", "b"], SHAPES, masks={"x": MASK["w"]}, device=cpu, dtype=f64)
    with pytest.raises(ValueError, match="has shape"):
        ParameterSpace(["w", "b"], SHAPES, masks={"b": MASK["w"]}, device=cpu, dtype=f64)
    with pytest.raises(ValueError, match="missing tensors"):
        space("dense").flatten({"w": torch.zeros(2, 2)})
    with pytest.raises(ValueError, match="restricted vector of length 6"):
        space("restricted").from_restricted(torch.zeros(7))
    with pytest.raises(ValueError, match="dim=6"):
        space("restricted").vector_to_params(torch.zeros(7))
