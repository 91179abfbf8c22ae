"""What a job used, measured: its peak resident memory, CPU seconds and, on a GPU, torch's peak
device memory (:func:`job_usage`, kept in its provenance records), and the rehearsal's
comparison of those peaks with the memory model (:func:`memory_rows`)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ..learning.arithmetic import model_stats
from .devices import machine_description
from .resources import (
    GPU_RULES,
    MB,
    _chunk,
    _prune_chunk,
    dataset_mb,
    rule_host_parts,
    rule_memory_parts,
)

__all__ = [
    "MEMORY_COLUMNS",
    "baseline_memory",
    "job_usage",
    "memory_rows",
    "memory_table",
]


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

    from ..learning import models, training  # noqa: F401
    from ..learning.data import load_dataset

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
    from .files import read_json
    from .provenance import provenance_path

    jobs = []
    for rule, paths in files.items():
        for path in paths:
            record = read_json(provenance_path(path))
            if "peak_rss_mb" not in record:
                raise KeyError(f"{provenance_path(path)} has no peak_rss_mb: rerun rule {rule}")
            jobs.append((rule, str(path), record))
    return memory_rows(jobs, float(read_json(baseline)["peak_rss_mb"]), cfg, margin)
