"""GPU hours per stage, planned from the config, and the report a run prints when it starts.

:func:`stage_hours` multiplies per-sample costs (a committed cost table, ``gpu_costs.csv``:
measured by ``make bench-gpu`` or extrapolated from FLOP counts) by the config's sample counts.
"""

from __future__ import annotations

import csv
import math
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..learning.arithmetic import ResNetStats, model_stats, resnet_stats
from .config import seed_count, spectrum_jobs
from .devices import gpu_memory_mb
from .resources import GPU_RULES, fit_message, rule_gpu_mem_mb, train_size

__all__ = [
    "ASSUMED_TFLOPS",
    "COSTS_CSV",
    "default_device",
    "estimate_rows",
    "extrapolated_costs",
    "format_hours",
    "load_costs",
    "stage_hours",
    "startup_report",
    "write_costs",
]

COSTS_CSV = Path(__file__).with_name("gpu_costs.csv")
"""Per-sample seconds of a training step, a gradient and an HVP per model and device (see
:func:`load_costs`): rows measured by ``make bench-gpu`` or extrapolated from FLOP counts."""


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
    # (qtrain.run.config.claim_variants); shared ones once
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
    CPU time of its jobs (:mod:`qtrain.run.estimate`; the wall time on ``cores`` for a local run,
    ``gpus`` not None). Returns the lines."""
    import sys

    from .estimate import estimate, format_duration, format_estimate

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
