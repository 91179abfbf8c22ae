"""The N = 1 Carleman (linearized) map of one training window beside the real run (claim C13).

From the window's first checkpoint θ̄, the linearized iteration
θ(t+1) = θ(t) − η[∇L_B(θ̄) + H_B(θ̄)(θ(t) − θ̄)]
(:class:`~qtrain.spectra.linearized.LinearizedGD`) and the real SGD step
(:func:`~qtrain.learning.sparse_training.sgd_step`) are advanced on the same batch B of every
step (the run's seeded draws, :func:`~qtrain.learning.sparse_training.step_batch`) at
η = lr_scale × sparse_train.lr; per step the gap ‖θ_lin − θ‖ and the loss and accuracy of both
on the fixed accuracy subset (BatchNorm statistics recomputed on copies first, never stale) are
recorded. At lr_scale 1 the replayed real run is checked against the run's saved checkpoints.
"""

from __future__ import annotations

import copy
import logging
import os
import re
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from qtrain.run.checkpoints import load_checkpoint
from qtrain.run.progress import Progress

from . import batchnorm
from .data import ImageData
from .hessian_spectra import TrainingPoint
from .sparse_training import SparseTrainSettings, schedule, sgd_step, step_batch
from .training import evaluate

__all__ = ["LinearizedSettings", "checkpoint_files", "linearized_window", "window_plans"]

log = logging.getLogger(__name__)


class LinearizedSettings:
    """The ``linearized`` config section (what one window needs of it)."""

    def __init__(self, section: Mapping[str, Any]) -> None:
        self.variant: str = section["variant"]
        self.bn_mode: str = section["bn_mode"]
        self.dtype: str = section["dtype"]
        self.micro_batch: int = int(section["micro_batch"])
        self.eval_every: int = int(section["eval_every"])
        self.backend: str = section.get("backend", "autograd")


def checkpoint_files(paths: Sequence[str | os.PathLike]) -> dict[int, str]:
    """``{step: path}`` of checkpoint files named ``…/step_<step>.pt``."""
    return {int(re.search(r"step_(\d+)\.pt$", str(p)).group(1)): str(p) for p in paths}


def window_plans(variant: str, settings: SparseTrainSettings, window: int) -> list:
    """The step plans of quantum window ``window`` of ``variant``; ``ValueError`` unless they are
    one window of quantum steps that all train the same space."""
    start = window * settings.window_steps
    plans = [
        p for p in schedule(variant, settings) if start < p.step <= start + settings.window_steps
    ]
    if not plans or any(p.phase != "quantum" or p.dense != plans[0].dense for p in plans):
        raise ValueError(f"window {window} of {variant} is not one quantum window: {plans[:3]}")
    return plans


