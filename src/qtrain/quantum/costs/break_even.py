"""Quantum against classical wall-clock: the priced run, the ResNet table and the break-even.

The classical side comes in as a table (``qtrain.learning.flops.classical_flops_table``:
columns ``model_name``, ``parameters``, ``batch``, ``flops_per_step_dense``,
``flops_per_step_sparse``, ``flops_per_parameter_sample``), so the quantum package never
imports the learning one.

Method (Babbush et al., PRX Quantum 2, 010103 (2021); Hoefler, Häner, Troyer, CACM 66(5), 82
(2023)): the same training task on both sides, wall-clock against wall-clock, the quantum side
with its error-correction overheads (qdk's estimator) and the preparation of its oracle data,
the classical side at a stated sustained throughput; the verdict on the scenario most
favourable to quantum, the base beside it. A crossing is a model statement, not a measurement;
where there is none, the table says up to which size it was looked for.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from qtrain.paper import RESNET_SIZES
from qtrain.quantum.costs.physical import estimate_physical
from qtrain.quantum.costs.primitives import ceil_log2
from qtrain.quantum.costs.settings import (
    MODEL_NOTE,
    SCENARIOS,
    CostSettings,
    SweepSettings,
    scenario_settings,
)
from qtrain.quantum.costs.window import logical_counts, window_cost

__all__ = [
    "Pricing",
    "break_even_curves",
    "break_even_summary",
    "classical_row",
    "classical_seconds",
    "n_grid",
    "quantum_run",
    "resnet_cost_table",
]


@dataclass(frozen=True, eq=False)
class Pricing:
    """What the model tables price, and against what: the cost ``settings`` and the ``sweep``,
    the ``classical`` FLOP table, the ``models`` (name → parameters; default the paper's
    ResNets) and, per model, the settings that measured values replace (``measured``)."""

    settings: CostSettings
    sweep: SweepSettings
    classical: pd.DataFrame
    models: Mapping[str, int] = field(default_factory=lambda: RESNET_SIZES)
    measured: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def scenario(self, name: str, scenario: str) -> CostSettings:
        """The settings of ``scenario`` for the model ``name``, its measured values in."""
        return scenario_settings(self.settings, self.sweep, scenario, self.measured.get(name))

    @property
    def reference_measured(self) -> Mapping[str, Any]:
        """The measured values of the sweeps' reference model (what the n and T sweeps use)."""
        return self.measured.get(self.sweep.reference_model, {})


def classical_row(classical: pd.DataFrame, name: str | None, n: int) -> Mapping[str, Any]:
    """The classical table's row of the model ``name`` (or with n parameters; else the first)."""
    if name is not None and "model_name" in classical and (classical["model_name"] == name).any():
        return classical[classical["model_name"] == name].iloc[0]
    exact = classical[classical["parameters"] == n]
    return exact.iloc[0] if len(exact) else classical.iloc[0]


def classical_seconds(
    n: int, steps: int, s: CostSettings, classical: pd.DataFrame, name: str | None = None
) -> dict[str, float]:
    """Classical wall-clock of ``steps`` SGD steps at batch ``classical_batch``: the counted
    FLOPs of the model named ``name`` (or with n parameters); another n scales the reference
    row's FLOPs per parameter and sample linearly. Dense, ideal sparse, and the configured one;
    ``gradient_flops`` and ``seconds_per_gradient``: one gradient on the batch (dense)."""
    row = classical_row(classical, name, n)
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
    out["gradient_flops"] = dense
    out["seconds_per_gradient"] = dense / rate
    return out


def _priced(n, s, qubit_model, cl, block_table, map_name) -> dict[str, Any]:
    row = window_cost(n, s, block_table, map_name, gradient_flops=cl["gradient_flops"])
    phys = estimate_physical(
        logical_counts(row), qubit_model, row["physical_error_budget"], s.estimator_max_direct_depth
    )
    shot = phys["runtime_s"]
    window_q = row["shot_equivalents_per_window"] * shot / s.parallel_quantum_computers
    window_pre = row["preprocessing_gradients_window"] * cl["seconds_per_gradient"]
    K = row["windows"]
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
        "quantum_seconds_run": K * window_q,
        "preprocessing_seconds_run": K * window_pre,
        "quantum_total_seconds_run": K * (window_q + window_pre),
    }


