"""The prepared GPU benchmark (``make bench-gpu``): every GPU number the docs need, in one run.

On one GPU (about 5-8 minutes on an H100/H200-class card) it measures, at the paper's sizes:

1. ``hvp_variants.csv``: ResNet-32-4 at batch 2048 in chunks of 512, every HVP variant of
   :func:`qtrain.bench.hessian.hvp_variants` beside a gradient (``compile`` unless
   ``--skip-compile``), with its error against the reference HVP;
2. ``memory.csv``: the fitted activation copies of the memory model (:mod:`qtrain.run.resources`)
   on this GPU
   (train step, HVP in eval- and train-mode BN) and the peak memory of ONE unchunked
   train-mode-BN HVP of ResNet-32-4 at batch 2048 (what ``linearized_window`` needs);
3. ``sparse_step.csv``: SGD steps of ResNet-32-4 at batch 2048 (dense and masked) and of
   ResNet-56-11 at batch 512 in chunks of 128 (``pretrain_large``);
4. ``hessian_scale.csv``: :func:`qtrain.bench.hessian.hessian_at_scale` for ResNet-32-4
   (batch 2048, chunks of 512) and ResNet-56-11 (batch 256, chunks of 64), each with a timed
   16-step slice of an M = 256 spectrum, extrapolated to 256 + 64 steps at batch 2048;

then writes the measured per-sample costs into the cost table of the time estimate
(``src/qtrain/run/gpu_costs.csv``, rows of this GPU) and renders the tables into the ``gpu-*``
sections of docs/benchmarks.md. ``--tiny`` runs the same steps at toy sizes (on the CPU when no
GPU is present): the test suite uses it with the CUDA calls mocked.

    python -m qtrain.bench.gpu --out results/bench/gpu [--tiny] [--skip-compile]
"""

from __future__ import annotations

import argparse
import csv
import functools
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["PLANS", "device_label", "main", "run"]

log = logging.getLogger("qtrain.bench.gpu")

PLANS: dict[str, dict[str, Any]] = {
    "full": {
        "variants": {"depth": 32, "widen": 4, "batch": 2048, "micro_batch": 512, "repeats": 3},
        "memory_models": [(32, 4)],
        "memory_batches": (64, 192),
        "unchunked": {"depth": 32, "widen": 4, "batch": 2048},
        "sparse": [
            {"depth": 32, "widen": 4, "batch": 2048, "repeats": 3},
            {"depth": 56, "widen": 11, "batch": 512, "micro_batch": 128, "repeats": 2},
        ],
        "scale": [
            {"depth": 32, "widen": 4, "batch": 2048, "micro_batch": 512, "lanczos_steps": 16},
            {"depth": 56, "widen": 11, "batch": 256, "micro_batch": 64, "lanczos_steps": 16},
        ],
    },
    "tiny": {
        "variants": {"depth": 8, "widen": 1, "batch": 8, "micro_batch": 4, "repeats": 1},
        "memory_models": [(8, 1)],
        "memory_batches": (2, 4),
        "unchunked": {"depth": 8, "widen": 1, "batch": 8},
        "sparse": [{"depth": 8, "widen": 1, "batch": 8, "micro_batch": 4, "repeats": 1}],
        "scale": [{"depth": 8, "widen": 1, "batch": 4, "micro_batch": 2, "lanczos_steps": 3}],
    },
}
"""What each step measures: the paper sizes (``full``) and toy sizes for tests (``tiny``)."""


def device_label(device: Any) -> str:
    """A short device name for the cost table: ``H100``, ``H200``, ``A100``, … or ``cpu``."""
    if str(device).startswith("cuda"):
        import torch

        name = torch.cuda.get_device_name(device)
        for short in ("H200", "H100", "A100", "L40S", "A40", "V100", "RTX 4090", "RTX 3090"):
            if short in name:
                return short.replace(" ", "")
        return name.replace("NVIDIA ", "").replace(" ", "")
    return "cpu"


