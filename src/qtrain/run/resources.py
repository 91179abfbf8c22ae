"""Memory of the network rules, planned from the config, and the fit check.

:func:`train_memory_mb`, :func:`hvp_memory_mb` and :func:`prune_memory_mb` are a small model,
``bytes = fixed(parameters) + per_sample · samples``, with one fitted constant per kind of pass
(:data:`ACTIVATION_COPIES`, measured from peak memory at two batch sizes; docs/benchmarks.md).
The GPU rules (:data:`GPU_RULES`) declare ``gpu_mem_mb`` from it (:func:`rule_gpu_mem_mb`) and
refuse to start on a device that is too small (:func:`check_job_fits`), naming the config key.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..learning.arithmetic import ResNetStats, data_shape, model_stats

__all__ = [
    "ACTIVATION_COPIES",
    "CUDA_CONTEXT_MB",
    "DATA_ON_DEVICE_RULES",
    "EVAL_ACTIVATION_COPIES",
    "EVAL_CHUNK",
    "GPU_RULES",
    "HOST_BYTES_PER_PARAMETER",
    "MB",
    "MEMORY_KEYS",
    "PRUNE_DEVICE_COPIES",
    "SAFETY",
    "GpuMemoryError",
    "check_job_fits",
    "check_rule_fits",
    "dataset_mb",
    "fit_message",
    "hvp_memory_mb",
    "prune_memory_mb",
    "rule_gpu_mem_mb",
    "rule_host_mem_mb",
    "rule_host_parts",
    "rule_memory_parts",
    "train_memory_mb",
    "train_size",
]

MB = 1e6


ACTIVATION_COPIES: dict[str, float] = {
    "train": 2.0,
    "hvp_eval": 4.0,
    "hvp_train": 4.2,
    "hvp_segmented": 2.8,
}
"""Bytes held per sample, in units of the float32 activation elements of one image
(:attr:`ResNetStats.activations` × 4 bytes), at the peak of: a training step (forward +
backward), an exact HVP by double backward with eval- or train-mode BN, and the segment-wise
train-mode-BN HVP (:mod:`qtrain.spectra.segmented`). Fitted on CPU peak memory at two batch
sizes (rule ``bench_memory``; docs/benchmarks.md, "Memory model"): the largest fit over the
measured models, rounded up. ``make bench-gpu`` measures the same on a GPU."""

SAFETY = 1.15
"""Head-room over the fitted model: allocator fragmentation, cuDNN workspaces, CUDA context."""
CUDA_CONTEXT_MB = 600.0


def train_memory_mb(
    stats: ResNetStats, samples: int, *, optimizer_buffers: int = 1, safety: float = SAFETY
) -> float:
    """Device memory (MB) of one training step over ``samples`` images at a time.

    Weights, gradients and ``optimizer_buffers`` float32 copies (SGD momentum: 1), plus the
    activations of one (micro-)batch, times ``safety``, plus the CUDA context.
    """
    fixed = stats.parameters * 4 * (2 + optimizer_buffers)
    per_sample = ACTIVATION_COPIES["train"] * stats.activations * 4
    return (fixed + per_sample * samples) * safety / MB + CUDA_CONTEXT_MB


def hvp_memory_mb(
    stats: ResNetStats,
    samples: int,
    *,
    bn_mode: str = "eval",
    kept_graphs: int = 1,
    vectors: int = 4,
    vector_bytes: int = 8,
    dtype_bytes: int = 4,
    safety: float = SAFETY,
    segmented: bool = False,
) -> float:
    """Device memory (MB) of exact HVPs over chunks of ``samples`` images (``segmented``: the
    segment-wise backend of :mod:`qtrain.spectra.segmented`).

    ``kept_graphs``: chunks whose double-backward graph is alive at once (1 when the graph is
    recomputed per call; every chunk with ``reuse_graph``). ``vectors``: Lanczos vectors of
    ``vector_bytes`` per coordinate (float64 by default) beside the operator's parameter copy,
    gradient and result.
    """
    if segmented:
        copies = ACTIVATION_COPIES["hvp_segmented"]
    else:
        copies = ACTIVATION_COPIES["hvp_train" if bn_mode == "train" else "hvp_eval"]
    per_sample = copies * stats.activations * dtype_bytes
    fixed = stats.parameters * (4 * dtype_bytes + vectors * vector_bytes)
    return (fixed + per_sample * samples * max(kept_graphs, 1)) * safety / MB + CUDA_CONTEXT_MB


def _chunk(micro_batch: int, batch: int) -> int:
    return batch if not micro_batch or micro_batch >= batch else int(micro_batch)


def _hvp_rule(
    cfg: Mapping[str, Any], stats: ResNetStats, micro: int, key: str
) -> tuple[float, str]:
    spectra = cfg["spectra"]
    batch = int(cfg["data"]["hessian_batch"])
    chunk = _chunk(micro, batch)
    kept = math.ceil(batch / chunk) if spectra.get("reuse_graph") else 1
    dtype_bytes = 8 if spectra.get("dtype") == "float64" else 4
    mb = hvp_memory_mb(
        stats, chunk, bn_mode=spectra.get("bn_mode", "eval"), kept_graphs=kept,
        dtype_bytes=dtype_bytes,
    )  # fmt: skip
    return mb, key


DATA_ON_DEVICE_RULES = ("pretrain", "pretrain_large", "sparse_train", "linearized_window")
"""GPU rules that move the whole dataset (train and test split, float32) onto the device."""


def train_size(data: Mapping[str, Any]) -> tuple[int, int]:
    """``(train, test)`` images of a ``data`` config section's dataset."""
    if data["dataset"] == "digits":
        test = math.ceil(1797 * float(data.get("test_fraction", 0.2)))  # sklearn's split
        return 1797 - test, test
    if data.get("synthetic"):
        return int(data["synthetic_train_size"]), int(data["synthetic_test_size"])
    return 50_000, 10_000  # CIFAR-100 (and the CIFAR-shaped random `synthetic` set)