def quantum_run(
    n: int,
    s: CostSettings,
    qubit_model: str,
    classical: pd.DataFrame,
    name: str | None = None,
    block_table: pd.DataFrame | None = None,
    map_name: str | None = None,
    alternatives: bool = False,
) -> dict[str, Any]:
    """Logical and physical cost of one window and of the run, with wall-clock times: the
    quantum computer (qdk runtime per shot × shots / parallel machines) plus the oracle data
    (``classical``: the floor, gradient evaluations at the classical throughput; ``coherent``:
    inside every query; ``cheapest``: both priced, the cheaper run kept). With
    ``alternatives`` both are priced whatever ``oracle_data`` says and the coherent one is
    reported beside (``coherent_*`` columns); ``oracle_floor_over_classical`` is the classical
    preparation of the oracle data over the classical training of a window."""
    cl = classical_seconds(n, s.steps_per_window, s, classical, name)
    both = alternatives or s.oracle_data == "cheapest"
    runs = {}
    if s.oracle_data in ("classical", "cheapest") or both:
        runs["classical"] = _priced(
            n, replace(s, oracle_data="classical"), qubit_model, cl, block_table, map_name
        )
    if s.oracle_data in ("coherent", "cheapest") or both:
        runs["coherent"] = _priced(
            n, replace(s, oracle_data="coherent"), qubit_model, cl, block_table, map_name
        )
    if s.oracle_data == "cheapest":
        chosen = min(runs, key=lambda k: _finite(runs[k]["quantum_total_seconds_run"]))
    else:
        chosen = s.oracle_data
    out = dict(runs[chosen])
    floor = runs.get("classical", out)
    out["seconds_per_gradient"] = cl["seconds_per_gradient"]
    out["classical_seconds_window"] = cl["classical_seconds"]
    out["oracle_floor_gradients_window"] = floor["preprocessing_gradients_window"]
    out["oracle_floor_seconds_run"] = floor["preprocessing_seconds_run"]
    out["oracle_floor_over_classical"] = (
        floor["preprocessing_seconds_window"] / cl["classical_seconds"]
    )
    if "coherent" in runs:
        coh = runs["coherent"]
        out["coherent_quantum_seconds_run"] = coh["quantum_total_seconds_run"]
        out["coherent_toffolis_per_query"] = coh["toffolis_per_query"]
        out["coherent_logical_qubits"] = coh["logical_qubits"]
    return out


def _finite(x: float) -> float:
    return x if math.isfinite(x) else math.inf


_ASSUMPTION_KEYS = (
    "epsilon",
    "window_space",
    "support_fraction",
    "map_degree",
    "batches",
    "hessian_lambda_min",
    "hessian_lambda_max",
    "hessian_lambda_rms",
    "sparsity_premise",
    "data_loading",
    "qram_toffolis_per_address_bit",
    "block_encoding",
    "oracle_data",
    "solver",
    "adiabatic_constant",
    "padding_factor",
    "trajectory",
    "amplification",
    "readout",
    "readout_entries",
    "tomography",
    "gpu_sustained_tflops",
    "classical_flops",
)


def resnet_cost_table(
    p: Pricing,
    sources: Mapping[str, str] | None = None,
    block_table: pd.DataFrame | None = None,
    map_name: str | None = None,
) -> pd.DataFrame:
    """For each model, scenario (``base``, ``favourable``), qubit model and horizon (one window
    of T steps; the run of ``total_steps``): logical qubits, Toffolis, physical qubits, code
    distance, the quantum computer's wall-clock, the oracle data (its classical floor and the
    coherent alternative) and the classical wall-clock. ``headline`` marks each scenario's
    first qubit model (the favourable bound's is its fast model).

    ``p.measured``: per model, settings replaced by measured values; ``sources``: per model,
    where they were measured (written into ``measured_inputs``)."""
    rows = []
    for name, n in p.models.items():
        measured = ", ".join(sorted(p.measured.get(name, {}))) or "none (config assumptions)"
        if (sources or {}).get(name):
            measured += f" from {sources[name]}"
        for scenario in SCENARIOS:
            ms = p.scenario(name, scenario)
            for qm in ms.qubit_models:
                q = quantum_run(n, ms, qm, p.classical, name, block_table, map_name, True)
                for horizon in ("window", "run"):
                    rows.append(_resnet_row(name, n, scenario, qm, horizon, ms, q, p.classical))
                    rows[-1]["headline"] = qm == ms.qubit_models[0]
                    rows[-1]["measured_inputs"] = measured
    frame = pd.DataFrame(rows)
    frame.attrs["note"] = MODEL_NOTE
    return frame


