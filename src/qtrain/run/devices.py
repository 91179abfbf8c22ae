"""CUDA devices without importing torch: how many a local run may use and their memory
(``QTRAIN_GPUS``, ``CUDA_VISIBLE_DEVICES``, ``nvidia-smi``), and the machine in words."""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "gpu_memory_mb",
    "limit_local_gpus",
    "machine_description",
    "run_gpus",
    "select_device",
    "visible_gpus",
]


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


def select_device(gpus: float | int | None = 0) -> Any:
    """CUDA when a GPU was granted (``resources.gpu`` > 0) and one is present, else CPU (a
    ``torch.device``; torch is imported here, not at module import)."""
    import torch

    if gpus and torch.cuda.is_available():
        return torch.device("cuda")
    if gpus:
        logging.getLogger(__name__).warning(
            "a GPU was requested but CUDA is not available: running on the CPU"
        )
    return torch.device("cpu")
