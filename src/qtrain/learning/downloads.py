"""The download at a window's end in sparse training (SPEC §2.4): the weights read out (through
an optional noisy readout), the top ``keep_fraction`` of prunable weights kept, BatchNorm marked
stale; and the columns of the downloads table :func:`.sparse_training.sparse_train` returns.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from . import batchnorm
from .pruning import PruningMasks, global_magnitude_masks, prunable_weights

__all__ = ["DOWNLOAD_COLUMNS", "Readout", "download", "support_overlap", "weight_density"]

Readout = Callable[[np.ndarray, np.random.Generator], np.ndarray]
"""A download channel: (flat parameter vector, generator) → its estimate (e.g. tomography)."""

# the columns of the downloads table, one row per download
DOWNLOAD_COLUMNS = [
    "step",
    "variant",
    "window",
    "train_accuracy_before",
    "train_accuracy_after",
    "train_accuracy_after_stale_bn",
    "train_loss_before",
    "train_loss_after",
    "batchnorm_refreshed",
    "density_before",
    "density_after",
    "support_overlap",
    "readout_relative_error",
]


def _flat_parameters(model: nn.Module) -> np.ndarray:
    return torch.cat([p.detach().flatten().double().cpu() for p in model.parameters()]).numpy()


def _load_flat(model: nn.Module, flat: np.ndarray) -> None:
    offset = 0
    with torch.no_grad():
        for p in model.parameters():
            n = p.numel()
            p.copy_(torch.from_numpy(flat[offset : offset + n]).view_as(p).to(p.dtype))
            offset += n


def download(
    model: nn.Module,
    keep_fraction: float,
    readout: Readout | None = None,
    rng: np.random.Generator | None = None,
) -> tuple[PruningMasks, dict[str, float]]:
    """Read the weights out: optional noisy ``readout``, then keep the top prunable weights.

    The readout acts on the whole parameter vector; sparsification keeps the largest
    ``keep_fraction`` of prunable weights (global, as in pruning) and zeroes the rest.
    Never-pruned parameters (biases, BN, head) are read out densely. The model's BatchNorm
    statistics are marked stale (:func:`qtrain.learning.batchnorm.mark_stale`). Returns the new
    masks and statistics of the readout.
    """
    stats: dict[str, float] = {}
    if readout is not None:
        exact = _flat_parameters(model)
        estimate = readout(exact, rng if rng is not None else np.random.default_rng(0))
        stats["readout_relative_error"] = float(
            np.linalg.norm(estimate - exact) / max(np.linalg.norm(exact), 1e-300)
        )
        _load_flat(model, estimate)
    else:
        stats["readout_relative_error"] = 0.0
    masks = global_magnitude_masks(model, keep_fraction)
    masks.apply(model)
    batchnorm.mark_stale(model)
    return masks, stats


def weight_density(model: nn.Module) -> float:
    """The share of the prunable weights that are non-zero."""
    weights = prunable_weights(model)
    nonzero = sum(int((w.detach() != 0).sum()) for w in weights.values())
    return nonzero / sum(w.numel() for w in weights.values())


def support_overlap(a: PruningMasks | None, b: PruningMasks) -> float:
    """Jaccard overlap of two supports (1 = unchanged); NaN when ``a`` is dense."""
    if a is None:
        return float("nan")
    inter = sum(int((a.masks[k].cpu() & b.masks[k].cpu()).sum()) for k in b.masks)
    union = sum(int((a.masks[k].cpu() | b.masks[k].cpu()).sum()) for k in b.masks)
    return inter / union if union else 1.0
