"""Dense pretraining (SPEC §2.2), evaluation and the pieces later training stages share.

Training is resumable: a checkpoint is written at the end of every epoch (model, optimizer,
scheduler, metrics so far) and all randomness of an epoch (batch order, augmentation) comes
from a generator seeded by ``(seed, epoch)``, so a resumed run ends with exactly the same
numbers as an uninterrupted one.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from copy import deepcopy
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from qtrain.run.progress import Progress
from qtrain.run.resume import Checkpointer

from .batchnorm import StaleBatchNormError, is_stale
from .data import ImageData, augment_batch

__all__ = [
    "PretrainSettings",
    "StaleBatchNormError",
    "TrainingDivergedError",
    "accumulate_gradients",
    "check_finite",
    "evaluate",
    "lr_factor",
    "pretrain",
    "seed_everything",
]

log = logging.getLogger(__name__)


class TrainingDivergedError(FloatingPointError):
    """The loss became NaN or infinite."""


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's global generators."""
    import random

    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 - seeds third-party code using the legacy API
    torch.manual_seed(seed)


def check_finite(loss: torch.Tensor, where: str) -> None:
    """Raise :class:`TrainingDivergedError` naming ``where`` if ``loss`` is not finite."""
    if not torch.isfinite(loss).all():
        raise TrainingDivergedError(
            f"training diverged: loss is {loss.item()} at {where}; lower the learning rate "
            "or check the data"
        )