def _write_csv(rows: Sequence[dict[str, Any]], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fields: list[str] = []
    for row in rows:
        fields += [k for k in row if k not in fields]
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


def _timed_step(name: str, fn: Callable[[], Any]) -> Any:
    tic = time.perf_counter()
    log.info("bench-gpu: %s ...", name)
    out = fn()
    log.info("bench-gpu: %s done in %.1f s", name, time.perf_counter() - tic)
    return out


def _unchunked_train_bn(case: dict[str, Any], device: Any) -> dict[str, Any]:
    """Peak memory of one exact train-mode-BN HVP over the whole batch (or the OOM)."""
    import torch
    import torch.nn.functional as F

    from qtrain.bench.memory import peak_memory
    from qtrain.learning.arithmetic import resnet_stats
    from qtrain.learning.models import cifar_resnet
    from qtrain.run.resources import CUDA_CONTEXT_MB, hvp_memory_mb
    from qtrain.spectra.hvp import HessianOperator

    torch.manual_seed(0)
    model = cifar_resnet(case["depth"], case["widen"], 100, 3).to(device)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(case["batch"], 3, 32, 32, generator=gen).to(device)
    y = torch.randint(100, (case["batch"],), generator=gen).to(device)
    stats = resnet_stats(case["depth"], case["widen"])
    row: dict[str, Any] = {
        "model": stats.name,
        "kind": "hvp_train_unchunked",
        "batches": str(case["batch"]),
        # the model's estimate without the CUDA context (not in max_memory_allocated)
        "model_estimate_mb": hvp_memory_mb(stats, case["batch"], bn_mode="train", vectors=0)
        - CUDA_CONTEXT_MB,
        "device": str(device),
    }
    try:
        op = HessianOperator(model, F.cross_entropy, x, y, space="dense", bn_mode="train")
        v = torch.randn(op.dim, generator=gen).to(device)
        tic = time.perf_counter()
        peak, _ = peak_memory(lambda: op.matvec(v), device)
        row.update(peak_mb=peak / 1e6, seconds=time.perf_counter() - tic, status="ok")
    except torch.OutOfMemoryError as err:  # the answer is then "does not fit"
        row.update(peak_mb=float("nan"), seconds=float("nan"), status=f"OOM: {err}"[:200])
    return row


def run(
    out: str | os.PathLike,
    plan: str = "full",
    *,
    device: Any = None,
    skip_compile: bool = False,
    doc: str | os.PathLike | None = "docs/benchmarks.md",
    costs: str | os.PathLike | None = None,
) -> dict[str, Path]:
    """Run every step of :data:`PLANS` ``[plan]``; returns the CSV paths by name."""
    import torch

    from qtrain.bench.hessian import VARIANTS, hessian_at_scale, hvp_variants
    from qtrain.bench.memory import activation_copies
    from qtrain.bench.report import TABLES, render_section
    from qtrain.bench.sparse_step import sparse_step_throughput
    from qtrain.learning.models import cifar_resnet
    from qtrain.run.devices import machine_description
    from qtrain.run.hours import COSTS_CSV, load_costs, write_costs

    spec = PLANS[plan]
    if device is None:
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(device)
    machine = machine_description(device)
    label = device_label(device)
    out = Path(out)
    log.info("bench-gpu (%s) on %s: %s", plan, device, machine)
    paths: dict[str, Path] = {}

    # 1. HVP variants side by side
    case = spec["variants"]
    variants = tuple(v for v in VARIANTS if not (skip_compile and v == "compile"))
    torch.manual_seed(0)
    model = cifar_resnet(case["depth"], case["widen"], 100, 3).to(device)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(case["batch"], 3, 32, 32, generator=gen).to(device)
    y = torch.randint(100, (case["batch"],), generator=gen).to(device)
    rows = _timed_step(
        "HVP variants",
        functools.partial(
            hvp_variants, model, x, y, variants, case["repeats"], space="dense",
            micro_batch=case["micro_batch"],
        ),
    )  # fmt: skip
    del model, x, y
    paths["hvp_variants"] = _write_csv([{**r, "machine": machine} for r in rows],
                                       out / "hvp_variants.csv")  # fmt: skip

    # 2. memory model on this device, and the unchunked train-mode-BN HVP
    rows = []
    for depth, widen in spec["memory_models"]:
        for kind in ("train", "hvp_eval", "hvp_train"):
            rows.append(
                _timed_step(
                    f"memory {kind} ResNet-{depth}-{widen}",
                    lambda kind=kind, depth=depth, widen=widen: activation_copies(
                        depth, widen, kind, spec["memory_batches"], device
                    ),
                )
            )
    unchunked = _timed_step(
        "unchunked train-BN HVP", lambda: _unchunked_train_bn(spec["unchunked"], device)
    )
    paths["memory"] = _write_csv([{**r, "machine": machine} for r in rows], out / "memory.csv")
    paths["unchunked"] = _write_csv([{**unchunked, "machine": machine}],
                                    out / "unchunked_train_bn.csv")  # fmt: skip

    # 3. SGD steps
    rows = []
    for case in spec["sparse"]:
        rows += _timed_step(
            f"sparse step {case}", lambda case=case: sparse_step_throughput(device=device, **case)
        )
    paths["sparse_step"] = _write_csv([{**r, "machine": machine} for r in rows],
                                      out / "sparse_step.csv")  # fmt: skip
    sparse_rows = rows

    # 4. Hessians at full size, a timed slice of a spectrum
    rows = [
        _timed_step(f"hessian at scale {c}", lambda c=c: hessian_at_scale(device=device, **c))
        for c in spec["scale"]
    ]
    paths["hessian_scale"] = _write_csv([{**r, "machine": machine} for r in rows],
                                        out / "hessian_scale.csv")  # fmt: skip

    # cost table: measured per-sample seconds of this device replace its earlier rows
    if costs is not None:
        measured = []
        for r in rows:
            note = f"measured: make bench-gpu on {machine}, batch {r['batch']}"
            measured.append(_cost_row(r["model"], label, "gradient", r["gradient_s_per_sample"],
                                      note))  # fmt: skip
            measured.append(_cost_row(r["model"], label, "hvp", r["hvp_s_per_sample"], note))
        steps: dict[str, list[float]] = {}
        for r in sparse_rows:
            if r["kind"] == "masked":
                steps.setdefault(r["model"], []).append(r["seconds"] / r["batch"])
        for model_name, secs in steps.items():
            note = f"measured: make bench-gpu on {machine} (masked SGD step)"
            measured.append(_cost_row(model_name, label, "train_step", sorted(secs)[0], note))
        existing = load_costs(costs) if Path(costs).exists() else load_costs(COSTS_CSV)
        keep = [
            r for r in existing if not (r["device"] == label and r["source"].startswith("measured"))
        ]
        write_costs(measured + keep, costs)

    if doc is not None:
        for name, path in paths.items():
            kind = {"hvp_variants": "hvp-variants", "memory": "memory-model",
                    "unchunked": "memory-model", "sparse_step": "sparse-step",
                    "hessian_scale": "hessian-scale"}[name]  # fmt: skip
            from qtrain.bench.report import read_rows

            table = (
                _unchunked_table(read_rows([path]))
                if name == "unchunked"
                else TABLES[kind](read_rows([path]))
            )
            render_section(doc, f"gpu-{name.replace('_', '-')}", table,
                           source=f"make bench-gpu ({path})")  # fmt: skip
    return paths


def _cost_row(model: str, device: str, kind: str, seconds: float, source: str) -> dict[str, Any]:
    return {
        "model": model,
        "device": device,
        "kind": kind,
        "seconds_per_sample": float(f"{seconds:.6g}"),
        "source": source,
    }


def _unchunked_table(rows: Sequence[dict[str, Any]]) -> str:
    from qtrain.bench.report import _table

    body = [
        (r["model"], r["batches"], r["peak_mb"], r["model_estimate_mb"], r["status"], r["device"])
        for r in rows
    ]
    header = ("model", "batch", "peak MB (measured)", "MB (memory model)", "status", "device")
    return _table(header, body)


def main(argv: Sequence[str] | None = None) -> None:
    """Command line of ``make bench-gpu``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="results/bench/gpu")
    parser.add_argument("--tiny", action="store_true", help="toy sizes (tests; any device)")
    parser.add_argument("--device", default=None, help="cuda (default when present) or cpu")
    parser.add_argument("--skip-compile", action="store_true")
    parser.add_argument("--doc", default="docs/benchmarks.md", help="'' to leave docs alone")
    parser.add_argument("--costs", default=None, help="cost table to update (default: none)")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr, force=True
    )
    tic = time.perf_counter()
    paths = run(
        args.out,
        "tiny" if args.tiny else "full",
        device=args.device,
        skip_compile=args.skip_compile,
        doc=args.doc or None,
        costs=args.costs,
    )
    log.info("bench-gpu: %d tables in %.0f s: %s", len(paths), time.perf_counter() - tic,
             ", ".join(str(p) for p in paths.values()))  # fmt: skip


if __name__ == "__main__":  # pragma: no cover
    main()
