"""The network stages as jobs: read a job's inputs, build the objects, run the loop, return what
the job writes (open_lth's split of runner and loop: the loops in :mod:`.training` and
:mod:`.sparse_training` see only models, data, settings and a checkpointer).

Each function takes the job's stage config (the settings its results are bound to), the input
files by name and the device the job frame chose; the rule script writes what it returns.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

import pandas as pd
import torch

from qtrain.run.checkpoints import load_checkpoint
from qtrain.run.files import load_arrays
from qtrain.run.provenance import config_digest
from qtrain.run.resume import Checkpointer

from .data import load_dataset
from .downloads import Readout
from .models import cifar_resnet, count_parameters, load_model, model_record
from .pruning import PruningMasks, prune_with_fresh_batchnorm
from .sparse_training import SparseTrainSettings, sparse_train
from .training import PretrainSettings, pretrain, seed_everything

__all__ = ["pretrain_job", "prune_job", "sparse_train_job"]

log = logging.getLogger(__name__)


def pretrain_job(
    stage: Mapping[str, Any],
    checkpoint_dir: str | os.PathLike,
    inputs: Any,
    device: torch.device,
) -> tuple[dict, pd.DataFrame, Checkpointer, dict[str, Any]]:
    """Pretrain the ResNet of ``stage["model"]`` (SPEC §2.2). Returns the model record, the
    per-epoch metrics, the checkpointer (its resume file is removed once the outputs are
    written) and the facts for the provenance records."""
    data_cfg = stage["data"]
    data = load_dataset(data_cfg, seed=stage["data_seed"], prepared=inputs.get("dataset"))
    accuracy_indices = load_arrays(inputs.subsets, keys=["accuracy_subset"])["accuracy_subset"]
    seed_everything(stage["seed"])
    depth, widen = stage["model"]["depth"], stage["model"]["widen"]
    model = cifar_resnet(depth, widen, data.num_classes, data.in_channels)
    log.info("ResNet-%d-%d: %d parameters", depth, widen, count_parameters(model))
    settings = PretrainSettings.from_config(
        stage["pretrain"], augment=data_cfg["augment"], crop_padding=data_cfg["crop_padding"]
    )
    checkpointer = Checkpointer(f"{checkpoint_dir}/{config_digest(stage)}.pt", stage, inputs)
    metrics = pretrain(
        model,
        data,
        settings,
        seed=stage["seed"],
        accuracy_indices=accuracy_indices,
        checkpointer=checkpointer,
        device=device,
    )
    facts = {
        "parameters": count_parameters(model),
        "synthetic_data": data.synthetic,
        "resumed_from_epoch": metrics.attrs["resumed_from_epoch"],
    }
    return model_record(model, data.in_channels), metrics, checkpointer, facts


def prune_job(
    params: Any, inputs: Any, device: torch.device
) -> tuple[PruningMasks, dict, pd.DataFrame, pd.DataFrame, dict[str, Any], dict[str, Any]]:
    """Prune the pretrained model (SPEC §2.3) with fresh BatchNorm statistics (§2.4).

    ``params``: the rule's ``keep_fraction``, ``recompute_batchnorm``, ``data``, ``data_seed``.
    Returns the masks, the pruned model's record, the sparsity table, the accuracy of the
    pruned model under three BatchNorm statistics, the stage config and the provenance facts.
    """
    state = load_checkpoint(inputs.model)
    model = load_model(inputs.model).to(device)
    data = load_dataset(params.data, seed=params.data_seed, prepared=inputs.get("dataset"))
    subsets = load_arrays(inputs.subsets, keys=["batchnorm_subset", "accuracy_subset"])
    x_bn = data.x_train[torch.as_tensor(subsets["batchnorm_subset"])]
    acc = torch.as_tensor(subsets["accuracy_subset"])
    masks, batchnorm_table = prune_with_fresh_batchnorm(
        model,
        params.keep_fraction,
        x_bn,
        data.x_train[acc],
        data.y_train[acc],
        recompute=params.recompute_batchnorm,
    )
    report = masks.report(model)
    if int(report["pruned_nonzero"].iloc[-1]) != 0:
        raise RuntimeError("pruned weights are not exactly zero after applying the masks")
    stage = {
        "upstream": state["config_digest"],
        "prune": {"keep_fraction": params.keep_fraction},
        "recompute_batchnorm": params.recompute_batchnorm,
    }
    facts = {
        "kept": masks.kept,
        "prunable": masks.total,
        "density": masks.density,
        "never_pruned_parameters": report.attrs.get("never_pruned_parameters"),
        "threshold": masks.threshold,
    }
    log.info(
        "kept %d of %d prunable weights (density %.6f, |w| threshold %.4g)",
        masks.kept,
        masks.total,
        masks.density,
        masks.threshold,
    )
    log.info("accuracy of the pruned model by BatchNorm statistics:\n%s", batchnorm_table)
    record = model_record(model, state["arch"]["in_channels"])
    return masks, record, report, batchnorm_table, stage, facts


def sparse_train_job(
    params: Any,
    variant: str,
    inputs: Any,
    checkpoint_dir: str | os.PathLike,
    device: torch.device,
    readout: Readout | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, Checkpointer, dict[str, Any], dict[str, Any]]:
    """Sparse training of one variant in quantum windows (SPEC §2.4), from the pruned model.

    ``params``: the rule's ``sparse_train`` section, ``seed``, ``data_seed``, ``data``,
    ``recompute_batchnorm``, ``checkpoint_steps``; ``readout``: how a download reads the
    weights (None: exactly). Returns the step records, the downloads, the checkpointer (its
    resume state is removed once the outputs are written), the stage config and the facts for
    the provenance records.
    """
    section = params.sparse_train
    stage = {
        "upstream": load_checkpoint(inputs.model)["config_digest"],
        "seed": params.seed,
        "data_seed": params.data_seed,
        "variant": variant,
        "sparse_train": {k: v for k, v in section.items() if k != "variants"},
        "recompute_batchnorm": params.recompute_batchnorm,
        "data": params.data,
    }
    data = load_dataset(params.data, seed=params.data_seed, prepared=inputs.get("dataset"))
    subsets = load_arrays(inputs.subsets, keys=["accuracy_subset", "batchnorm_subset"])
    seed_everything(params.seed)
    model = load_model(inputs.model)
    masks = PruningMasks.load(inputs.masks)
    settings = SparseTrainSettings.from_config(
        section,
        checkpoint_steps=params.checkpoint_steps,
        crop_padding=params.data["crop_padding"],
        refresh_batchnorm=params.recompute_batchnorm,
    )
    log.info("variant %s on %s; settings %s", variant, device, settings)
    checkpointer = Checkpointer(f"{checkpoint_dir}/last.pt", stage, inputs)
    records, downloads = sparse_train(
        model,
        masks,
        data,
        settings,
        variant,
        seed=params.seed,
        accuracy_indices=subsets["accuracy_subset"],
        checkpointer=checkpointer,
        device=device,
        readout=readout,
        batchnorm_indices=subsets["batchnorm_subset"],
    )
    facts = {
        "synthetic_data": data.synthetic,
        "stage_config_digest": config_digest(stage),
        "resumed_from_step": records.attrs["resumed_from_step"],
    }
    return records, downloads, checkpointer, stage, facts
