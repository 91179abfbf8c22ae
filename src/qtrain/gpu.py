"""GPUs, memory and time of the heavy rules, planned from the config (stdlib only at import).

The workflow's ``common.smk`` imports this module at startup, so it must stay cheap: no torch at
import time (torch is imported inside the few functions that query a CUDA device).

- Devices: :func:`visible_gpus` counts the CUDA devices a local run may use without importing
  torch (``QTRAIN_GPUS``, then ``CUDA_VISIBLE_DEVICES``, then ``nvidia-smi -L``, then
  ``/proc/driver/nvidia/gpus``); :func:`gpu_memory_mb` reads their memory (``nvidia-smi``).
- Architecture: :func:`resnet_stats` counts parameters, multiply-accumulates and activation
  elements of one image through a CIFAR ResNet of :mod:`qtrain.learning.models` in closed form
  (tests check it against the torch model).
- Memory: :func:`train_memory_mb` and :func:`hvp_memory_mb` are a small model,
  ``bytes = fixed(parameters) + per_sample · samples``, with ``per_sample = c · activations · 4``
  and one fitted constant ``c`` per kind of pass (:data:`ACTIVATION_COPIES`, measured on the CPU
  from peak resident memory at two batch sizes; docs/benchmarks.md has the fit). The GPU
  rules declare ``gpu_mem_mb`` from it (:func:`rule_gpu_mem_mb`) and their scripts refuse to
  start on a device that is too small (:func:`check_job_fits`), naming the config key to change.
- Time: :func:`stage_hours` multiplies per-sample costs (a committed cost table, measured or
  extrapolated from FLOP counts) by the config's sample counts, per stage.
- Measured memory: :func:`job_usage` (a job's resident high-water mark and, on a GPU, torch's
  peak device memory, kept in its provenance records), :func:`baseline_memory` and
  :func:`memory_rows` (the rehearsal's table: measured peak against the model, per job).
"""

from __future__ import annotations

import csv
import math
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import seed_count, spectrum_jobs

__all__ = [
    "ACTIVATION_COPIES",
    "ASSUMED_TFLOPS",
    "COSTS_CSV",
    "DATA_ON_DEVICE_RULES",
    "EVAL_ACTIVATION_COPIES",
    "GPU_RULES",
    "HOST_BYTES_PER_PARAMETER",
    "MEMORY_COLUMNS",
    "MEMORY_KEYS",
    "PRUNE_DEVICE_COPIES",
    "GpuMemoryError",
    "ResNetStats",
    "baseline_memory",
    "check_job_fits",
    "check_rule_fits",
    "data_shape",
    "dataset_mb",
    "default_device",
    "estimate_rows",
    "extrapolated_costs",
    "fit_message",
    "format_hours",
    "gpu_memory_mb",
    "hvp_memory_mb",
    "job_usage",
    "limit_local_gpus",
    "load_costs",
    "machine_description",
    "memory_rows",
    "memory_table",
    "model_stats",
    "prune_memory_mb",
    "resnet_stats",
    "rule_gpu_mem_mb",
    "rule_host_mem_mb",
    "rule_host_parts",
    "rule_memory_parts",
    "run_gpus",
    "stage_hours",
    "startup_report",
    "train_memory_mb",
    "train_size",
    "visible_gpus",
    "write_costs",
]

MB = 1e6
COSTS_CSV = Path(__file__).with_name("gpu_costs.csv")
"""Per-sample seconds of a training step, a gradient and an HVP per model and device (see
:func:`load_costs`): rows measured by ``make bench-gpu`` or extrapolated from FLOP counts."""


# ---------------------------------------------------------------------------------- devices
def _count_cuda_visible(value: str) -> int:
    value = value.strip()
    if value in ("", "-1", "none", "NoDevFiles"):
        return 0
    return len([item for item in value.split(",") if item.strip()])


