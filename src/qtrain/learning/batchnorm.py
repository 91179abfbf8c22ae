"""BatchNorm running statistics that are never stale (SPEC §2.4).

Pruning and every download change the weights under the BatchNorm layers at once, so the running
statistics those layers carry describe a model that no longer exists. A model in that state is
*marked stale* (:func:`mark_stale`); :func:`refresh` recomputes the statistics on a fixed set of
training inputs with :func:`torch.optim.swa_utils.update_bn` and clears the mark; and
:func:`qtrain.learning.training.evaluate` refuses a stale model unless told otherwise, so an
eval-mode number is never taken from stale statistics by accident. Keeping the stale behaviour on
purpose (the ``batchnorm.recompute: false`` switch, to put it beside the fresh one) is explicit:
``evaluate(..., allow_stale=True)``.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.optim.swa_utils import update_bn

__all__ = ["StaleBatchNormError", "has_batchnorm", "is_stale", "mark_stale", "refresh"]

_STALE = "_qtrain_batchnorm_stale"


class StaleBatchNormError(RuntimeError):
    """An eval-mode evaluation was asked of a model whose BatchNorm statistics are stale."""


def has_batchnorm(model: nn.Module) -> bool:
    """Whether ``model`` has a BatchNorm layer that tracks running statistics."""
    return any(
        isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats
        for m in model.modules()
    )


def mark_stale(model: nn.Module) -> None:
    """Record that ``model``'s weights changed under its BatchNorm layers (pruning, download)."""
    if has_batchnorm(model):
        setattr(model, _STALE, True)


def is_stale(model: nn.Module) -> bool:
    """Whether ``model`` was marked stale and not refreshed since."""
    return bool(getattr(model, _STALE, False))


def refresh(model: nn.Module, inputs: torch.Tensor, batch_size: int = 512) -> None:
    """Recompute the BatchNorm running statistics of ``model`` on ``inputs`` (no augmentation).

    The statistics are reset and re-estimated as the cumulative average over equal-sized chunks
    of ``inputs`` (``torch.optim.swa_utils.update_bn``, momentum ``None``), in train mode, without
    gradients; the model's mode and momenta are restored. Deterministic for fixed inputs.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    if len(inputs) == 0:
        raise ValueError("refreshing BatchNorm statistics needs at least one input")
    chunks = math.ceil(len(inputs) / batch_size)
    size = math.ceil(len(inputs) / chunks)  # near-equal chunks: each is weighted equally
    device = next(model.parameters()).device
    loader = [inputs[i : i + size] for i in range(0, len(inputs), size)]
    update_bn(loader, model, device=device)
    if hasattr(model, _STALE):
        delattr(model, _STALE)