def _resnet_row(name, n, scenario, qm, horizon, ms, q, classical) -> dict[str, Any]:
    steps = ms.steps_per_window if horizon == "window" else ms.total_steps
    cl = classical_seconds(n, steps, ms, classical, name)
    windows = 1 if horizon == "window" else q["windows"]
    quantum = windows * q["quantum_total_seconds_window"]
    ratio = quantum / cl["classical_seconds"]
    coherent = q["coherent_quantum_seconds_run"] / q["windows"] * windows
    return {
        "model_name": name,
        "n": n,
        "param_qubits": ceil_log2(n),
        "scenario": scenario,
        "horizon": horizon,
        "steps": steps,
        "qubit_model": qm,
        "support": q["support"],
        "readout_entries": q["readout_entries"],
        "logical_qubits": q["logical_qubits"],
        "toffolis": q[f"toffolis_{horizon}"],
        "toffolis_per_shot": q["toffolis_per_shot"],
        "shots": windows * q["shot_equivalents_per_window"],
        "physical_qubits": q["physical_qubits"],
        "code_distance": q["code_distance"],
        "t_factories": q["t_factories"],
        "runtime_per_shot_s": q["runtime_per_shot_s"],
        "physical_error_budget": q["physical_error_budget"],
        "oracle_data": q["oracle_data"],
        "quantum_seconds": windows * q["quantum_seconds_window"],
        "preprocessing_seconds": windows * q["preprocessing_seconds_window"],
        "quantum_total_seconds": quantum,
        "oracle_floor_seconds": q["oracle_floor_seconds_run"] / q["windows"] * windows,
        "oracle_floor_gradients_window": q["oracle_floor_gradients_window"],
        "oracle_floor_over_classical": q["oracle_floor_over_classical"],
        "coherent_oracle_seconds": coherent,
        "coherent_toffolis_per_query": q["coherent_toffolis_per_query"],
        **{k: cl[k] for k in cl if k.startswith("classical_seconds")},
        "quantum_over_classical": ratio,
        "log10_quantum_over_classical": math.log10(ratio) if ratio > 0 else math.nan,
        "log10_computer_over_classical": math.log10(
            windows * q["quantum_seconds_window"] / cl["classical_seconds"]
        ),
        "carleman_order": q["carleman_order"],
        "carleman_order_source": q["carleman_order_source"],
        "kappa_L": q["kappa_L"],
        "kappa_effective": q["kappa_effective"],
        "rho": q["rho"],
        "dissipative_premise": q["dissipative_premise"],
        "premise_note": q["premise_note"],
        "kappa_source": q["kappa_source"],
        "epsilon_vector": q["epsilon_vector"],
        "estimator_method": q["estimator_method"],
        "estimator_note": q["estimator_note"],
        "assumptions": ms.describe(_ASSUMPTION_KEYS),
        "kind": "model",
    }


def n_grid(sweep: SweepSettings) -> list[int]:
    """The log-spaced n values of the sweeps."""
    grid = np.logspace(math.log10(sweep.n_min), math.log10(sweep.n_max), sweep.points)
    return [int(v) for v in np.unique(np.round(grid))]


def break_even_curves(p: Pricing) -> pd.DataFrame:
    """Quantum and classical wall-clock of the run versus n (log grid, the reference model's
    per-parameter assumptions and measured values) and of one window versus T (at the
    reference model's n), per scenario and qubit model, with the classical preparation of the
    oracle data (the floor). One row per (scenario, axis, x, qubit model)."""
    sweep, classical = p.sweep, p.classical
    ref = sweep.reference_model
    n_ref = int(classical_row(classical, ref, 0)["parameters"])
    rows = []
    for scenario in SCENARIOS:
        ms = p.scenario(ref, scenario)
        for qm in ms.qubit_models:
            for n in n_grid(sweep):
                name = ref if n == n_ref else None
                q = quantum_run(n, ms, qm, classical, name)
                cl = classical_seconds(n, ms.total_steps, ms, classical, name)
                rows.append(_curve_row(scenario, "n", n, n, ms.total_steps, qm, q, cl, "run"))
            for steps in sweep.steps_values:
                ts = replace(ms, steps_per_window=int(steps), total_steps=int(steps))
                q = quantum_run(n_ref, ts, qm, classical, ref)
                cl = classical_seconds(n_ref, int(steps), ts, classical, ref)
                rows.append(_curve_row(scenario, "T", steps, n_ref, steps, qm, q, cl, "window"))
    frame = pd.DataFrame(rows)
    frame.attrs["note"] = MODEL_NOTE
    return frame