def visible_gpus(env: Mapping[str, str] | None = None) -> int:
    """Number of CUDA devices a local run may use, found without importing torch.

    In order: ``QTRAIN_GPUS`` (an integer: the override for tests and odd sites);
    ``CUDA_VISIBLE_DEVICES`` (its entries, capped at the devices present when that is known);
    the lines of ``nvidia-smi -L``; the entries of ``/proc/driver/nvidia/gpus``; else 0.
    """
    env = os.environ if env is None else env
    override = env.get("QTRAIN_GPUS", "").strip()
    if override:
        if not override.isdigit():
            raise ValueError(f"QTRAIN_GPUS must be a non-negative integer, got {override!r}")
        return int(override)
    present = _devices_present()
    if "CUDA_VISIBLE_DEVICES" in env:
        listed = _count_cuda_visible(env["CUDA_VISIBLE_DEVICES"])
        return listed if present is None else min(listed, present)
    return 0 if present is None else present


def _devices_present() -> int | None:
    """CUDA devices on this machine (``None``: no driver, or it cannot be asked)."""
    smi = shutil.which("nvidia-smi")
    if smi:
        try:
            out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.SubprocessError):
            out = None
        if out is not None and out.returncode == 0:
            return len([line for line in out.stdout.splitlines() if line.startswith("GPU ")])
    proc = Path("/proc/driver/nvidia/gpus")
    if proc.is_dir():
        return len(list(proc.iterdir()))
    return None


def limit_local_gpus(workflow: Any, env: Mapping[str, str] | None = None) -> int | None:
    """Set the global ``gpu`` resource of a local run to :func:`visible_gpus` (from a Snakefile).

    Only in the main process of a local run (no ``--jobs`` nodes: SLURM and other cluster
    executors give each job its own GPU) and only when the command line did not set
    ``--resources gpu=…``. Each GPU rule asks for ``gpu=1``, so no two GPU jobs share a card;
    with 0 devices the jobs run on the CPU (their ``resources.gpu`` is scaled to 0). Returns
    the limit set, or ``None`` when nothing was changed.
    """
    if not workflow.is_main_process or workflow.global_resources["_nodes"].value is not None:
        return None
    if "gpu" in workflow.global_resources:
        return None
    count = visible_gpus(env)
    workflow.register_resource("gpu", count)
    return count


