"""Global magnitude pruning (SPEC §2.3) with masks as saved objects.

All Conv2d and Linear weights except the final head compete in one global ranking by |w|;
exactly ``total − round((1 − keep_fraction)·total)`` of them survive (the count
``torch.nn.utils.prune.global_unstructured(amount=1 − keep_fraction)`` keeps), ties broken
deterministically by position (earlier layers, then lower flat index, first). Biases, BN
parameters and the head stay dense.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from .models import HEAD_NAME

__all__ = [
    "PruningMasks",
    "global_magnitude_masks",
    "prunable_weights",
    "prune_with_fresh_batchnorm",
]


def prunable_weights(
    model: nn.Module, exclude: Iterable[str] = (HEAD_NAME,)
) -> dict[str, nn.Parameter]:
    """The weights that take part in pruning: Conv2d/Linear weights outside ``exclude``."""
    excluded = set(exclude)
    weights = {}
    for module_name, module in model.named_modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)) and module_name not in excluded:
            weights[f"{module_name}.weight"] = module.weight
    return weights


@dataclass
class PruningMasks:
    """Boolean masks (True = kept) for the prunable weights, with their pruning settings."""

    masks: dict[str, torch.Tensor]
    keep_fraction: float
    threshold: float = float("nan")
    meta: dict = field(default_factory=dict)

    @property
    def kept(self) -> int:
        return int(sum(int(m.sum()) for m in self.masks.values()))

    @property
    def total(self) -> int:
        return int(sum(m.numel() for m in self.masks.values()))

    @property
    def density(self) -> float:
        """Fraction of prunable weights kept."""
        return self.kept / self.total if self.total else float("nan")

    def apply(self, model: nn.Module) -> None:
        """Zero the pruned weights of ``model`` in place."""
        params = dict(model.named_parameters())
        with torch.no_grad():
            for name, mask in self.masks.items():
                params[name].mul_(mask.to(device=params[name].device, dtype=params[name].dtype))

    def mask_gradients(self, model: nn.Module) -> None:
        """Zero the gradients of pruned weights in place (call before ``optimizer.step()``)."""
        params = dict(model.named_parameters())
        for name, mask in self.masks.items():
            grad = params[name].grad
            if grad is not None:
                grad.mul_(mask.to(device=grad.device, dtype=grad.dtype))

    def to(self, device: torch.device | str) -> PruningMasks:
        return PruningMasks(
            {k: v.to(device) for k, v in self.masks.items()},
            self.keep_fraction,
            self.threshold,
            dict(self.meta),
        )

    def report(self, model: nn.Module | None = None):
        """Per-layer sparsity table (pandas), with a final ``total`` row.

        With ``model``, it also counts the parameters that are never pruned and checks that the
        pruned weights of ``model`` are exactly zero.
        """
        import pandas as pd

        params = dict(model.named_parameters()) if model is not None else {}
        rows = []
        for name, mask in self.masks.items():
            row = {
                "parameter": name,
                "shape": "x".join(map(str, mask.shape)),
                "total": mask.numel(),
                "kept": int(mask.sum()),
                "density": float(mask.float().mean()),
            }
            if name in params:
                row["pruned_nonzero"] = int(
                    (params[name].detach()[~mask.to(params[name].device)] != 0).sum()
                )
            rows.append(row)
        frame = pd.DataFrame(rows)
        total = {
            "parameter": "total (prunable)",
            "shape": "",
            "total": self.total,
            "kept": self.kept,
            "density": self.density,
        }
        if params:
            total["pruned_nonzero"] = int(frame["pruned_nonzero"].sum())
        frame = pd.concat([frame, pd.DataFrame([total])], ignore_index=True)
        if params:
            dense = sum(p.numel() for n, p in params.items() if n not in self.masks)
            frame.attrs["never_pruned_parameters"] = dense
        return frame

    def state_dict(self) -> dict:
        return {
            "masks": {k: v.cpu() for k, v in self.masks.items()},
            "keep_fraction": self.keep_fraction,
            "threshold": self.threshold,
            "meta": self.meta,
        }

    def save(self, path: str | os.PathLike) -> None:
        """Save atomically, as plain data (:func:`qtrain.run.checkpoints.save_tensors`)."""
        from qtrain.run.checkpoints import save_tensors

        save_tensors(self.state_dict(), path)

    @classmethod
    def load(cls, path: str | os.PathLike | Path) -> PruningMasks:
        """Read masks saved by :meth:`save` (a damaged file raises
        :class:`qtrain.run.files.UnreadableFileError` naming it)."""
        from qtrain.run.checkpoints import load_checkpoint

        state = load_checkpoint(path)
        return cls(
            state["masks"], state["keep_fraction"], state["threshold"], state.get("meta", {})
        )

    @classmethod
    def from_state_dict(cls, state: Mapping) -> PruningMasks:
        return cls(
            dict(state["masks"]), state["keep_fraction"], state["threshold"], dict(state["meta"])
        )


def global_magnitude_masks(
    model: nn.Module, keep_fraction: float, exclude: Iterable[str] = (HEAD_NAME,)
) -> PruningMasks:
    """Masks keeping exactly the largest ``keep_fraction`` of all prunable weights by |w|."""
    if not 0.0 < keep_fraction <= 1.0:
        raise ValueError(f"keep_fraction must be in (0, 1], got {keep_fraction}")
    weights = prunable_weights(model, exclude)
    if not weights:
        raise ValueError("the model has no prunable Conv2d/Linear weights")
    flat = torch.cat([w.detach().abs().flatten().float().cpu() for w in weights.values()])
    total = flat.numel()
    keep = total - round((1.0 - keep_fraction) * total)
    order = torch.argsort(flat, descending=True, stable=True)
    keep_flat = torch.zeros(total, dtype=torch.bool)
    keep_flat[order[:keep]] = True
    masks, offset = {}, 0
    for name, weight in weights.items():
        size = weight.numel()
        masks[name] = keep_flat[offset : offset + size].view_as(weight).clone()
        offset += size
    threshold = float(flat[order[keep - 1]]) if keep > 0 else float("inf")
    return PruningMasks(masks, keep_fraction, threshold, {"kept": keep, "total": total})


def prune_with_fresh_batchnorm(
    model: nn.Module,
    keep_fraction: float,
    batchnorm_inputs: torch.Tensor,
    x_eval: torch.Tensor,
    y_eval: torch.Tensor,
    recompute: bool = True,
):
    """Prune ``model`` in place (global magnitude masks) and recompute its BatchNorm statistics.

    Returns the masks and a table of the pruned model's loss and accuracy on ``(x_eval, y_eval)``
    under three BatchNorm statistics: the ``stale`` running statistics of the dense model, the
    ``fresh`` ones recomputed on ``batchnorm_inputs`` (SPEC §2.4) and the ``batch`` statistics
    of each evaluation chunk. With ``recompute=False`` the model keeps the stale statistics (the
    comparison run); the table is the same.
    """
    import pandas as pd

    from . import batchnorm
    from .training import evaluate

    masks = global_magnitude_masks(model, keep_fraction)
    masks.apply(model)
    batchnorm.mark_stale(model)
    rows = []
    stale = evaluate(model, x_eval, y_eval, allow_stale=True)
    rows.append({"statistics": "stale", "loss": stale[0], "accuracy": stale[1]})
    fresh_model = model
    if not recompute:
        import copy

        fresh_model = copy.deepcopy(model)
    batchnorm.refresh(fresh_model, batchnorm_inputs)
    fresh = evaluate(fresh_model, x_eval, y_eval)
    rows.append({"statistics": "fresh", "loss": fresh[0], "accuracy": fresh[1]})
    batch = evaluate(model, x_eval, y_eval, batch_statistics=True)
    rows.append({"statistics": "batch", "loss": batch[0], "accuracy": batch[1]})
    table = pd.DataFrame(rows)
    table["kept_in_model"] = table["statistics"] == ("fresh" if recompute else "stale")
    return masks, table