def dataset_mb(data: Mapping[str, Any]) -> float:
    """MB of the dataset as the network rules hold it: normalized float32 images of both splits
    and int64 labels."""
    _, channels, size = data_shape(data)
    images = sum(train_size(data))
    return images * (channels * size * size * 4 + 8) / MB


def rule_memory_parts(rule: str, cfg: Mapping[str, Any]) -> dict[str, float]:
    """The parts of one GPU rule's device memory (MB) under ``cfg``: ``model`` (parameters,
    buffers and the activations of one chunk, times :data:`SAFETY`), ``dataset`` (the whole
    dataset, for :data:`DATA_ON_DEVICE_RULES`), ``context`` (the CUDA context), and ``key``,
    the config key that sets it."""
    data = cfg["data"]
    main = model_stats(cfg["model"], data)
    large = model_stats(cfg["large_model"], data)
    if rule == "pretrain":
        pre = cfg["pretrain"]
        chunk = _chunk(int(pre.get("micro_batch", 0)), int(pre["batch_size"]))
        mb, key = train_memory_mb(main, chunk), "pretrain.micro_batch"
    elif rule == "pretrain_large":
        pre = cfg["pretrain"]
        micro = int(cfg["large_model"].get("pretrain_micro_batch", 0))
        mb = train_memory_mb(large, _chunk(micro, int(pre["batch_size"])))
        key = "large_model.pretrain_micro_batch"
    elif rule == "sparse_train":
        batch = int(cfg["sparse_train"]["batch_size"])
        mb, key = train_memory_mb(main, batch, optimizer_buffers=0), "sparse_train.batch_size"
    elif rule == "spectrum":
        mb, key = _hvp_rule(cfg, main, int(cfg["spectra"]["micro_batch"]), "spectra.micro_batch")
    elif rule == "spectrum_large":
        micro = int(cfg["large_model"]["micro_batch"])
        mb, key = _hvp_rule(cfg, large, micro, "large_model.micro_batch")
    elif rule in ("prune", "prune_large"):
        stats = large if rule == "prune_large" else main
        mb, key = prune_memory_mb(stats, _prune_chunk(data)), MEMORY_KEYS[rule]
    elif rule == "linearized_window":
        lin = cfg["linearized"]
        batch = int(cfg["sparse_train"]["batch_size"])
        chunk = _chunk(int(lin.get("micro_batch", 0)), batch)
        dtype_bytes = 8 if lin.get("dtype") == "float64" else 4
        hvp = hvp_memory_mb(
            main, chunk, bn_mode=lin["bn_mode"], dtype_bytes=dtype_bytes,
            segmented=lin.get("backend") == "segmented",
        )  # fmt: skip
        # the real SGD step, the model copies and θ̄, u of the linearized map live beside it
        mb = hvp + main.parameters * 4 * 6 / MB
        key = MEMORY_KEYS["linearized_window"]
    else:
        raise KeyError(f"no GPU memory model for rule {rule!r}")
    return {
        "model": mb - CUDA_CONTEXT_MB,
        "dataset": dataset_mb(data) if rule in DATA_ON_DEVICE_RULES else 0.0,
        "context": CUDA_CONTEXT_MB,
        "key": key,
    }


