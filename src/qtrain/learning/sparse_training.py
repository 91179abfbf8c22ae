"""Sparse training in quantum windows (SPEC §2.4): masked SGD, download, re-upload, QRAM.

Three variants share one loop:

- ``continuous``: SGD from the pruned start for all steps, no downloads (the reference);
- ``sparse``: windows of ``window_steps`` steps; at each window end the weights are *downloaded*
  (a readout keeping the top ``keep_fraction`` of prunable weights by magnitude, optionally
  through a noisy tomographic ``readout``), re-uploaded, and the next window starts from that
  sparse vector;
- ``qram``: after each download, ``qram_dense_steps`` classical dense steps on all weights, then
  the dense vector is uploaded (through QRAM) and the next window starts from it.

What a window trains (SPEC §2.4): ``window_space="all"`` (the default, the paper's semantics)
evolves every weight, the GD map of the whole network started at a sparse point, so the download
costs accuracy; ``window_space="support"`` trains only the current support (masked SGD), which
makes a ``sparse`` download return the vector it trained (kept as an option, never the default).

BatchNorm running statistics are never stale (SPEC §2.4): a download marks the model stale and,
with ``refresh_batchnorm`` (the default), the statistics are recomputed on a fixed training subset
before anything is evaluated; the training step itself uses batch statistics, as SGD does.

Steps count every dense step (classical QRAM steps included). Each step draws ``batch_size``
training samples at random from a generator seeded by ``(seed, step)``, so the variants see the
same batches at the same step and a resumed run repeats an uninterrupted one exactly.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from qtrain.run.progress import Progress
from qtrain.run.resume import Checkpointer

from ..paper import KEEP_FRACTION
from . import batchnorm
from .data import ImageData, augment_batch
from .downloads import DOWNLOAD_COLUMNS, Readout, download, support_overlap, weight_density
from .pruning import PruningMasks
from .training import _autocast, check_finite, evaluate

__all__ = [
    "VARIANTS",
    "SparseTrainSettings",
    "StepPlan",
    "schedule",
    "sgd_step",
    "sparse_train",
    "step_batch",
    "step_batch_indices",
    "step_generator",
    "trains_all_weights",
]

log = logging.getLogger(__name__)

VARIANTS = ("continuous", "sparse", "qram")


@dataclass(frozen=True)
class SparseTrainSettings:
    """The ``sparse_train`` config section."""

    steps: int
    batch_size: int = 2048
    lr: float = 0.01
    momentum: float = 0.0
    weight_decay: float = 0.0
    window_steps: int = 100
    keep_fraction: float = KEEP_FRACTION
    qram_dense_steps: int = 10
    tomography_epsilon: float = 0.0
    train_accuracy_every: int = 1
    test_accuracy_every: int = 10
    window_space: str = "all"
    refresh_batchnorm: bool = True
    checkpoint_steps: tuple[int, ...] = ()
    resume_every: int = 50
    augment: bool = False
    crop_padding: int = 4
    precision: str = "float32"

    @classmethod
    def from_config(cls, section: Mapping[str, Any], **extra: Any) -> SparseTrainSettings:
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in {**section, **extra}.items() if k in names}
        if "checkpoint_steps" in values:
            values["checkpoint_steps"] = tuple(int(s) for s in values["checkpoint_steps"])
        return cls(**values)


@dataclass(frozen=True)
class StepPlan:
    """What happens at one step: its window, phase, and whether a download follows it."""

    step: int
    window: int
    step_in_window: int
    phase: str  # "quantum" (a window step) or "classical" (a QRAM dense step)
    dense: bool  # all weights train (else only the current support)
    download_after: bool = False
    upload_dense_after: bool = False


def schedule(variant: str, settings: SparseTrainSettings) -> Iterator[StepPlan]:
    """The step-by-step plan of a variant (steps are numbered from 1)."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    if settings.window_space not in ("support", "all"):
        raise ValueError(f"window_space must be 'support' or 'all', got {settings.window_space!r}")
    w, d = settings.window_steps, settings.qram_dense_steps
    all_weights = settings.window_space == "all"
    step, window = 0, 0
    while step < settings.steps:
        for i in range(1, w + 1):
            step += 1
            if step > settings.steps:
                return
            if variant == "continuous":
                yield StepPlan(step, (step - 1) // w, (step - 1) % w + 1, "quantum", all_weights)
                continue
            dense = all_weights or (variant == "qram" and window > 0)
            yield StepPlan(step, window, i, "quantum", dense, download_after=(i == w))
        if variant == "qram":
            for i in range(1, d + 1):
                step += 1
                if step > settings.steps:
                    return
                yield StepPlan(step, window, w + i, "classical", True, upload_dense_after=(i == d))
        window += 1


def trains_all_weights(variant: str, settings: SparseTrainSettings, step: int) -> bool:
    """Whether the steps that follow the checkpoint at ``step`` train all weights.

    This decides the Hessian space of that checkpoint's spectrum (SPEC §2.5: the coordinates the
    window evolves): with ``window_space="all"`` always; with ``"support"`` only in the QRAM
    variant's classical steps and the windows after its dense uploads. The last checkpoint uses
    the plan of its own step.
    """
    plans = list(schedule(variant, settings))
    if not plans:
        return settings.window_space == "all"
    after = [p for p in plans if p.step > step]
    plan = after[0] if after else plans[-1]
    return plan.dense


def step_generator(seed: int, step: int) -> torch.Generator:
    """The CPU generator of one training step: draws its batch, then its augmentation."""
    return torch.Generator().manual_seed(int(seed) * 1_000_003 + int(step))


def step_batch_indices(
    seed: int, step: int, n_train: int, batch: int, generator: torch.Generator | None = None
) -> torch.Tensor:
    """The training-sample indices of ``step`` (CPU): ``batch`` draws with replacement from
    :func:`step_generator` (or ``generator``, which is then advanced past the draw)."""
    gen = step_generator(seed, step) if generator is None else generator
    return torch.randint(int(n_train), (int(batch),), generator=gen)


def step_batch(
    data: ImageData, seed: int, step: int, batch: int, settings: SparseTrainSettings
) -> tuple[torch.Tensor, torch.Tensor]:
    """The training batch of ``step`` on the data's device: :func:`step_batch_indices` drawn from
    :func:`step_generator`, augmented (from the same generator) when ``settings.augment``."""
    gen = step_generator(seed, step)
    n_train = len(data.y_train)
    idx = step_batch_indices(seed, step, n_train, batch, generator=gen).to(data.x_train.device)
    xb, yb = data.x_train[idx], data.y_train[idx]
    if settings.augment:
        xb = augment_batch(xb, data.pad_value, settings.crop_padding, gen)
    return xb, yb


def sgd_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    xb: torch.Tensor,
    yb: torch.Tensor,
    mask: PruningMasks | None = None,
    precision: str = "float32",
    where: str | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One (masked) SGD step on the batch: cross-entropy in train mode (bfloat16 autocast on a
    GPU when ``precision`` says so), gradients outside ``mask`` zeroed and the mask re-applied
    after the step (``mask`` None: dense). With ``where``, a non-finite loss stops training
    naming it (:func:`~qtrain.learning.training.check_finite`). Returns (loss, logits)."""
    model.train()
    with _autocast(xb.device, precision):
        logits = model(xb).float()
    loss = F.cross_entropy(logits, yb)
    if where is not None:
        check_finite(loss.detach(), where)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if mask is not None:
        mask.mask_gradients(model)
    optimizer.step()
    if mask is not None:
        mask.apply(model)
    return loss, logits


@dataclass
class _State:
    step: int = 0
    records: list = field(default_factory=list)
    downloads: list = field(default_factory=list)


def sparse_train(
    model: nn.Module,
    masks: PruningMasks,
    data: ImageData,
    settings: SparseTrainSettings,
    variant: str,
    seed: int,
    accuracy_indices: np.ndarray,
    checkpointer: Checkpointer,
    device: torch.device | None = None,
    readout: Readout | None = None,
    on_step: Callable[[dict[str, Any]], None] | None = None,
    batchnorm_indices: np.ndarray | None = None,
):
    """Run one variant; returns ``(records, downloads)`` as pandas DataFrames.

    ``batchnorm_indices``: the fixed training samples the BatchNorm statistics are recomputed on
    after each download (``None``: the accuracy subset).

    Writes ``step_XXXXX.pt`` (model and current mask) at ``settings.checkpoint_steps`` (after
    any download of that step; step 0 is the pruned start) in ``checkpointer.folder`` and the
    resume checkpoint (``checkpointer.path``) every ``settings.resume_every`` steps, from which
    an interrupted run continues exactly.
    Each step checkpoint is also kept (hard-linked) under ``resume/``: Snakemake deletes a job's
    declared outputs before rerunning it, and a resumed run restores the ones written before the
    interruption from there (it starts over when they are gone).

    Resume state is used only when written by the same job (same config, same content of the
    inputs: :class:`qtrain.run.resume.Checkpointer`); otherwise, or when it is unreadable, it
    is discarded and training starts over. ``records.attrs["resumed_from_step"]``
    says where this call started (0: from scratch).
    """
    import pandas as pd

    device = device or torch.device("cpu")
    checkpoint_dir = checkpointer.folder
    model.to(device)
    data = data.to(device)
    current: PruningMasks | None = masks.to(device)
    current.apply(model)
    state = _State()
    plans = list(schedule(variant, settings))
    resume = checkpointer.path
    kept = checkpoint_dir / "resume"
    saved = checkpointer.load(map_location=device)
    if saved is not None:
        done = [s for s in settings.checkpoint_steps if s <= saved["step"]]
        if not _restore_step_checkpoints(checkpointer, kept, done):
            log.warning("step checkpoints before step %d are gone: starting over", saved["step"])
            saved = None
    if saved is not None:
        model.load_state_dict(saved["model"])
        current = (
            None
            if saved["masks"] is None
            else PruningMasks.from_state_dict(saved["masks"]).to(device)
        )
        state = _State(saved["step"], list(saved["records"]), list(saved["downloads"]))
        log.info("resuming %s from %s at step %d", variant, resume, state.step)
    optimizer = _optimizer(model, settings)
    if saved is not None and saved.get("optimizer") is not None:
        optimizer.load_state_dict(saved["optimizer"])

    acc_idx = torch.as_tensor(accuracy_indices, device=device)
    x_acc, y_acc = data.x_train[acc_idx], data.y_train[acc_idx]
    bn_idx = acc_idx if batchnorm_indices is None else torch.as_tensor(batchnorm_indices)
    x_bn = data.x_train[bn_idx.to(device)]
    stale_ok = not settings.refresh_batchnorm  # the stale comparison run evaluates as it is
    n_train = len(data.y_train)
    batch = min(settings.batch_size, n_train)
    checkpoint_steps = set(settings.checkpoint_steps)

    def save_resume() -> None:
        checkpointer.save(
            {
                "model": model.state_dict(),
                "masks": None if current is None else current.state_dict(),
                "optimizer": optimizer.state_dict(),
                "step": state.step,
                "records": state.records,
                "downloads": state.downloads,
            }
        )

    def save_step_checkpoint(step: int) -> None:
        checkpointer.save(
            {
                "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
                "masks": None if current is None else current.state_dict(),
                "step": step,
                "variant": variant,
            },
            checkpoint_dir / f"step_{step:05d}.pt",
        )
        _link_or_copy(checkpoint_dir / f"step_{step:05d}.pt", kept / f"step_{step:05d}.pt")

    if state.step == 0 and 0 in checkpoint_steps:
        save_step_checkpoint(0)

    resumed_from = state.step
    bar = Progress(total=len(plans), initial=state.step, desc=variant)
    for plan in plans[state.step :]:
        train_mask = None if plan.dense else current
        xb, yb = step_batch(data, seed, plan.step, batch, settings)
        loss, logits = sgd_step(
            model,
            optimizer,
            xb,
            yb,
            train_mask,
            settings.precision,
            where=f"{variant} step {plan.step}",
        )
        record: dict[str, Any] = {
            "step": plan.step,
            "variant": variant,
            "window": plan.window,
            "step_in_window": plan.step_in_window,
            "phase": plan.phase,
            "dense": plan.dense,
            "lr": settings.lr,
            "loss": float(loss.detach()),
            "batch_accuracy": float((logits.detach().argmax(1) == yb).float().mean()),
            "train_accuracy": float("nan"),
            "train_loss": float("nan"),
            "test_accuracy": float("nan"),
            "density": weight_density(model),
            "download": plan.download_after,
        }
        if plan.download_after and settings.refresh_batchnorm:
            # the accuracies before and after a download are compared on an equal footing
            batchnorm.refresh(model, x_bn)
        if plan.step % settings.train_accuracy_every == 0 or plan.download_after:
            record["train_loss"], record["train_accuracy"] = evaluate(
                model, x_acc, y_acc, allow_stale=stale_ok
            )
        if plan.step % settings.test_accuracy_every == 0:
            record["test_accuracy"] = evaluate(
                model, data.x_test, data.y_test, allow_stale=stale_ok
            )[1]
        if plan.download_after:
            before, loss_before = record["train_accuracy"], record["train_loss"]
            density_before = record["density"]
            rng = np.random.default_rng([int(seed), plan.step])
            new_masks, stats = download(model, settings.keep_fraction, readout, rng)
            stale_after = evaluate(model, x_acc, y_acc, allow_stale=True)[1]
            if settings.refresh_batchnorm:
                batchnorm.refresh(model, x_bn)
            loss_after, after = evaluate(model, x_acc, y_acc, allow_stale=stale_ok)
            state.downloads.append(
                {
                    "step": plan.step,
                    "variant": variant,
                    "window": plan.window,
                    "train_accuracy_before": before,
                    "train_accuracy_after": after,
                    "train_accuracy_after_stale_bn": stale_after,
                    "train_loss_before": loss_before,
                    "train_loss_after": loss_after,
                    "batchnorm_refreshed": settings.refresh_batchnorm,
                    "density_before": density_before,
                    "density_after": weight_density(model),
                    "support_overlap": support_overlap(current, new_masks),
                    **stats,
                }
            )
            current = new_masks
            optimizer = _optimizer(model, settings)  # a fresh upload starts a fresh optimizer
            log.info(
                "%s download after step %d: train accuracy %.4f -> %.4f",
                variant,
                plan.step,
                before,
                after,
            )
        if plan.upload_dense_after:
            optimizer = _optimizer(model, settings)
        state.records.append(record)
        state.step = plan.step
        if plan.step in checkpoint_steps:
            save_step_checkpoint(plan.step)
        if plan.step % settings.resume_every == 0 or plan.step == len(plans):
            save_resume()
        bar.update(1)
        if on_step is not None:
            on_step(record)
    bar.close()
    records = pd.DataFrame(state.records)
    records.attrs["resumed_from_step"] = resumed_from
    return records, pd.DataFrame(state.downloads, columns=DOWNLOAD_COLUMNS)


def _link_or_copy(source: Path, target: Path) -> None:
    """Make ``target`` a hard link of ``source`` (a copy where links fail), atomically."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        os.link(source, tmp)
    except OSError:
        shutil.copyfile(source, tmp)
    os.replace(tmp, target)


def _restore_step_checkpoints(checkpointer: Checkpointer, kept: Path, steps: list[int]) -> bool:
    """Put back the step checkpoints of ``steps`` missing from the checkpointer's folder
    (Snakemake removes a rerun job's outputs) from their kept copies; False if one cannot be
    restored (missing, unreadable, or written by another job: see
    :func:`qtrain.run.resume.load_resume_state`)."""
    checkpoint_dir = checkpointer.folder
    for step in steps:
        name = f"step_{step:05d}.pt"
        if (checkpoint_dir / name).exists():
            continue
        if checkpointer.load(path=kept / name) is None:
            return False
        _link_or_copy(kept / name, checkpoint_dir / name)
        log.info("restored %s from %s", name, kept)
    return True


def _optimizer(model: nn.Module, settings: SparseTrainSettings) -> torch.optim.Optimizer:
    return torch.optim.SGD(
        model.parameters(),
        lr=settings.lr,
        momentum=settings.momentum,
        weight_decay=settings.weight_decay,
    )
