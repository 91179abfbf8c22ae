"""The flat coordinates of a model's trainable parameters, in the three spaces of SPEC §2.5.

Flat vectors follow ``model.named_parameters()`` order (trainable parameters only), each tensor
row-major. :class:`ParameterSpace` converts between parameter-shaped tensors, flat full-space
vectors and vectors of its space:

- ``restricted``: the kept weights of the masked tensors plus every parameter without a mask;
  pruned entries are dropped in flat order (``dim`` = the number of kept coordinates);
- ``masked``: all coordinates, pruned ones zeroed;
- ``dense``: all coordinates as they are.

:class:`qtrain.spectra.hvp.HessianOperator` is a linear map on such a space.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import torch
from torch import Tensor

__all__ = ["SPACES", "ParameterSpace", "Space"]

Space = Literal["restricted", "masked", "dense"]
SPACES: tuple[str, ...] = ("restricted", "masked", "dense")


class ParameterSpace:
    """Flat coordinates of parameters ``names`` of ``shapes`` in ``space``, with ``masks``
    (``{name: bool tensor of the parameter's shape}``, True = kept; ``None``: nothing pruned)
    on ``device`` in ``dtype``."""

    def __init__(
        self,
        names: Sequence[str],
        shapes: Sequence[torch.Size],
        space: str = "restricted",
        masks: Mapping[str, Tensor] | None = None,
        *,
        device: torch.device,
        dtype: torch.dtype,
    ) -> None:
        if space not in SPACES:
            raise ValueError(f"space must be one of {SPACES}, got {space!r}")
        self.space: str = space
        self.device = device
        self.dtype = dtype
        self.names: list[str] = list(names)
        self.shapes: list[torch.Size] = [torch.Size(s) for s in shapes]
        self.numels: list[int] = [s.numel() for s in self.shapes]
        self.numel_full: int = sum(self.numels)
        self._keep, self._keep_idx, self.n_pruned = self._build_masks(masks)
        self.masks: dict[str, Tensor] = (
            {}
            if masks is None
            else {n: m.detach().to(device=device, dtype=torch.bool) for n, m in masks.items()}
        )
        self.dim: int = (
            self.numel_full - self.n_pruned if space == "restricted" else self.numel_full
        )

    def _build_masks(self, masks: Mapping[str, Tensor] | None) -> tuple[Tensor, Tensor, int]:
        keep = torch.ones(self.numel_full, dtype=torch.bool, device=self.device)
        if masks:
            offsets = dict(zip(self.names, np.cumsum([0, *self.numels[:-1]]).tolist(), strict=True))
            unknown = sorted(set(masks) - set(self.names))
            if unknown:
                raise ValueError(
                    f"masks name parameters that are not trainable parameters of the model: "
                    f"{unknown}"
                )
            shapes = dict(zip(self.names, self.shapes, strict=True))
            for name, mask in masks.items():
                if not isinstance(mask, Tensor) or mask.dtype != torch.bool:
                    raise ValueError(f"mask for {name!r} must be a bool tensor")
                if mask.shape != shapes[name]:
                    raise ValueError(
                        f"mask for {name!r} has shape {tuple(mask.shape)}, parameter has "
                        f"{tuple(shapes[name])}"
                    )
                start = offsets[name]
                keep[start : start + shapes[name].numel()] = mask.to(self.device).reshape(-1)
        n_pruned = int((~keep).sum())
        return keep, keep.nonzero().squeeze(1), n_pruned

    def flatten(self, tensors: Mapping[str, Tensor] | Sequence[Tensor]) -> Tensor:
        """Parameter-shaped tensors (by name, or in order) → one flat full-space vector."""
        if isinstance(tensors, Mapping):
            missing = [n for n in self.names if n not in tensors]
            if missing:
                raise ValueError(f"missing tensors for parameters {missing}")
            tensors = [tensors[n] for n in self.names]
        if len(tensors) != len(self.names):
            raise ValueError(f"expected {len(self.names)} tensors, got {len(tensors)}")
        return torch.cat([t.reshape(-1).to(device=self.device, dtype=self.dtype) for t in tensors])

    def unflatten(self, flat: Tensor) -> dict[str, Tensor]:
        """A flat full-space vector → ``{name: parameter-shaped view}``."""
        if flat.shape != (self.numel_full,):
            raise ValueError(
                f"expected a flat vector of length {self.numel_full}, got {tuple(flat.shape)}"
            )
        parts = torch.split(flat, self.numels)
        return {n: t.view(s) for n, t, s in zip(self.names, parts, self.shapes, strict=True)}

    def to_restricted(self, x: Tensor | Mapping[str, Tensor]) -> Tensor:
        """Full-space flat vector (or tensors by name) → restricted flat vector (pruned dropped)."""
        full = self.flatten(x) if isinstance(x, Mapping) else x
        if full.shape != (self.numel_full,):
            raise ValueError(
                f"expected a flat vector of length {self.numel_full}, got {tuple(full.shape)}"
            )
        return full[self._keep_idx.to(full.device)]

    def from_restricted(self, r: Tensor) -> Tensor:
        """Restricted flat vector → full-space flat vector with zeros at pruned coordinates."""
        n_kept = int(self._keep_idx.numel())
        if r.shape != (n_kept,):
            raise ValueError(
                f"expected a restricted vector of length {n_kept}, got {tuple(r.shape)}"
            )
        full = r.new_zeros(self.numel_full)
        full[self._keep_idx.to(r.device)] = r
        return full

    def params_to_vector(self, tensors: Mapping[str, Tensor] | Sequence[Tensor]) -> Tensor:
        """Parameter-shaped tensors → a vector of this operator's space (length ``dim``)."""
        return self._to_space(self.flatten(tensors))

    def vector_to_params(self, v: Tensor) -> dict[str, Tensor]:
        """A vector of this operator's space → ``{name: parameter-shaped tensor}``."""
        return self.unflatten(self._from_space(v))

    def _check_dim(self, v: Tensor) -> None:
        if v.shape != (self.dim,):
            raise ValueError(
                f"expected a vector of length dim={self.dim} ({self.space} space), "
                f"got shape {tuple(v.shape)}"
            )

    def _to_space(self, full: Tensor) -> Tensor:
        if self.space == "restricted":
            return self.to_restricted(full)
        if self.space == "masked":
            return full * self._keep.to(full.device)
        return full

    def _from_space(self, v: Tensor) -> Tensor:
        self._check_dim(v)
        if self.space == "restricted":
            return self.from_restricted(v)
        if self.space == "masked":
            return v * self._keep.to(v.device)
        return v