EVAL_ACTIVATION_COPIES = 0.25
"""Bytes held per image by a forward pass without gradients (evaluation, BatchNorm refresh), in
units of the float32 activation elements of one image: measured 0.16 (ResNet-56-11) and 0.21
(ResNet-32-4) on the CPU from the peak resident set at 2 and 6 images (docs/benchmarks.md, "The
rehearsal at the paper's sizes"), rounded up."""

HOST_BYTES_PER_PARAMETER = {"selection": 26, "prune": 4}
"""Host bytes per parameter, counted from the code: ``selection``, the global top-k of |w| that
pruning and every download compute on the host (|w| as float32, its stable argsort's int64
indices and sort buffers, boolean masks); ``prune``'s host copy (the checkpoint it loaded)."""

PRUNE_DEVICE_COPIES = 2
"""float32 copies of the parameters ``prune`` holds on its device: the model and the copy
evaluated with batch statistics (with the host copy of :data:`HOST_BYTES_PER_PARAMETER`, the
12 bytes per parameter counted from the code)."""

EVAL_CHUNK = 1024
"""Images per forward pass of :func:`qtrain.learning.training.evaluate`."""


def _prune_chunk(data: Mapping[str, Any]) -> int:
    """Images per evaluation pass of ``prune``: the larger subset, at most :data:`EVAL_CHUNK`."""
    n_train = train_size(data)[0]
    subsets = [int(data[k]) or n_train for k in ("accuracy_subset", "batchnorm_subset")]
    return min(EVAL_CHUNK, max(min(s, n_train) for s in subsets))


def prune_memory_mb(stats: ResNetStats, chunk: int, safety: float = SAFETY) -> float:
    """Device memory (MB) of ``prune``: :data:`PRUNE_DEVICE_COPIES` parameter copies and the
    activations of one evaluation chunk of ``chunk`` images without gradients
    (:data:`EVAL_ACTIVATION_COPIES`), times ``safety``, plus the CUDA context."""
    fixed = stats.parameters * 4 * PRUNE_DEVICE_COPIES
    activations = EVAL_ACTIVATION_COPIES * stats.activations * 4 * chunk
    return (fixed + activations) * safety / MB + CUDA_CONTEXT_MB


def rule_host_parts(rule: str, cfg: Mapping[str, Any]) -> dict[str, float]:
    """Host memory (MB) of a network rule beyond the baseline of a job (imports and dataset) and
    beyond its device memory: ``model`` (copies that live on the host in a GPU run too, and the
    whole footprint of a CPU rule), with the config key that sets it. ``prune`` and
    ``prune_large`` load the checkpoint and select the top-k on the host (their evaluation
    chunk and the model are in :func:`rule_memory_parts`); ``sparse_train`` selects each
    download's top-k on the host; the other rules hold nothing on the host beyond the
    baseline (0)."""
    if rule == "prepare_data":
        return {"model": 0.0, "key": ""}
    data = cfg["data"]
    section = cfg["large_model"] if rule.endswith("_large") else cfg["model"]
    stats = model_stats(section, data)
    per_param = HOST_BYTES_PER_PARAMETER
    if rule in ("prune", "prune_large"):
        fixed = stats.parameters * (per_param["prune"] + per_param["selection"])
        return {"model": fixed * SAFETY / MB, "key": MEMORY_KEYS[rule]}
    if rule == "sparse_train":
        return {"model": stats.parameters * per_param["selection"] / MB, "key": ""}
    return {"model": 0.0, "key": ""}