def linearized_window(
    point: TrainingPoint,
    data: ImageData,
    subsets: Mapping[str, np.ndarray],
    settings: SparseTrainSettings,
    linearized: LinearizedSettings,
    *,
    window: int,
    lr_scale: float,
    seed: int,
    checkpoints: Mapping[int, str | os.PathLike] | Sequence[str | os.PathLike],
    device: torch.device,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Run the linearized map and the real steps of one window from ``point`` (the checkpoint at
    the window's start, after the download that opened it).

    ``data`` is on ``device``; ``subsets`` has the fixed ``accuracy_subset`` and
    ``batchnorm_subset``; ``checkpoints`` are the run's checkpoint files inside the window
    (``…/step_<step>.pt``, or a mapping step → file: the replay check). Returns the per-step
    table (columns ``variant``, ``window``, ``start_step``, ``lr_scale``, ``lr``, ``t``,
    ``step``, ``gap``, ``displacement``, losses and accuracies of both, ``relative_gap``, …)
    and the record for the provenance (space, dim, replay errors, wall seconds)."""
    from qtrain.spectra.linearized import LinearizedGD

    if settings.momentum != 0:
        raise ValueError("linearized windows need sparse_train.momentum = 0 (a GD map)")
    if not isinstance(checkpoints, Mapping):
        checkpoints = checkpoint_files(checkpoints)
    variant = linearized.variant
    start = window * settings.window_steps
    plans = window_plans(variant, settings, window)
    model = point.model
    model.to(device)
    masks = None if point.masks is None else point.masks.to(device)
    train_mask = None if plans[0].dense else masks

    acc_idx = torch.as_tensor(subsets["accuracy_subset"], device=device)
    x_acc, y_acc = data.x_train[acc_idx], data.y_train[acc_idx]
    x_bn = data.x_train[torch.as_tensor(subsets["batchnorm_subset"], device=device)]
    batch = min(settings.batch_size, len(data.y_train))

    lr = settings.lr * lr_scale
    lin = LinearizedGD(
        model,
        F.cross_entropy,
        lr,
        masks=None if train_mask is None else train_mask.masks,
        weight_decay=settings.weight_decay,
        bn_mode=linearized.bn_mode,
        micro_batch=linearized.micro_batch or None,
        backend=linearized.backend,
        dtype=getattr(torch, linearized.dtype),
        device=device,
    )
    lin_model = copy.deepcopy(model)  # holds θ_lin for evaluation
    optimizer = torch.optim.SGD(
        model.parameters(), lr=lr, momentum=0.0, weight_decay=settings.weight_decay
    )

    def evaluate_fresh(source: torch.nn.Module) -> tuple[float, float]:
        """Loss and accuracy of a copy of ``source`` with recomputed BatchNorm statistics."""
        fresh = copy.deepcopy(source)
        batchnorm.refresh(fresh, x_bn)
        return evaluate(fresh, x_acc, y_acc)

    loss0, acc0 = evaluate_fresh(model)
    rows: list[dict[str, Any]] = [
        {
            "t": 0,
            "step": start,
            "gap": 0.0,
            "displacement": 0.0,
            "loss_real": loss0,
            "loss_lin": loss0,
            "accuracy_real": acc0,
            "accuracy_lin": acc0,
        }
    ]
    replay: dict[int, float] = {}
    tic = time.perf_counter()
    for t, plan in enumerate(Progress(plans, desc=f"window {window}"), start=1):
        xb, yb = step_batch(data, seed, plan.step, batch, settings)
        stats = lin.step(xb, yb)
        loss, _ = sgd_step(model, optimizer, xb, yb, train_mask, settings.precision)
        row = {
            "t": t,
            "step": plan.step,
            "gap": lin.gap(model),
            "displacement": lin.displacement(model),
            "batch_loss_real": float(loss.detach()),
            **stats,
        }
        if t % linearized.eval_every == 0 or t == len(plans):
            lin.load_into(lin_model)
            row["loss_real"], row["accuracy_real"] = evaluate_fresh(model)
            row["loss_lin"], row["accuracy_lin"] = evaluate_fresh(lin_model)
        replayable = lr_scale == 1.0 and not plan.download_after
        if plan.step in checkpoints and plan.step != start and replayable:
            saved = load_checkpoint(checkpoints[plan.step], map_location=device)["model"]
            current = model.state_dict()
            replay[plan.step] = max(
                float((current[k].float() - v.to(device).float()).abs().max())
                for k, v in saved.items()
            )
            row["replay_error"] = replay[plan.step]
        rows.append(row)
        log.info(
            "window %d t=%d (step %d): gap %.4g, |theta - theta_bar| %.4g%s",
            window,
            t,
            plan.step,
            row["gap"],
            row["displacement"],
            f", accuracy real {row['accuracy_real']:.4f} lin {row['accuracy_lin']:.4f}"
            if "accuracy_real" in row
            else "",
        )
    seconds = time.perf_counter() - tic
    table = pd.DataFrame(rows)
    table.insert(0, "lr", lr)
    table.insert(0, "lr_scale", lr_scale)
    table.insert(0, "start_step", start)
    table.insert(0, "window", window)
    table.insert(0, "variant", variant)
    table["relative_gap"] = table["gap"] / table["displacement"].where(table["displacement"] > 0)
    record = {
        "space": lin.space,
        "dim": lin.dim,
        "replay_max_abs_error": replay,
        "wall_seconds": seconds,
    }
    if replay and max(replay.values()) > 1e-4:
        log.warning("the replayed run departs from the saved checkpoints: %s", replay)
    log.info("window %d: %d steps in %.1f s; replay check %s", window, len(plans), seconds, replay)
    return table, record
