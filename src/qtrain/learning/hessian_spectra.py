"""A network at one point of training, loaded from the workflow's files, and its Hessian spectrum.

A *point* is the pruned model's architecture with either a sparse-training checkpoint's state
(weights and the masks current at that step) or the pruned weights with the prune stage's masks
(:func:`load_training_point`). :func:`point_spectrum` is the work of the rules ``spectrum`` and
``spectrum_large``: Papyan's Lanczos density of the Hessian on the fixed Hessian batch, in the
space the following window evolves (SPEC §2.5), resumable run by run.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from qtrain.run.checkpoints import load_checkpoint
from qtrain.run.resume import resume_key

from . import batchnorm
from .data import ImageData
from .models import count_parameters, load_model
from .pruning import PruningMasks
from .sparse_training import SparseTrainSettings, trains_all_weights

__all__ = ["TrainingPoint", "hessian_space", "load_training_point", "point_spectrum"]

log = logging.getLogger(__name__)


@dataclass
class TrainingPoint:
    """The model at one point of training and where it came from."""

    model: nn.Module
    masks: PruningMasks | None  # the current support (None: dense)
    upstream: str  # config digest of the run that wrote it
    variant: str | None = None  # sparse-training variant (None: the pruned model)
    step: int | None = None  # sparse-training step (None: the pruned model)


def load_training_point(
    model_path: str | os.PathLike,
    checkpoint: str | os.PathLike | None = None,
    masks: str | os.PathLike | None = None,
) -> TrainingPoint:
    """The pruned model of ``model_path`` (its architecture, on the CPU) at a sparse-training
    ``checkpoint`` (weights and current masks), or, without one, with its own weights and the
    prune stage's ``masks`` file."""
    model = load_model(model_path)
    if checkpoint is None:
        return TrainingPoint(
            model=model,
            masks=None if masks is None else PruningMasks.load(masks),
            upstream=load_checkpoint(model_path)["config_digest"],
        )
    state = load_checkpoint(checkpoint)
    model.load_state_dict(state["model"])
    return TrainingPoint(
        model=model,
        masks=None if state["masks"] is None else PruningMasks.from_state_dict(state["masks"]),
        upstream=state["config_digest"],
        variant=state.get("variant"),
        step=None if state.get("step") is None else int(state["step"]),
    )


def hessian_space(point: TrainingPoint, space: str, sparse_train: Mapping[str, Any] | None) -> str:
    """The space of the point's Hessian: ``space`` (spectra.space), or ``dense`` where the window
    after a checkpoint evolves every coordinate (e.g. QRAM after a dense upload)."""
    if point.variant is None or point.step is None or sparse_train is None:
        return space
    settings = SparseTrainSettings.from_config(sparse_train)
    return "dense" if trains_all_weights(point.variant, settings, int(point.step)) else space


def point_spectrum(
    point: TrainingPoint,
    data: ImageData,
    subsets: Mapping[str, np.ndarray],
    spectra: Mapping[str, Any],
    *,
    sparse_train: Mapping[str, Any] | None,
    seed: int,
    micro_batch: int,
    state_dir: str | os.PathLike,
    label: str,
    device: torch.device,
    inputs: Iterable[str | os.PathLike] | Mapping[str, Any] = (),
):
    """Papyan's Lanczos density of the point's Hessian (the ``spectra`` config section) on the
    fixed ``hessian_batch`` of ``subsets``: BatchNorm as ``spectra.bn_mode`` (``eval``: running
    statistics recomputed on ``batchnorm_subset`` first), HVPs micro-batched by
    ``micro_batch`` (0: whole batch). Every finished Lanczos run is kept under ``state_dir`` and
    reused only under the same settings and the same content of the ``inputs`` files.

    Returns ``(density, record)``: the :class:`~qtrain.spectra.lanczos.SpectralDensity` (its
    ``meta`` completed) and the provenance record of the job."""
    from qtrain.spectra.hvp import HessianOperator
    from qtrain.spectra.lanczos import DensitySettings
    from qtrain.spectra.resumable import resumable_spectral_density

    model = point.model
    space = hessian_space(point, spectra["space"], sparse_train)
    masks = None if point.masks is None else point.masks.masks
    model.to(device)
    indices = subsets["hessian_batch"]
    x = data.x_train[torch.as_tensor(indices)]
    y = data.y_train[torch.as_tensor(indices)]
    if spectra["bn_mode"] == "eval":  # running statistics, recomputed so that they are never stale
        x_bn = data.x_train[torch.as_tensor(subsets["batchnorm_subset"])]
        batchnorm.refresh(model, x_bn.to(device))
    operator = HessianOperator(
        model,
        F.cross_entropy,
        x,
        y,
        space=space,
        masks=masks,
        bn_mode=spectra["bn_mode"],
        micro_batch=micro_batch or None,
        reuse_graph=spectra["reuse_graph"],
        dtype=getattr(torch, spectra["dtype"]),
        device=device,
    )
    stage_config = {
        "upstream": point.upstream,
        "label": label,
        "seed": seed,
        "hessian_batch": hashlib.sha256(np.ascontiguousarray(indices).tobytes()).hexdigest()[:16],
        "spectra": {
            k: v for k, v in spectra.items() if k not in ("cutoff", "conventions", "every")
        },
        "space": space,
        "micro_batch": micro_batch,
    }
    log.info(
        "%s: %d parameters, %s space of dimension %d, %d Hessian samples, device %s",
        label,
        count_parameters(model),
        space,
        operator.dim,
        len(indices),
        device,
    )
    tic = time.perf_counter()
    settings = DensitySettings(
        steps=spectra["lanczos_steps"],
        probes=spectra["probes"],
        seed=seed,
        bounds_steps=spectra["bounds_steps"],
        margin=spectra["margin"],
        kappa=spectra["kappa"],
        grid_points=spectra["grid_points"],
    )
    density = resumable_spectral_density(
        operator.matvec,
        operator.dim,
        settings,
        state_dir=state_dir,
        device=device,
        progress=True,
        operator_id=resume_key(stage_config, inputs),
    )
    seconds = time.perf_counter() - tic
    density.meta.update(
        label=label,
        space=space,
        bn_mode=spectra["bn_mode"],
        micro_batch=micro_batch,
        hessian_samples=len(indices),
        parameters=count_parameters(model),
        precision=operator.precision,
        wall_seconds=seconds,
    )
    hvps = spectra["bounds_steps"] + spectra["probes"] * min(spectra["lanczos_steps"], operator.dim)
    record = {
        "config": stage_config,
        "dim": operator.dim,
        "wall_seconds": seconds,
        "hvps": int(hvps),
        "resumed_runs": density.meta["resumed_runs"],
    }
    return density, record
