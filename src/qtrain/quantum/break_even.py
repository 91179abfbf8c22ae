"""Tables of the cost model against the classical training run (SPEC §1.7, claims C11, C14).

Each function is what one rule calls: read inputs, call it, write its frame. The classical side
comes in as a table (``qtrain.learning.flops.classical_flops_table``: columns ``model_name``,
``parameters``, ``batch``, ``flops_per_step_dense``, ``flops_per_step_sparse``,
``flops_per_parameter_sample``), so the quantum package never imports the learning one.

Method (Babbush et al., PRX Quantum 2, 010103 (2021); Hoefler, Häner, Troyer, CACM 66(5), 82
(2023)): the same training task on both sides, wall-clock against wall-clock, the quantum side
with its error-correction overheads (qdk's estimator) and its classical preprocessing, the
classical side at a stated sustained throughput. A crossing is a model statement, not a
measurement; where there is none, the table says up to which size it was looked for.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from qtrain.quantum.cost_model import (
    MODEL_NOTE,
    RESNET_SIZES,
    CostSettings,
    SweepSettings,
    ceil_log2,
    logical_counts,
    window_cost,
)
from qtrain.quantum.physical import estimate_physical

__all__ = [
    "CLASSICAL_ONLY",
    "LOGICAL_ONLY",
    "break_even_curves",
    "break_even_summary",
    "classical_seconds",
    "quantum_run",
    "resnet_cost_table",
    "scaling_table",
    "sensitivity_table",
]

#: Sensitivity keys that move only the classical side / only the physical layer.
CLASSICAL_ONLY = ("gpu_sustained_tflops", "classical_flops")
LOGICAL_ONLY = ("qubit_model", "physical_error_budget", "parallel_quantum_computers")


def _classical_row(classical: pd.DataFrame, name: str | None, n: int) -> Mapping[str, Any]:
    if name is not None and "model_name" in classical and (classical["model_name"] == name).any():
        return classical[classical["model_name"] == name].iloc[0]
    exact = classical[classical["parameters"] == n]
    return exact.iloc[0] if len(exact) else classical.iloc[0]


def classical_seconds(
    n: int, steps: int, s: CostSettings, classical: pd.DataFrame, name: str | None = None
) -> dict[str, float]:
    """Classical wall-clock of ``steps`` SGD steps at batch ``classical_batch``: the counted
    FLOPs of the model named ``name`` (or with n parameters); another n scales the reference
    row's FLOPs per parameter and sample linearly. Dense, ideal sparse, and the configured one."""
    row = _classical_row(classical, name, n)
    rate = s.gpu_sustained_tflops * 1e12
    if int(row["parameters"]) == int(n):
        scale = s.classical_batch / float(row["batch"])
        dense = float(row["flops_per_step_dense"]) * scale
        sparse = float(row["flops_per_step_sparse"]) * scale
    else:
        dense = float(row["flops_per_parameter_sample"]) * n * s.classical_batch
        sparse = dense * float(row["flops_per_step_sparse"]) / float(row["flops_per_step_dense"])
    out = {
        "classical_flops_per_step_dense": dense,
        "classical_flops_per_step_sparse": sparse,
        "classical_seconds_dense": steps * dense / rate,
        "classical_seconds_sparse": steps * sparse / rate,
    }
    out["classical_seconds"] = out[f"classical_seconds_{s.classical_flops}"]
    out["seconds_per_gradient"] = dense / rate
    return out


def quantum_run(
    n: int,
    s: CostSettings,
    qubit_model: str,
    classical: pd.DataFrame,
    name: str | None = None,
    block_table: pd.DataFrame | None = None,
    map_name: str | None = None,
) -> dict[str, Any]:
    """Logical and physical cost of one window and of the run, with wall-clock times: quantum
    shots (qdk runtime per shot × shots / parallel machines) plus the classical preprocessing of
    the oracle data (gradient evaluations at the classical throughput, when included)."""
    row = window_cost(n, s, block_table, map_name)
    phys = estimate_physical(
        logical_counts(row), qubit_model, s.physical_error_budget, s.estimator_max_direct_depth
    )
    cl = classical_seconds(n, s.steps_per_window, s, classical, name)
    shot = phys["runtime_s"]
    window_q = row["shot_equivalents_per_window"] * shot / s.parallel_quantum_computers
    window_pre = row["preprocessing_gradients_window"] * cl["seconds_per_gradient"]
    window_pre *= 1.0 if s.include_preprocessing else 0.0
    return {
        **row,
        "qubit_model": qubit_model,
        "physical_qubits": phys["physical_qubits"],
        "physical_qubits_factories": phys["physical_qubits_factories"],
        "code_distance": phys["code_distance"],
        "t_factories": phys["t_factories"],
        "logical_cycle_time_ns": phys["logical_cycle_time_ns"],
        "runtime_per_shot_s": shot,
        "estimator_method": phys["method"],
        "estimator_note": phys["note"],
        "quantum_seconds_window": window_q,
        "preprocessing_seconds_window": window_pre,
        "quantum_total_seconds_window": window_q + window_pre,
        "quantum_total_seconds_run": row["windows"] * (window_q + window_pre),
        "seconds_per_gradient": cl["seconds_per_gradient"],
    }