def rule_gpu_mem_mb(rule: str, cfg: Mapping[str, Any]) -> tuple[int, str]:
    """``(MB of device memory, config key that sets it)`` for one GPU rule under ``cfg``: the
    parts of :func:`rule_memory_parts` added up."""
    parts = rule_memory_parts(rule, cfg)
    return math.ceil(parts["model"] + parts["dataset"] + parts["context"]), str(parts["key"])


def rule_host_mem_mb(rule: str, cfg: Mapping[str, Any]) -> int:
    """Host memory (MB) of one GPU rule: the dataset in memory plus model copies (at least what
    :func:`rule_host_parts` counts), with margin."""
    data_mb = 1000 if cfg["data"]["dataset"] != "digits" else 200
    stats = model_stats(cfg["large_model" if rule.endswith("_large") else "model"], cfg["data"])
    copies = max(stats.parameters * 4 * 8 / MB, rule_host_parts(rule, cfg)["model"])
    return math.ceil(2000 + data_mb + copies)


class GpuMemoryError(MemoryError):
    """A job's estimated device memory exceeds the device it was given."""


def fit_message(rule: str, estimate_mb: float, device_mb: float, key: str) -> str:
    """The sentence that says a job will not fit, and what to change."""
    return (
        f"rule {rule}: needs about {estimate_mb / 1000:.1f} GB of GPU memory (memory model of "
        f"qtrain.run.resources, from the config), but the GPU has {device_mb / 1000:.1f} GB. "
        f"Lower the config key {key} (a smaller chunk; see config/README.md for what it "
        "changes), or run on a larger GPU, or without a GPU (--resources gpu=0)."
    )


MEMORY_KEYS: dict[str, str] = {
    "pretrain": "pretrain.micro_batch",
    "pretrain_large": "large_model.pretrain_micro_batch",
    "sparse_train": "sparse_train.batch_size",
    "spectrum": "spectra.micro_batch",
    "spectrum_large": "large_model.micro_batch",
    "prune": "data.accuracy_subset and data.batchnorm_subset (an evaluation chunk: at most 1024)",
    "prune_large": (
        "data.accuracy_subset and data.batchnorm_subset (an evaluation chunk: at most 1024)"
    ),
    "linearized_window": (
        "linearized.backend (segmented: the same exact map in less memory) or "
        "linearized.micro_batch (with train-mode BN an approximation)"
    ),
}
"""The config key that sets each GPU rule's memory (what to lower when it does not fit)."""


def check_rule_fits(smk: Any, device: Any) -> None:
    """:func:`check_job_fits` for the Snakemake job ``smk`` (a rule script's ``snakemake``):
    its ``gpu_mem_mb`` resource against the CUDA device it will use."""
    estimate = smk.resources.get("gpu_mem_mb", None)
    key = MEMORY_KEYS.get(smk.rule, "its micro-batch or batch size")
    check_job_fits(smk.rule, estimate, key, device)


def check_job_fits(rule: str, estimate_mb: float | None, key: str, device: Any) -> None:
    """Raise :class:`GpuMemoryError` before a job starts when ``estimate_mb`` exceeds the total
    memory of CUDA ``device`` (nothing is checked on the CPU or without an estimate)."""
    if estimate_mb is None or getattr(device, "type", str(device)) != "cuda":
        return
    import torch

    total_mb = torch.cuda.get_device_properties(device).total_memory / MB
    if estimate_mb > total_mb:
        raise GpuMemoryError(fit_message(rule, estimate_mb, total_mb, key))


GPU_RULES = (
    "pretrain",
    "pretrain_large",
    "prune",
    "prune_large",
    "sparse_train",
    "spectrum",
    "spectrum_large",
    "linearized_window",
)