@torch.no_grad()
def evaluate(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    batch_size: int = 1024,
    *,
    batch_statistics: bool = False,
    allow_stale: bool = False,
) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``model`` (no augmentation).

    Eval mode (BatchNorm running statistics) by default; a model whose statistics were marked
    stale (:mod:`qtrain.learning.batchnorm`) raises :class:`StaleBatchNormError` unless
    ``allow_stale``. ``batch_statistics=True`` evaluates a private copy with BatchNorm in train
    mode instead (each chunk of ``batch_size`` normalized by its own statistics).
    """
    if batch_statistics:
        copy = deepcopy(model)
        copy.train()
        for module in copy.modules():
            if not isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.training = False  # dropout and friends stay off
        return _evaluate_as_is(copy, x, y, batch_size)
    if is_stale(model) and not allow_stale:
        raise StaleBatchNormError(
            "the model's BatchNorm running statistics are stale (its weights changed by pruning "
            "or a download); refresh them (qtrain.learning.batchnorm.refresh) before evaluating"
        )
    was_training = model.training
    model.eval()
    try:
        return _evaluate_as_is(model, x, y, batch_size)
    finally:
        model.train(was_training)


def _evaluate_as_is(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int
) -> tuple[float, float]:
    device = next(model.parameters()).device
    loss_sum, correct = 0.0, 0
    for start in range(0, len(y), batch_size):
        xb = x[start : start + batch_size].to(device, non_blocking=True)
        yb = y[start : start + batch_size].to(device, non_blocking=True)
        logits = model(xb).float()
        loss_sum += float(F.cross_entropy(logits, yb, reduction="sum"))
        correct += int((logits.argmax(1) == yb).sum())
    n = max(len(y), 1)
    return loss_sum / n, correct / n


def lr_factor(schedule: str, step: int, total_steps: int) -> float:
    """Multiplier of the base learning rate at ``step`` of ``total_steps``.

    ``cosine``: half-cosine decay to 0; ``step``: ×0.1 at 50% and again at 75%; ``constant``.
    """
    if schedule == "constant":
        return 1.0
    progress = step / max(total_steps, 1)
    if schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * progress))
    if schedule == "step":
        return 0.1 ** ((progress >= 0.5) + (progress >= 0.75))
    raise ValueError(f"pretrain.schedule must be cosine, step or constant, got {schedule!r}")


@dataclass(frozen=True)
class PretrainSettings:
    """Dense SGD settings (the ``pretrain`` config section)."""

    epochs: int
    batch_size: int
    lr: float
    momentum: float
    weight_decay: float
    schedule: str = "cosine"
    augment: bool = True
    crop_padding: int = 4
    precision: str = "float32"
    micro_batch: int = 0
    """Gradient accumulation: forward + backward in chunks of this many images, one SGD step
    per batch (0: the whole batch at once). Equal to the whole batch for BN-free models; with
    BatchNorm in train mode each chunk is normalized with its own batch statistics and the
    running statistics are updated once per chunk (see :func:`pretrain`)."""

    @classmethod
    def from_config(
        cls, section: Mapping[str, Any], augment: bool, crop_padding: int
    ) -> PretrainSettings:
        keys = (
            "epochs",
            "batch_size",
            "lr",
            "momentum",
            "weight_decay",
            "schedule",
            "precision",
            "micro_batch",
        )
        return cls(
            **{k: section[k] for k in keys if k in section},
            augment=augment,
            crop_padding=crop_padding,
        )


def _autocast(device: torch.device, precision: str):
    if precision == "bfloat16" and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return nullcontext()


def accumulate_gradients(
    model: nn.Module,
    xb: torch.Tensor,
    yb: torch.Tensor,
    chunk: int,
    device: torch.device,
    precision: str = "float32",
) -> torch.Tensor:
    """Add the gradient of the mean cross-entropy over ``(xb, yb)`` to ``.grad``, computed in
    chunks of ``chunk`` samples (each chunk's mean loss weighted by its share of the batch);
    returns the batch's mean loss (detached).

    Only the activations of one chunk are alive at a time. Without BatchNorm in train mode the
    result equals one pass over the whole batch up to float rounding; with it, each chunk is
    normalized with its own batch statistics and the running statistics get one update per
    chunk (so ``k`` chunks move them ``k`` times with the module's momentum).
    """
    n = len(yb)
    total: torch.Tensor | None = None
    for start in range(0, n, chunk):
        xc, yc = xb[start : start + chunk], yb[start : start + chunk]
        with _autocast(device, precision):
            logits = model(xc)
        if logits.dtype in (torch.bfloat16, torch.float16):
            logits = logits.float()  # the loss in float32 under autocast
        loss = F.cross_entropy(logits, yc) * (len(yc) / n)
        loss.backward()
        total = loss.detach() if total is None else total + loss.detach()
    assert total is not None
    return total


def pretrain(
    model: nn.Module,
    data: ImageData,
    settings: PretrainSettings,
    seed: int,
    accuracy_indices: np.ndarray,
    checkpointer: Checkpointer,
    device: torch.device | None = None,
    on_epoch_end: Callable[[dict[str, Any]], None] | None = None,
):
    """Dense SGD for ``settings.epochs`` epochs; returns the per-epoch metrics (pandas).

    ``on_epoch_end`` is called with each epoch's record after its checkpoint is written.

    Saves its state after every epoch through ``checkpointer`` and resumes from it when it
    holds a state of the same job (same config, same content of the inputs:
    :class:`qtrain.run.resume.Checkpointer`); any other state is discarded and training starts
    over. ``metrics.attrs["resumed_from_epoch"]`` says where this call started (0: from
    scratch).
    """
    import pandas as pd

    device = device or torch.device("cpu")
    model.to(device)
    data = data.to(device)
    n_train = len(data.y_train)
    batch = min(settings.batch_size, n_train)
    steps_per_epoch = n_train // batch
    chunk = batch if settings.micro_batch <= 0 else min(int(settings.micro_batch), batch)
    if chunk < batch:
        log.info(
            "gradient accumulation: %d images per step in chunks of %d (BatchNorm normalizes "
            "each chunk with its own statistics)",
            batch,
            chunk,
        )
    total_steps = steps_per_epoch * settings.epochs
    optimizer = torch.optim.SGD(
        model.parameters(),
        lr=settings.lr,
        momentum=settings.momentum,
        weight_decay=settings.weight_decay,
        nesterov=False,
    )
    records: list[dict[str, Any]] = []
    start_epoch = 0
    state = checkpointer.load(map_location=device)
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        records = list(state["records"])
        start_epoch = int(state["epoch"])
        log.info("resuming pretraining from %s at epoch %d", checkpointer.path, start_epoch)
    acc_idx = torch.as_tensor(accuracy_indices, device=device)
    x_acc, y_acc = data.x_train[acc_idx], data.y_train[acc_idx]
    pad_value = data.pad_value
    bar = Progress(total=total_steps, initial=start_epoch * steps_per_epoch, desc="pretrain")
    for epoch in range(start_epoch, settings.epochs):
        tic = time.perf_counter()
        gen = torch.Generator().manual_seed(int(seed) * 100_003 + epoch)
        order = torch.randperm(n_train, generator=gen)
        model.train()
        loss_sum = torch.zeros((), device=device)
        for i in range(steps_per_epoch):
            step = epoch * steps_per_epoch + i
            for group in optimizer.param_groups:
                group["lr"] = settings.lr * lr_factor(settings.schedule, step, total_steps)
            idx = order[i * batch : (i + 1) * batch].to(device)
            xb, yb = data.x_train[idx], data.y_train[idx]
            if settings.augment:
                xb = augment_batch(xb, pad_value, settings.crop_padding, gen)
            optimizer.zero_grad(set_to_none=True)
            loss = accumulate_gradients(model, xb, yb, chunk, device, settings.precision)
            check_finite(loss, f"epoch {epoch + 1}, step {step + 1}")
            optimizer.step()
            loss_sum += loss
            bar.update(1)
        train_loss = float(loss_sum) / max(steps_per_epoch, 1)
        check_finite(torch.tensor(train_loss), f"epoch {epoch + 1}")
        acc_loss, acc = evaluate(model, x_acc, y_acc)
        test_loss, test_acc = evaluate(model, data.x_test, data.y_test)
        records.append(
            {
                "epoch": epoch + 1,
                "step": (epoch + 1) * steps_per_epoch,
                "lr": optimizer.param_groups[0]["lr"],
                "train_loss": train_loss,
                "subset_loss": acc_loss,
                "subset_accuracy": acc,
                "test_loss": test_loss,
                "test_accuracy": test_acc,
            }
        )
        log.info(
            "epoch %d/%d: loss %.4f, subset accuracy %.4f, test accuracy %.4f (%.1f s)",
            epoch + 1,
            settings.epochs,
            train_loss,
            acc,
            test_acc,
            time.perf_counter() - tic,
        )
        checkpointer.save(
            {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "records": records,
                "epoch": epoch + 1,
            }
        )
        if on_epoch_end is not None:
            on_epoch_end(records[-1])
    bar.close()
    metrics = pd.DataFrame(records)
    metrics.attrs["resumed_from_epoch"] = start_epoch
    return metrics