def _assumptions(s: CostSettings) -> str:
    keys = (
        "epsilon",
        "support_fraction",
        "map_degree",
        "batches",
        "nonlinearity_ratio",
        "hessian_lambda_min",
        "hessian_lambda_max",
        "hessian_lambda_rms",
        "sparsity_premise",
        "higher_order_nnz",
        "data_loading",
        "block_encoding",
        "solver",
        "adiabatic_constant",
        "padding_factor",
        "trajectory",
        "amplification",
        "readout",
        "tomography",
        "gpu_sustained_tflops",
        "classical_flops",
    )
    return s.describe(keys)


def resnet_cost_table(
    s: CostSettings,
    classical: pd.DataFrame,
    models: Mapping[str, int] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    block_table: pd.DataFrame | None = None,
    map_name: str | None = None,
    sources: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Table (a): for each model, horizon (one window of T steps; the run of ``total_steps``)
    and qubit model: logical qubits, Toffolis, physical qubits, code distance, factories and
    the quantum wall-clock against the classical one.

    ``overrides``: per model, settings replaced by measured values (e.g.
    :func:`~qtrain.quantum.cost_model.measured_overrides` of its Hessian spectrum);
    ``sources``: per model, where they were measured (written into ``measured_inputs``).
    ``block_table`` / ``map_name``: a measured κ-vs-T table for κ(L) and the final share.
    """
    rows = []
    for name, n in (models or RESNET_SIZES).items():
        ms = replace(s, **dict((overrides or {}).get(name, {})))
        measured = ", ".join(sorted((overrides or {}).get(name, {}))) or "none (config defaults)"
        if (sources or {}).get(name):
            measured += f" from {sources[name]}"
        for qm in ms.qubit_models:
            q = quantum_run(n, ms, qm, classical, name, block_table, map_name)
            for horizon in ("window", "run"):
                steps = ms.steps_per_window if horizon == "window" else ms.total_steps
                cl = classical_seconds(n, steps, ms, classical, name)
                quantum = q[f"quantum_total_seconds_{horizon}"]
                windows = 1 if horizon == "window" else q["windows"]
                rows.append(
                    {
                        "model_name": name,
                        "n": n,
                        "param_qubits": ceil_log2(n),
                        "horizon": horizon,
                        "steps": steps,
                        "qubit_model": qm,
                        "logical_qubits": q["logical_qubits"],
                        "toffolis": q[f"toffolis_{horizon}"],
                        "toffolis_per_shot": q["toffolis_per_shot"],
                        "shots": windows * q["shot_equivalents_per_window"],
                        "physical_qubits": q["physical_qubits"],
                        "code_distance": q["code_distance"],
                        "t_factories": q["t_factories"],
                        "runtime_per_shot_s": q["runtime_per_shot_s"],
                        "quantum_seconds": windows * q["quantum_seconds_window"],
                        "preprocessing_seconds": windows * q["preprocessing_seconds_window"],
                        "quantum_total_seconds": quantum,
                        **{k: cl[k] for k in cl if k.startswith("classical_seconds")},
                        "quantum_over_classical": quantum / cl["classical_seconds"],
                        "log10_quantum_over_classical": math.log10(
                            quantum / cl["classical_seconds"]
                        ),
                        "carleman_order": q["carleman_order"],
                        "kappa_L": q["kappa_L"],
                        "kappa_effective": q["kappa_effective"],
                        "rho": q["rho"],
                        "dissipative_premise": q["dissipative_premise"],
                        "premise_note": q["premise_note"],
                        "kappa_source": q["kappa_source"],
                        "measured_inputs": measured,
                        "estimator_method": q["estimator_method"],
                        "estimator_note": q["estimator_note"],
                        "assumptions": _assumptions(ms),
                        "kind": "model",
                    }
                )
    frame = pd.DataFrame(rows)
    frame.attrs["note"] = MODEL_NOTE
    return frame


def _n_grid(sweep: SweepSettings) -> list[int]:
    grid = np.logspace(math.log10(sweep.n_min), math.log10(sweep.n_max), sweep.points)
    return [int(v) for v in np.unique(np.round(grid))]


def break_even_curves(
    s: CostSettings,
    sweep: SweepSettings,
    classical: pd.DataFrame,
    overrides: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Table (b): quantum and classical wall-clock of the run versus n (log grid, the
    reference model's per-parameter assumptions) and of one window versus T (at the reference
    model's n), per qubit model. One row per (axis, x, qubit model)."""
    ms = replace(s, **dict(overrides or {}))
    ref = sweep.reference_model
    n_ref = int(_classical_row(classical, ref, 0)["parameters"])
    rows = []
    for qm in ms.qubit_models:
        for n in _n_grid(sweep):
            q = quantum_run(n, ms, qm, classical, ref if n == n_ref else None)
            cl = classical_seconds(n, ms.total_steps, ms, classical, ref if n == n_ref else None)
            rows.append(
                _curve_row(
                    "n",
                    n,
                    n,
                    ms.total_steps,
                    qm,
                    q["quantum_total_seconds_run"],
                    cl["classical_seconds"],
                    q,
                )
            )
        for steps in sweep.steps_values:
            ts = replace(ms, steps_per_window=int(steps), total_steps=int(steps))
            q = quantum_run(n_ref, ts, qm, classical, ref)
            cl = classical_seconds(n_ref, int(steps), ts, classical, ref)
            rows.append(
                _curve_row(
                    "T",
                    steps,
                    n_ref,
                    int(steps),
                    qm,
                    q["quantum_total_seconds_window"],
                    cl["classical_seconds"],
                    q,
                )
            )
    frame = pd.DataFrame(rows)
    frame.attrs["note"] = MODEL_NOTE
    return frame


def _curve_row(axis, x, n, steps, qm, quantum, classical, q) -> dict[str, Any]:
    return {
        "axis": axis,
        "x": float(x),
        "n": int(n),
        "steps": int(steps),
        "qubit_model": qm,
        "quantum_seconds": quantum,
        "classical_seconds": classical,
        "quantum_over_classical": quantum / classical,
        "logical_qubits": q["logical_qubits"],
        "toffolis_per_shot": q["toffolis_per_shot"],
        "carleman_order": q["carleman_order"],
        "kappa_effective": q["kappa_effective"],
        "estimator_method": q["estimator_method"],
        "kind": "model",
    }


def break_even_summary(curves: pd.DataFrame) -> pd.DataFrame:
    """Per axis and qubit model: the smallest x where quantum wall-clock ≤ classical (log-log
    interpolated between grid points), or NaN with the statement that there is none up to the
    largest x; the best ratio seen and where."""
    rows = []
    for (axis, qm), g in curves.groupby(["axis", "qubit_model"], sort=False):
        g = g.sort_values("x")
        x = g["x"].to_numpy(float)
        ratio = g["quantum_over_classical"].to_numpy(float)
        below = np.flatnonzero(ratio <= 1)
        crossing = math.nan
        if len(below):
            i = int(below[0])
            if i == 0:
                crossing = x[0]
            else:
                lx, lr = np.log(x[i - 1 : i + 1]), np.log(ratio[i - 1 : i + 1])
                crossing = float(np.exp(lx[0] + (0 - lr[0]) * (lx[1] - lx[0]) / (lr[1] - lr[0])))
        best = int(np.nanargmin(ratio))
        statement = (
            f"quantum faster from {axis} = {crossing:.3g}"
            if math.isfinite(crossing)
            else f"no crossing for {axis} in [{x[0]:.3g}, {x[-1]:.3g}]"
        )
        rows.append(
            {
                "axis": axis,
                "qubit_model": qm,
                "crossing": crossing,
                "x_min": x[0],
                "x_max": x[-1],
                "best_ratio": float(ratio[best]),
                "best_at": float(x[best]),
                "statement": statement,
                "kind": "model",
            }
        )
    return pd.DataFrame(rows)


def _variants(s: CostSettings, sweep: SweepSettings) -> list[tuple[str, str, dict[str, Any]]]:
    out = []
    for key, values in sweep.sensitivity.items():
        for value in values:
            if key == "qubit_model":
                out.append((key, str(value), {"qubit_models": (str(value),)}))
            else:
                out.append((key, str(value), {key: value}))
    return out


def sensitivity_table(
    s: CostSettings,
    sweep: SweepSettings,
    classical: pd.DataFrame,
    models: Mapping[str, int] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> pd.DataFrame:
    """Table (c): the run's quantum wall-clock and its ratio to the classical one when one
    assumption at a time takes each value of ``sweep.sensitivity`` (key → values), against the
    base (the configured settings, first qubit model). One row per model, assumption, value."""
    rows = []
    for name, n in (models or RESNET_SIZES).items():
        base_s = replace(s, **dict((overrides or {}).get(name, {})))
        base_qm = base_s.qubit_models[0]

        def evaluate(ms: CostSettings, qm: str, n: int = n, name: str = name) -> dict:
            q = quantum_run(n, ms, qm, classical, name)
            cl = classical_seconds(n, ms.total_steps, ms, classical, name)
            return {
                "quantum_seconds": q["quantum_total_seconds_run"],
                "classical_seconds": cl["classical_seconds"],
                "toffolis": q["toffolis_run"],
                "logical_qubits": q["logical_qubits"],
                "physical_qubits": q["physical_qubits"],
                "carleman_order": q["carleman_order"],
            }

        base = evaluate(base_s, base_qm)
        base_ratio = base["quantum_seconds"] / base["classical_seconds"]
        rows.append({"model_name": name, "assumption": "base", "value": "configured", **base})
        for key, label, change in _variants(base_s, sweep):
            ms = replace(base_s, **change)
            res = evaluate(ms, ms.qubit_models[0])
            rows.append({"model_name": name, "assumption": key, "value": label, **res})
        for row in rows:
            if row["model_name"] != name:
                continue
            ratio = row["quantum_seconds"] / row["classical_seconds"]
            row["quantum_over_classical"] = ratio
            row["log10_factor_quantum"] = math.log10(
                row["quantum_seconds"] / base["quantum_seconds"]
            )
            row["log10_factor_ratio"] = math.log10(ratio / base_ratio)
            row["kind"] = "model"
    frame = pd.DataFrame(rows)
    frame.attrs["note"] = MODEL_NOTE
    return frame


def scaling_table(
    s: CostSettings,
    sweep: SweepSettings,
    classical: pd.DataFrame,
    overrides: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """The n-dependence behind C11: logical Toffolis of the run (quantum computer's work, all
    shots), classical FLOPs of the run and of the classical preprocessing (gradient
    evaluations × FLOPs of a gradient, ∝ n), on the n grid, under
    both readout premises (``fixed``: the theorem's d = readout_entries; ``fraction``: the
    paper's numerics, d = readout_fraction·n), and once more under the theorem's sparsity
    premise (polylog non-zeros per row, sparse-access oracles). Log-log slopes over
    n ≥ ``fit_min_n`` per premise; ``slope_noise``: the largest change of the slope over the
    sensitivity variants that change logical counts."""
    ms = replace(s, **dict(overrides or {}))
    row0 = _classical_row(classical, sweep.reference_model, 0)
    grid = _n_grid(sweep)
    premises = {
        "fixed": {"readout": "fixed"},
        "fraction": {"readout": "fraction"},
        "fixed_polylog_sparsity": {
            "readout": "fixed",
            "sparsity_premise": "polylog",
            "block_encoding": "sparse_access",
        },
    }
    variants = [
        (key, label, change)
        for key, label, change in _variants(ms, sweep)
        if key not in CLASSICAL_ONLY + LOGICAL_ONLY and key != "readout"
    ]
    rows = []
    for premise, change in premises.items():
        ps = replace(ms, **change)
        curve = [window_cost(n, ps) for n in grid]
        tof = [r["toffolis_run"] for r in curve]
        pre = [r["preprocessing_gradients_run"] for r in curve]
        slope = _slope(grid, tof, sweep.fit_min_n)
        lowest = highest = slope
        for _, _, vchange in variants:
            vs = replace(ps, **vchange)
            vt = [window_cost(n, vs)["toffolis_run"] for n in grid]
            vslope = _slope(grid, vt, sweep.fit_min_n)
            if math.isfinite(vslope):
                lowest, highest = min(lowest, vslope), max(highest, vslope)
        per_gradient = float(row0["flops_per_parameter_sample"]) * ps.classical_batch
        pre_flops = [p * per_gradient * n for n, p in zip(grid, pre, strict=True)]
        slope_pre = _slope(grid, pre_flops, sweep.fit_min_n)
        classical_run = [per_gradient * n * ps.total_steps for n in grid]
        slope_classical = _slope(grid, classical_run, sweep.fit_min_n)
        for n, r, t, p, c in zip(grid, curve, tof, pre_flops, classical_run, strict=True):
            rows.append(
                {
                    "premise": premise,
                    "n": n,
                    "param_qubits": ceil_log2(n),
                    "readout_entries": r["readout_entries"],
                    "quantum_toffolis": t,
                    "preprocessing_flops": p,
                    "classical_flops": c,
                    "slope_quantum": slope,
                    "slope_preprocessing": slope_pre,
                    "slope_classical": slope_classical,
                    "slope_variant_min": lowest,
                    "slope_variant_max": highest,
                    "fit_min_n": sweep.fit_min_n,
                    "epsilon": ps.epsilon,
                    "kind": "model",
                }
            )
    frame = pd.DataFrame(rows)
    frame.attrs["note"] = MODEL_NOTE
    return frame


def _slope(x: Sequence[float], y: Sequence[float], x_min: float) -> float:
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    keep = (x >= x_min) & np.isfinite(y) & (y > 0)
    if keep.sum() < 2:
        return math.nan
    return float(np.polyfit(np.log(x[keep]), np.log(y[keep]), 1)[0])