def gpu_memory_mb(env: Mapping[str, str] | None = None) -> int | None:
    """Memory of the smallest visible GPU in MB (10⁶ bytes); ``None`` when unknown.

    ``QTRAIN_GPU_MEM_MB`` overrides (tests, or a site that knows better); otherwise
    ``nvidia-smi --query-gpu=memory.total`` (MiB, converted).
    """
    env = os.environ if env is None else env
    override = env.get("QTRAIN_GPU_MEM_MB", "").strip()
    if override:
        return int(float(override))
    smi = shutil.which("nvidia-smi")
    if not smi:
        return None
    try:
        out = subprocess.run(
            [smi, "--query-gpu=memory.total", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=20,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    values = [float(v) for v in re.findall(r"[\d.]+", out.stdout)] if out.returncode == 0 else []
    return int(min(values) * 1.048576) if values else None


def machine_description(device: Any = None) -> str:
    """The machine a measurement ran on, in words: the GPU's name and memory, or the CPU's
    model, the cores this process may use and the host memory."""
    if str(device).startswith("cuda"):
        import torch

        props = torch.cuda.get_device_properties(device)
        return f"{props.name}, {props.total_memory / 1e9:.0f} GB"
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        memory = f", {pages * size / 2**30:.0f} GiB"
    except (ValueError, OSError, AttributeError):
        memory = ""
    return f"{model}, {cores} cores{memory}"


# ----------------------------------------------------------------------------- architecture
@dataclass(frozen=True)
class ResNetStats:
    """Per-image sizes of one CIFAR ResNet (closed form, :func:`resnet_stats`)."""

    depth: int
    widen: int
    parameters: int
    macs: int
    """Multiply-accumulates of one forward pass of one image (convolutions and the head)."""
    activations: int
    """Elements of all convolution outputs of one image (each feeds a BN, most a ReLU)."""

    @property
    def name(self) -> str:
        return f"ResNet-{self.depth}-{self.widen}"

    @property
    def forward_flops(self) -> float:
        """FLOPs of one forward pass of one image (2 per multiply-accumulate)."""
        return 2.0 * self.macs


def _conv_out(size: int, stride: int, kernel: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


def resnet_stats(
    depth: int, widen: int, num_classes: int = 100, in_channels: int = 3, image_size: int = 32
) -> ResNetStats:
    """Parameters, MACs and activation elements per image of ``cifar_resnet(depth, widen)``."""
    if depth < 8 or (depth - 2) % 6:
        raise ValueError(f"ResNet depth must be 6k + 2 with k >= 1, got {depth}")
    n_blocks = (depth - 2) // 6
    bottleneck = depth >= 54
    expansion = 4 if bottleneck else 1
    params = macs = acts = 0

    def conv(c_in: int, c_out: int, kernel: int, stride: int, size: int) -> int:
        nonlocal params, macs, acts
        out = _conv_out(size, stride, kernel, kernel // 2)
        params += c_out * c_in * kernel * kernel + 2 * c_out  # the weight and its BN
        macs += c_out * c_in * kernel * kernel * out * out
        acts += c_out * out * out
        return out

    stem = 16 * widen
    size = conv(in_channels, stem, 3, 1, image_size)
    in_planes = stem
    for stage, stage_stride in enumerate((1, 2, 2)):
        planes = 16 * widen * 2**stage
        for i in range(n_blocks):
            stride = stage_stride if i == 0 else 1
            if bottleneck:
                conv(in_planes, planes, 1, 1, size)
                out = conv(planes, planes, 3, stride, size)
                conv(planes, planes * expansion, 1, 1, out)
            else:
                out = conv(in_planes, planes, 3, stride, size)
                conv(planes, planes, 3, 1, out)
            if stride != 1 or in_planes != planes * expansion:
                conv(in_planes, planes * expansion, 1, stride, size)
            size, in_planes = out, planes * expansion
    params += (in_planes + 1) * num_classes
    macs += in_planes * num_classes
    return ResNetStats(depth, widen, params, macs, acts)


def data_shape(data: Mapping[str, Any]) -> tuple[int, int, int]:
    """``(classes, channels, image size)`` of a ``data`` config section's dataset."""
    if data["dataset"] == "digits":
        return 10, 1, 8
    return 100, 3, 32  # cifar100 and the CIFAR-shaped synthetic set


def model_stats(section: Mapping[str, Any], data: Mapping[str, Any]) -> ResNetStats:
    """:func:`resnet_stats` of a ``model`` / ``large_model`` config section on ``data``."""
    classes, channels, size = data_shape(data)
    return resnet_stats(int(section["depth"]), int(section["widen"]), classes, channels, size)


# ------------------------------------------------------------------------------------ memory
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
        f"rule {rule}: needs about {estimate_mb / 1000:.1f} GB of GPU memory (qtrain.gpu memory "
        f"model, from the config), but the GPU has {device_mb / 1000:.1f} GB. Lower the config "
        f"key {key} (a smaller chunk; see config/README.md for what it changes), or run on a "
        "larger GPU, or without a GPU (--resources gpu=0)."
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


# ---------------------------------------------------------------------------- measured memory
def job_usage(device: Any = None) -> dict[str, Any]:
    """What this process has used so far, for a job's provenance records: ``peak_rss_mb``, the
    kernel's resident high-water mark (exact, not sampled), ``cpu_seconds`` (user + system),
    the ``machine`` (:func:`machine_description`) and, once torch is loaded, its ``threads``
    (another CPU type or thread count rounds differently: SPEC §3 wants both named), and on a
    CUDA ``device`` ``peak_gpu_reserved_mb`` / ``peak_gpu_allocated_mb`` (torch's peaks, CUDA
    context excluded). MB = 10⁶ bytes, as everywhere in this module."""
    import resource
    import sys

    usage = resource.getrusage(resource.RUSAGE_SELF)
    rss = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024)  # KiB on Linux
    out: dict[str, Any] = {
        "peak_rss_mb": round(rss / MB, 1),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
        "machine": machine_description(device),
    }
    if "torch" in sys.modules:
        out["threads"] = sys.modules["torch"].get_num_threads()
    if str(device).startswith("cuda"):
        import torch

        out["peak_gpu_reserved_mb"] = round(torch.cuda.max_memory_reserved(device) / MB, 1)
        out["peak_gpu_allocated_mb"] = round(torch.cuda.max_memory_allocated(device) / MB, 1)
    return out


def baseline_memory(data: Mapping[str, Any], seed: int = 0) -> dict[str, Any]:
    """The resident memory of a network job before its model exists: the imports every network
    rule makes (torch, torchvision, the library) and the dataset of ``data`` in memory. What a
    job's peak RSS on the CPU holds beyond the device-memory model (:func:`memory_rows`)."""
    import torch  # noqa: F401
    import torchvision  # noqa: F401

    from .learning import models, training  # noqa: F401
    from .learning.data import load_dataset

    loaded = load_dataset(data, seed=seed)
    record: dict[str, Any] = {**job_usage(), "dataset_mb": round(dataset_mb(data), 1)}
    record["dataset_images"] = len(loaded.y_train) + len(loaded.y_test)
    record["machine"] = machine_description()
    return record


MEMORY_COLUMNS = (
    "rule", "job", "device", "model", "chunk", "key", "model_mb", "dataset_mb", "host_mb",
    "baseline_mb", "predicted_mb", "measured_mb", "measured", "ratio", "margin", "within",
    "cpu_seconds",
)  # fmt: skip
"""Columns of the rehearsal's memory table (:func:`memory_rows`)."""


def _chunk_of(rule: str, cfg: Mapping[str, Any]) -> int:
    """Samples per pass of a GPU rule under ``cfg`` (what the activation term multiplies)."""
    batch = int(cfg["data"]["hessian_batch"])
    chunks = {
        "pretrain": (cfg["pretrain"].get("micro_batch", 0), cfg["pretrain"]["batch_size"]),
        "pretrain_large": (
            cfg["large_model"].get("pretrain_micro_batch", 0),
            cfg["pretrain"]["batch_size"],
        ),
        "sparse_train": (0, cfg["sparse_train"]["batch_size"]),
        "spectrum": (cfg["spectra"]["micro_batch"], batch),
        "spectrum_large": (cfg["large_model"]["micro_batch"], batch),
        "prune": (0, _prune_chunk(cfg["data"])),
        "prune_large": (0, _prune_chunk(cfg["data"])),
        "linearized_window": (
            cfg["linearized"].get("micro_batch", 0),
            cfg["sparse_train"]["batch_size"],
        ),
    }
    micro, whole = chunks[rule]
    return _chunk(int(micro), int(whole))


def memory_rows(
    jobs: list[tuple[str, str, Mapping[str, Any]]],
    baseline_mb: float,
    cfg: Mapping[str, Any],
    margin: float,
) -> list[dict[str, Any]]:
    """One row per network job: its measured peak against the memory model, for the same chunk
    sizes (the rehearsal's table; docs/benchmarks.md, "The rehearsal at the paper's sizes").

    ``jobs``: ``(rule, job label, record)`` with the job's :func:`job_usage` fields and its
    ``device``. On a CUDA device the measurement is torch's peak reserved memory and the
    prediction the model's ``model + dataset`` parts (the CUDA context is neither). On the CPU
    everything lives in the process: the measurement is the peak resident set and the
    prediction ``baseline_mb`` (imports and the dataset, :func:`baseline_memory`) plus the
    device model's ``model`` part (the dataset is already in the baseline, and a CPU tensor
    moved "to the device" is not copied) plus what the rule holds on the host
    (:func:`rule_host_parts`).
    ``within``: measured ≤ predicted × (1 + ``margin``). ``prepare_data`` holds the dataset
    and nothing more: its prediction is the baseline."""
    rows = []
    for rule, label, record in jobs:
        device = str(record.get("device", "cpu"))
        on_gpu = device.startswith("cuda") and "peak_gpu_reserved_mb" in record
        if on_gpu:
            measured, what = float(record["peak_gpu_reserved_mb"]), "peak GPU reserved"
        else:
            measured, what = float(record["peak_rss_mb"]), "peak RSS"
        row: dict[str, Any] = dict.fromkeys(MEMORY_COLUMNS, float("nan"))
        row.update(rule=rule, job=label, device=device, measured_mb=measured, measured=what)
        row.update(key="", model="", margin=margin, cpu_seconds=record.get("cpu_seconds"))
        if rule != "prepare_data":
            section = cfg["large_model"] if rule.endswith("_large") else cfg["model"]
            row["model"] = model_stats(section, cfg["data"]).name
        if rule in GPU_RULES:
            parts = rule_memory_parts(rule, cfg)
            host = rule_host_parts(rule, cfg)["model"]
            if on_gpu:
                device_mb, host, baseline = parts["model"] + parts["dataset"], 0.0, 0.0
            else:
                device_mb, baseline = parts["model"], baseline_mb
            row.update(chunk=_chunk_of(rule, cfg), key=parts["key"], dataset_mb=parts["dataset"])
        elif rule == "prepare_data" and not on_gpu:
            host_parts = rule_host_parts(rule, cfg)
            device_mb, host, baseline = 0.0, host_parts["model"], baseline_mb
            row.update(key=host_parts["key"], dataset_mb=0.0)
        else:
            rows.append(row)
            continue
        predicted = baseline + device_mb + host
        row.update(
            model_mb=round(device_mb, 1),
            host_mb=round(host, 1),
            baseline_mb=round(baseline, 1),
            predicted_mb=round(predicted, 1),
            ratio=round(measured / predicted, 3),
            within=bool(measured <= predicted * (1 + margin)),
        )
        rows.append(row)
    return rows


def memory_table(
    files: Mapping[str, list[str]],
    baseline: str | os.PathLike,
    cfg: Mapping[str, Any],
    margin: float,
) -> list[dict[str, Any]]:
    """:func:`memory_rows` of the jobs that wrote ``files`` (rule name → one output per job; each
    output's provenance record holds the job's :func:`job_usage`) against the ``baseline``
    record of :func:`baseline_memory`."""
    from .io import provenance_path, read_json

    jobs = []
    for rule, paths in files.items():
        for path in paths:
            record = read_json(provenance_path(path))
            if "peak_rss_mb" not in record:
                raise KeyError(f"{provenance_path(path)} has no peak_rss_mb: rerun rule {rule}")
            jobs.append((rule, str(path), record))
    return memory_rows(jobs, float(read_json(baseline)["peak_rss_mb"]), cfg, margin)


# -------------------------------------------------------------------------------------- time
def load_costs(path: str | os.PathLike | None = None) -> list[dict[str, Any]]:
    """Rows of the cost table: ``model, device, kind, seconds_per_sample, source``.

    ``kind`` is ``train_step`` (forward + backward + update), ``gradient`` or ``hvp``
    (recomputed graph, the spectra default). Where a (model, device) has a measured row and an
    extrapolated one, the measured one wins (see :func:`_cost`).
    """
    with open(path or COSTS_CSV, newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if not row["model"].startswith("#")]
    for row in rows:
        row["seconds_per_sample"] = float(row["seconds_per_sample"])
    return rows


def _cost(costs: list[dict[str, Any]], stats: ResNetStats, device: str, kind: str) -> float:
    """Seconds per sample for ``kind`` on ``device``; a model without a row is scaled from the
    nearest model's row by forward FLOPs."""
    rows = [r for r in costs if r["device"] == device and r["kind"] == kind]
    if not rows:
        raise KeyError(f"the cost table has no {kind!r} row for device {device!r}")
    exact = [r for r in rows if r["model"] == stats.name]
    if exact:
        measured = [r for r in exact if r["source"].startswith("measured")]
        return float((measured or exact)[0]["seconds_per_sample"])
    ref = min(rows, key=lambda r: abs(math.log(_flops_of(r["model"]) / stats.forward_flops)))
    return float(ref["seconds_per_sample"]) * stats.forward_flops / _flops_of(ref["model"])


def _flops_of(name: str) -> float:
    match = re.fullmatch(r"ResNet-(\d+)-(\d+)", name)
    if not match:
        raise ValueError(f"cost table model {name!r} is not ResNet-<depth>-<widen>")
    return resnet_stats(int(match.group(1)), int(match.group(2))).forward_flops


def stage_hours(
    cfg: Mapping[str, Any], costs: list[dict[str, Any]] | None = None, device: str | None = None
) -> dict[str, float]:
    """Estimated device hours per stage of a preset: per-sample costs × the config's counts.

    Counts: pretraining epochs × training images (+ the accuracy evaluations, as forwards);
    pruning's three evaluations of the accuracy subset and its BatchNorm refresh (forwards);
    sparse training steps × batch per variant; spectra × (bounds + probes × M) HVPs × Hessian
    batch (the checkpoints before the first download are one model in every variant: counted
    once); linearized windows × learning-rate scales × window steps × (gradient + HVP + a real
    step) × batch. The network pipeline runs once per training seed (1 + ``noise.extra_seeds``),
    but the extra seeds compute only the spectra claims C3-C4 read (not the QRAM variant's) and
    no linearized windows.
    """
    costs = load_costs() if costs is None else costs
    device = device or default_device(costs)
    data = cfg["data"]
    main, large = model_stats(cfg["model"], data), model_stats(cfg["large_model"], data)
    n_train, n_test = train_size(data)
    pre, st, sp, lin = cfg["pretrain"], cfg["sparse_train"], cfg["spectra"], cfg["linearized"]

    def c(stats: ResNetStats, kind: str) -> float:
        return _cost(costs, stats, device, kind)

    accuracy = min(int(data["accuracy_subset"]) or n_train, n_train)
    evals = accuracy + n_test  # accuracy subset and test split, forwards (a third of a step)
    # prune: three evaluations of the accuracy subset and one BatchNorm refresh, as forwards
    prune = (3 * accuracy + (min(int(data["batchnorm_subset"]) or n_train, n_train))) / 3
    hours = {
        "pretrain": pre["epochs"] * (n_train + evals / 3) * c(main, "train_step"),
        "pretrain_large": cfg["large_model"]["epochs"]
        * (n_train + evals / 3)
        * c(large, "train_step"),
        "prune": prune * c(main, "train_step"),
        "prune_large": prune * c(large, "train_step"),
    }
    variants = len(st["variants"])
    steps = st["steps"] * variants
    acc_every = max(int(st.get("train_accuracy_every", 1)), 1)
    hours["sparse_train"] = (
        steps * st["batch_size"] + steps / acc_every * int(data["accuracy_subset"] or 0) / 3
    ) * c(main, "train_step")
    per_spectrum = sp["bounds_steps"] + sp["probes"] * sp["lanczos_steps"]
    seeds = seed_count(cfg)
    # the first seed: every variant's spectra (Fig. 2a-b); the others: those claims C3-C4 read
    # (qtrain.config.claim_variants); shared ones once
    n_spectra = spectrum_jobs(cfg)
    hvp_main = c(main, "hvp")
    if sp.get("reuse_graph"):
        hvp_main *= 0.7  # the graph kept between HVPs: ~2.2x instead of ~3.2x a gradient
    hours["spectra"] = n_spectra * per_spectrum * data["hessian_batch"] * hvp_main / seeds
    hours["spectrum_large"] = per_spectrum * data["hessian_batch"] * c(large, "hvp")
    lin_steps = len(lin["windows"]) * len(lin.get("lr_scales", [1.0])) * st["window_steps"]
    per_step = c(main, "hvp") + c(main, "train_step")  # the gradient comes with the HVP
    hours["linearized"] = lin_steps * st["batch_size"] * per_step / seeds  # the first seed only
    return {k: seeds * v / 3600.0 for k, v in hours.items()}


def default_device(costs: list[dict[str, Any]]) -> str:
    """The device of the estimate: the first with measured rows, else the first listed."""
    measured = [r["device"] for r in costs if r["source"].startswith("measured")]
    return measured[0] if measured else costs[0]["device"]


ASSUMED_TFLOPS = 30.0
"""Sustained float32 (IEEE, TF32 off) TFLOP/s assumed for an H100/H200-class GPU where no GPU
measurement exists: about 45% of the H100 SXM's 67 TFLOP/s FP32 peak."""


def extrapolated_costs(
    hvp_ratio: float,
    models: tuple[tuple[int, int], ...] = ((32, 4), (56, 11)),
    tflops: float = ASSUMED_TFLOPS,
    device: str = "H100",
    ratio_source: str = "",
) -> list[dict[str, Any]]:
    """Cost rows from FLOP counts: a gradient (= a training step) is 3 forward passes of FLOPs
    at ``tflops``; an HVP is ``hvp_ratio`` gradients (the recompute-mode ratio measured on the
    CPU, ``ratio_source``)."""
    rows = []
    for depth, widen in models:
        stats = resnet_stats(depth, widen)
        grad_s = 3 * stats.forward_flops / (tflops * 1e12)
        flop_note = f"extrapolated: 3 forward FLOPs/sample at {tflops:g} TFLOP/s (assumed)"
        for kind, seconds, note in (
            ("train_step", grad_s, flop_note),
            ("gradient", grad_s, flop_note),
            ("hvp", grad_s * hvp_ratio, f"{flop_note} x HVP/gradient {hvp_ratio:.2f} "
             f"measured on the CPU ({ratio_source})"),
        ):  # fmt: skip
            rows.append(
                {
                    "model": stats.name,
                    "device": device,
                    "kind": kind,
                    "seconds_per_sample": float(f"{seconds:.6g}"),
                    "source": note,
                }
            )
    return rows


def write_costs(rows: list[dict[str, Any]], path: str | os.PathLike | None = None) -> None:
    """Write the cost table (columns of :func:`load_costs`)."""
    with open(path or COSTS_CSV, "w", newline="") as handle:
        writer = csv.DictWriter(
            handle, ["model", "device", "kind", "seconds_per_sample", "source"], lineterminator="\n"
        )
        writer.writeheader()
        writer.writerows(rows)


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


def run_gpus(workflow: Any, gpu_limit: int | None) -> int | None:
    """GPUs a run's GPU jobs get: ``gpu_limit`` (set by :func:`limit_local_gpus`), else the
    ``--resources gpu=N`` of a local run; ``None`` for cluster executors (each job its own)."""
    if gpu_limit is not None:
        return gpu_limit
    if workflow.global_resources["_nodes"].value is not None:
        return None
    if "gpu" in workflow.global_resources:
        value = workflow.global_resources["gpu"].value
        return int(value) if isinstance(value, (int, float)) else None
    return None


def startup_report(
    cfg: Mapping[str, Any],
    gpu_limit: int | None,
    env: Mapping[str, str] | None = None,
    cores: int | None = None,
    gpus: int | None = None,
) -> list[str]:
    """Lines printed (to stderr) when the workflow starts: the GPU limit of a local run, a
    warning when the GPU rules will run on the CPU (``gpus`` = 0, from :func:`run_gpus`; by
    default ``gpu_limit``) with their CPU time, GPU rules that will not fit the visible GPU,
    the estimated GPU hours per stage for the paper preset, and for every preset the estimated
    CPU time of its jobs (:mod:`qtrain.estimate`; the wall time on ``cores`` for a local run,
    ``gpus`` not None). Returns the lines."""
    import sys

    from qtrain.estimate import estimate, format_duration, format_estimate

    try:
        est = estimate(cfg)
    except (OSError, KeyError, ValueError, ZeroDivisionError) as err:  # never stops a run
        est, why = None, err
    gpus = gpu_limit if gpus is None else gpus
    lines = []
    if gpus == 0:
        cpu = f" (about {format_duration(est.of(GPU_RULES))} of CPU time)" if est else ""
        why = "no CUDA device visible" if gpu_limit == 0 else "--resources gpu=0"
        lines.append(
            f"qtrain: WARNING: {why}: the rules that declare a GPU "
            f"({', '.join(GPU_RULES)}) will run on the CPU{cpu} "
            "(override: --resources gpu=N or QTRAIN_GPUS=N)"
        )
    if gpu_limit is not None:
        if gpu_limit:
            lines.append(
                f"qtrain: {gpu_limit} CUDA device(s) visible: at most {gpu_limit} GPU job(s) at "
                "a time (override: --resources gpu=N or QTRAIN_GPUS=N)"
            )
        device_mb = gpu_memory_mb(env) if gpu_limit else None
        if device_mb:
            for rule in GPU_RULES:
                need, key = rule_gpu_mem_mb(rule, cfg)
                if need > device_mb:
                    lines.append("qtrain: WARNING " + fit_message(rule, need, device_mb, key))
    on_gpu = gpus is None or gpus > 0  # cluster executors give GPU jobs a GPU
    # the paper preset, and its rehearsal (whose own tiny counts exercise the same code)
    if cfg.get("preset") == "paper" or cfg.get("rehearsal", {}).get("enabled"):
        try:
            hours, device, source = _estimate(cfg, load_costs())
            lines.append("qtrain: " + format_hours(hours, device, source))
            if not on_gpu:
                lines.append(
                    "qtrain: those GPU hours apply on a GPU; here the GPU rules run on the CPU "
                    "(the warning above)"
                )
        except (OSError, KeyError, ValueError) as err:  # an estimate must never stop a run
            lines.append(f"qtrain: no time estimate ({err})")
    if est is not None:
        local_cores = cores if gpus is not None else None
        paper_on_gpu = on_gpu and cfg.get("preset") == "paper"
        lines.append("qtrain: " + format_estimate(est, local_cores, paper_on_gpu))
    else:
        lines.append(f"qtrain: no CPU time estimate ({why})")
    for line in lines:
        print(line, file=sys.stderr)
    return lines


def _estimate(cfg: Mapping[str, Any], costs: list[dict[str, Any]]) -> tuple[dict, str, str]:
    device = default_device(costs)
    measured = any(r["source"].startswith("measured") for r in costs if r["device"] == device)
    source = (
        "from GPU measurements (make bench-gpu)"
        if measured
        else "extrapolated from CPU measurements and FLOP counts: no GPU measurement yet"
    )
    return stage_hours(cfg, costs, device), device, source


def estimate_rows(
    configs: Mapping[str, Mapping[str, Any]], costs: list[dict[str, Any]] | None = None
) -> tuple[list[dict[str, Any]], list[str]]:
    """The start-up GPU-hour estimate of each named config (e.g. this run's and the paper
    preset's), as table rows (``config, stage, gpu_hours, device, source``; a ``total`` row per
    config) and as the lines :func:`startup_report` prints."""
    costs = load_costs() if costs is None else costs
    rows, lines = [], []
    for name, cfg in configs.items():
        hours, device, source = _estimate(cfg, costs)
        for stage, value in [*hours.items(), ("total", sum(hours.values()))]:
            rows.append(
                {
                    "config": name,
                    "stage": stage,
                    "gpu_hours": float(f"{value:.6g}"),
                    "device": device,
                    "source": source,
                }
            )
        lines.append(f"qtrain: [{name}] " + format_hours(hours, device, source))
    return rows, lines


def format_hours(hours: Mapping[str, float], device: str, source: str) -> str:
    """One block of text: the estimate per stage and in total."""
    total = sum(hours.values())
    parts = ", ".join(f"{k} {v:.1f}" for k, v in hours.items())
    return (
        f"Estimated {device} GPU hours: {parts}; total {total:.1f} h ({source}; "
        "docs/benchmarks.md). CPU-only stages (Carleman, quantum) are not counted."
    )