def _curve_row(scenario, axis, x, n, steps, qm, q, cl, horizon) -> dict[str, Any]:
    quantum = q[f"quantum_total_seconds_{horizon}"]
    return {
        "scenario": scenario,
        "axis": axis,
        "x": float(x),
        "n": int(n),
        "steps": int(steps),
        "qubit_model": qm,
        "quantum_seconds": quantum,
        "quantum_computer_seconds": q[f"quantum_seconds_{horizon}"],
        "oracle_floor_seconds": q[f"oracle_floor_seconds_{horizon}"]
        if horizon == "run"
        else q["oracle_floor_seconds_run"] / q["windows"],
        "oracle_data": q["oracle_data"],
        "classical_seconds": cl["classical_seconds"],
        "quantum_over_classical": quantum / cl["classical_seconds"],
        "logical_qubits": q["logical_qubits"],
        "toffolis_per_shot": q["toffolis_per_shot"],
        "carleman_order": q["carleman_order"],
        "kappa_effective": q["kappa_effective"],
        "estimator_method": q["estimator_method"],
        "kind": "model",
    }


def break_even_summary(curves: pd.DataFrame) -> pd.DataFrame:
    """Per scenario, axis and qubit model: the smallest x where quantum wall-clock ≤ classical
    (log-log interpolated between grid points), or NaN with the statement that there is none
    in the swept range; the best ratio seen and where; the same for the oracle-data floor alone
    against the classical training."""
    rows = []
    keys = ["scenario", "axis", "qubit_model"] if "scenario" in curves else ["axis", "qubit_model"]
    for key, g in curves.groupby(keys, sort=False):
        key = dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True))
        g = g.sort_values("x")
        x = g["x"].to_numpy(float)
        ratio = g["quantum_over_classical"].to_numpy(float)
        crossing = _crossing(x, ratio)
        priced = bool(np.isfinite(ratio).any())  # not when every window map overflows
        best = int(np.nanargmin(np.where(np.isnan(ratio), np.inf, ratio))) if priced else 0
        axis = key["axis"]
        where = f"{axis} in [{x[0]:.3g}, {x[-1]:.3g}]"
        statement = (
            f"quantum faster from {axis} = {crossing:.3g}"
            if math.isfinite(crossing)
            else f"no crossing for {where}"
            if priced
            else f"not priced for {where}: the quantum run's counts are unbounded there"
        )
        row = {
            **key,
            "crossing": crossing,
            "x_min": x[0],
            "x_max": x[-1],
            "best_ratio": float(ratio[best]) if priced else math.nan,
            "best_at": float(x[best]) if priced else math.nan,
            "statement": statement,
            "kind": "model",
        }
        if "oracle_floor_seconds" in g:
            classical = g["classical_seconds"].to_numpy(float)
            floor = g["oracle_floor_seconds"].to_numpy(float) / classical
            alone = _crossing(x, g["quantum_computer_seconds"].to_numpy(float) / classical)
            row["crossing_computer_alone"] = alone
            row["floor_over_classical_min"] = float(np.nanmin(floor))
            row["floor_over_classical_max"] = float(np.nanmax(floor))
            row["statement_detail"] = (
                "the quantum computer alone (oracle data free): "
                + (f"faster from {axis} = {alone:.3g}" if math.isfinite(alone) else "no crossing")
                + f"; preparing the oracle data classically: {np.nanmin(floor):.3g}-"
                f"{np.nanmax(floor):.3g}x the classical training"
            )
        rows.append(row)
    return pd.DataFrame(rows)


def _crossing(x: np.ndarray, ratio: np.ndarray) -> float:
    below = np.flatnonzero(ratio <= 1)
    if not len(below):
        return math.nan
    i = int(below[0])
    if i == 0:
        return float(x[0])
    lx, lr = np.log(x[i - 1 : i + 1]), np.log(ratio[i - 1 : i + 1])
    return float(np.exp(lx[0] + (0 - lr[0]) * (lx[1] - lx[0]) / (lr[1] - lr[0])))
