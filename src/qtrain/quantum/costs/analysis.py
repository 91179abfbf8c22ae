"""What the verdicts read: the decomposition and the waterfall from the base to the favourable
bound, the sensitivity of each scenario, and the n-scaling under each premise (C11).

- :func:`decomposition_table`: per model and scenario (its headline qubit model), the run's
  log10(quantum / classical wall-clock) as a sum of factors, each marked "premise violated by
  ResNets", "algorithmic necessity" or "assumption" (:func:`~qtrain.quantum.costs.window.
  decomposition`).
- :func:`waterfall_table`: the favourable bound reached from the base one group of assumptions
  at a time (SPEC §1.7's list, in a fixed order), each step's change in decades and its mark.
- :func:`sensitivity_table`: one assumption at a time; the base over ``sensitivity``, the
  favourable bound over its plausible variants ``favourable_variants`` (C14's noise).
- :func:`scaling_table`: logical Toffolis versus n under the theorem's premise and under the
  measured ResNet structure, each computed under its own premise (C11), with slope spreads.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, replace
from typing import Any

import numpy as np
import pandas as pd

from qtrain.quantum.costs.break_even import (
    Pricing,
    classical_row,
    classical_seconds,
    n_grid,
    quantum_run,
)
from qtrain.quantum.costs.primitives import ceil_log2
from qtrain.quantum.costs.settings import (
    MODEL_NOTE,
    SCENARIOS,
    THEOREM_PREMISE,
    CostSettings,
    apply_overrides,
)
from qtrain.quantum.costs.window import ASSUMPTION, NECESSITY, PREMISE, decomposition, window_cost

__all__ = [
    "CLASSICAL_ONLY",
    "LOGICAL_ONLY",
    "SCALING_PREMISES",
    "WATERFALL_STEPS",
    "decomposition_rows",
    "decomposition_table",
    "scaling_table",
    "sensitivity_table",
    "waterfall_table",
]

#: Sensitivity keys that move only the classical side / only the physical layer.
CLASSICAL_ONLY = ("gpu_sustained_tflops", "classical_flops")
LOGICAL_ONLY = ("qubit_model", "parallel_quantum_computers", "error_share_physical")

#: The waterfall's steps from the base to the favourable bound: (label, settings, mark, why).
#: Settings the favourable bound changes that no step names get a step of their own.
WATERFALL_STEPS: tuple[tuple[str, tuple[str, ...], str, str], ...] = (
    (
        "lambda_min >= 0",
        ("hessian_lambda_min",),
        PREMISE,
        "no divergent modes: the dissipative premise (ResNet spectra have lambda_min < 0)",
    ),
    (
        "polylog non-zeros per row, sparse access",
        ("sparsity_premise", "block_encoding", "entry_max_over_rms"),
        PREMISE,
        "the theorem's sparsity (a pruned ResNet's Hessian is dense among the evolved weights)",
    ),
    (
        "small fixed read-out",
        ("readout", "readout_entries", "readout_fraction"),
        PREMISE,
        "the theorem reads d entries; the paper's download reads 10% of n",
    ),
    (
        "support-only windows",
        ("window_space", "support_fraction"),
        ASSUMPTION,
        "windows evolve only the kept weights (the pipeline's default evolves all)",
    ),
    (
        "unit-cost QRAM",
        ("data_loading", "qram_toffolis_per_address_bit"),
        ASSUMPTION,
        "a QRAM whose routing is free and whose device is not counted",
    ),
    (
        "Heisenberg-limited read-out",
        ("tomography", "heisenberg_constant"),
        ASSUMPTION,
        "l-inf then l2 tomography at ~d/eps, logs and constants taken as 1",
    ),
    (
        "small Hessian norm",
        ("hessian_lambda_rms", "gradient_norm", "higher_order_norm_ratio"),
        ASSUMPTION,
        "the low end of the assumed rms eigenvalue (subnormalisation)",
    ),
    (
        "cheapest oracle data",
        ("oracle_data", "coherent_oracle_bits"),
        NECESSITY,
        "the oracle data must be prepared: the cheaper of classical and coherent is kept",
    ),
    ("fast qubit model", ("qubit_model",), ASSUMPTION, "the faster of the qubit models"),
    (
        "slowest GPU",
        ("gpu_sustained_tflops",),
        ASSUMPTION,
        "the classical side at the low end of its throughput range",
    ),
)

#: C11's premises: the theorem's (its own row), with QROM data (context), the measured
#: ResNet structure (the configured base: its own row).
SCALING_PREMISES = ("theorem", "theorem_qrom", "measured_structure")


def _evaluate(n, ms, qm, classical, name) -> dict[str, Any]:
    q = quantum_run(n, ms, qm, classical, name)
    cl = classical_seconds(n, ms.total_steps, ms, classical, name)
    return {
        "quantum_seconds": q["quantum_total_seconds_run"],
        "quantum_computer_seconds": q["quantum_seconds_run"],
        "oracle_floor_seconds": q["oracle_floor_seconds_run"],
        "classical_seconds": cl["classical_seconds"],
        "toffolis": q["toffolis_run"],
        "logical_qubits": q["logical_qubits"],
        "physical_qubits": q["physical_qubits"],
        "carleman_order": q["carleman_order"],
        "q": q,
    }


def decomposition_rows(
    head: Mapping[str, Any], q: Mapping[str, Any], s: CostSettings, classical_seconds: float
) -> list[dict[str, Any]]:
    """The factors of :func:`~qtrain.quantum.costs.window.decomposition` and their ``total``
    row (the run's quantum / classical wall-clock), each row with ``head``'s columns first."""
    total = q["quantum_total_seconds_run"] / classical_seconds
    factors = decomposition(q, s, classical_seconds)
    why = "quantum / classical wall-clock of the run"
    return [{**head, **f} for f in factors] + [
        {
            **head,
            "factor": "total",
            "value": total,
            "log10": math.log10(total),
            "mark": "",
            "why": why,
        }
    ]


def decomposition_table(p: Pricing) -> pd.DataFrame:
    """Per model and scenario (its headline qubit model): every factor of the run's
    quantum/classical wall-clock in decades with its mark, and a ``total`` row (their sum)."""
    rows = []
    for name, n in p.models.items():
        for scenario in SCENARIOS:
            ms = p.scenario(name, scenario)
            qm = ms.qubit_models[0]
            res = _evaluate(n, ms, qm, p.classical, name)
            base = {"model_name": name, "n": n, "scenario": scenario, "qubit_model": qm}
            rows += decomposition_rows(base, res["q"], ms, res["classical_seconds"])
    frame = pd.DataFrame(rows)
    frame.attrs["note"] = MODEL_NOTE
    return frame


def _changes(base: CostSettings, fav: CostSettings) -> dict[str, Any]:
    a, b = asdict(base), asdict(fav)
    out = {k: b[k] for k in a if k != "qubit_models" and a[k] != b[k]}
    if base.qubit_models[0] != fav.qubit_models[0]:
        out["qubit_model"] = fav.qubit_models[0]
    return out


def waterfall_table(p: Pricing) -> pd.DataFrame:
    """From the base (its headline qubit model) to the favourable bound, one group of
    :data:`WATERFALL_STEPS` at a time (cumulative): the run's log10(quantum / classical) after
    each step and the step's change in decades, with its mark. The last row reaches the
    favourable bound exactly."""
    rows = []
    classical = p.classical
    for name, n in p.models.items():
        base, fav = p.scenario(name, "base"), p.scenario(name, "favourable")
        changes = _changes(base, fav)
        steps = [
            (lab, {k: changes.pop(k) for k in keys if k in changes}, mark, why)
            for lab, keys, mark, why in WATERFALL_STEPS
        ]
        steps += [(k, {k: v}, ASSUMPTION, "favourable override") for k, v in changes.items()]
        current = base
        res = _evaluate(n, current, current.qubit_models[0], classical, name)
        level = math.log10(res["quantum_seconds"] / res["classical_seconds"])
        rows.append(_step_row(name, n, 0, "base", "", "", {}, level, 0.0, current))
        for i, (label, change, mark, why) in enumerate(st for st in steps if st[1]):
            current = apply_overrides(current, change)
            res = _evaluate(n, current, current.qubit_models[0], classical, name)
            new = math.log10(res["quantum_seconds"] / res["classical_seconds"])
            rows.append(
                _step_row(name, n, i + 1, label, mark, why, change, new, new - level, current)
            )
            level = new
    frame = pd.DataFrame(rows)
    frame.attrs["note"] = MODEL_NOTE
    return frame


def _step_row(name, n, i, label, mark, why, change, level, delta, ms) -> dict[str, Any]:
    return {
        "model_name": name,
        "n": n,
        "step": i,
        "label": label,
        "change": "; ".join(f"{k}={v}" for k, v in change.items()),
        "mark": mark,
        "why": why,
        "log10_ratio": level,
        "log10_change": delta,
        "qubit_model": ms.qubit_models[0],
        "kind": "model",
    }


def _variants(values: Mapping[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    out = []
    for key, options in values.items():
        for value in options:
            if key == "qubit_model":
                out.append((key, str(value), {"qubit_model": str(value)}))
            else:
                out.append((key, str(value), {key: value}))
    return out


def sensitivity_table(p: Pricing) -> pd.DataFrame:
    """The run's quantum wall-clock and its ratio to the classical one when one assumption at
    a time takes each listed value: the base over ``sweep.sensitivity``, the favourable bound
    over ``sweep.favourable_variants``, each against its own scenario (headline qubit model).
    One row per model, scenario, assumption and value."""
    rows = []
    classical = p.classical
    lists = {"base": p.sweep.sensitivity, "favourable": p.sweep.favourable_variants}
    for name, n in p.models.items():
        for scenario in SCENARIOS:
            ms0 = p.scenario(name, scenario)
            base = _evaluate(n, ms0, ms0.qubit_models[0], classical, name)
            base.pop("q")
            base_ratio = base["quantum_seconds"] / base["classical_seconds"]
            part = [{"assumption": "base", "value": "configured", **base}]
            for key, label, change in _variants(lists[scenario]):
                ms = apply_overrides(ms0, change)
                res = _evaluate(n, ms, ms.qubit_models[0], classical, name)
                res.pop("q")
                part.append({"assumption": key, "value": label, **res})
            for row in part:
                ratio = row["quantum_seconds"] / row["classical_seconds"]
                row.update(
                    model_name=name,
                    scenario=scenario,
                    quantum_over_classical=ratio,
                    log10_factor_quantum=math.log10(
                        row["quantum_seconds"] / base["quantum_seconds"]
                    ),
                    log10_factor_ratio=math.log10(ratio / base_ratio),
                    kind="model",
                )
            rows += part
    frame = pd.DataFrame(rows)
    first = ["model_name", "scenario", "assumption", "value"]
    frame = frame[first + [c for c in frame.columns if c not in first]]
    frame.attrs["note"] = MODEL_NOTE
    return frame


def _premise_settings(s: CostSettings, premise: str) -> CostSettings:
    if premise == "theorem":
        return apply_overrides(s, THEOREM_PREMISE)
    if premise == "theorem_qrom":
        return apply_overrides(s, {**THEOREM_PREMISE, "data_loading": "qrom"})
    return s


#: Per premise, the settings a sensitivity variant may not change (they define the premise;
#: a fixed read-out of d entries excludes a read-out that estimates every entry).
_READOUT = ("tomography", "heisenberg_constant")
_PREMISE_KEYS = {
    "theorem": (*THEOREM_PREMISE, "qram_toffolis_per_address_bit", *_READOUT),
    "theorem_qrom": (*THEOREM_PREMISE, "qrom_max_ancilla_qubits", *_READOUT),
    "measured_structure": ("sparsity_premise", "readout", "window_space"),
}


def scaling_table(p: Pricing) -> pd.DataFrame:
    """The n-dependence behind C11, each premise priced under its own assumptions: ``theorem``
    (polylog non-zeros per row, sparse access at polylog cost per query, a fixed read-out,
    λ_min ≥ 0), ``theorem_qrom`` (the same with the data loaded by counted QROM: context) and
    ``measured_structure`` (the configured base: a dense Hessian among the evolved weights,
    the paper's read-out). Logical Toffolis of the run, classical FLOPs of the run and of the
    oracle data's classical preparation on the n grid; log-log slopes over n ≥ ``fit_min_n``;
    ``slope_variant_min/max``: the slope's range over the sensitivity variants that stay
    inside the premise (one assumption at a time). The base is the configured settings with
    the reference model's measured values."""
    sweep = p.sweep
    ms = apply_overrides(p.settings, dict(p.reference_measured))
    row0 = classical_row(p.classical, sweep.reference_model, 0)
    grid = n_grid(sweep)
    rows = []
    for premise in SCALING_PREMISES:
        ps = _premise_settings(ms, premise)
        curve = [window_cost(n, replace(ps, oracle_data="classical")) for n in grid]
        tof = [r["toffolis_run"] for r in curve]
        pre = [r["preprocessing_gradients_run"] for r in curve]
        slope = _slope(grid, tof, sweep.fit_min_n)
        lowest = highest = slope
        skip = (*CLASSICAL_ONLY, *LOGICAL_ONLY, *_PREMISE_KEYS[premise])
        for key, _, change in _variants(sweep.sensitivity):
            if key in skip:
                continue
            vs = replace(apply_overrides(ps, change), oracle_data="classical")
            vslope = _slope(
                grid, [window_cost(n, vs)["toffolis_run"] for n in grid], sweep.fit_min_n
            )
            if math.isfinite(vslope):
                lowest, highest = min(lowest, vslope), max(highest, vslope)
        per_gradient = float(row0["flops_per_parameter_sample"]) * ps.classical_batch
        pre_flops = [p * per_gradient * n for n, p in zip(grid, pre, strict=True)]
        classical_run = [per_gradient * n * ps.total_steps for n in grid]
        slopes = {
            "slope_quantum": slope,
            "slope_preprocessing": _slope(grid, pre_flops, sweep.fit_min_n),
            "slope_classical": _slope(grid, classical_run, sweep.fit_min_n),
            "slope_variant_min": lowest,
            "slope_variant_max": highest,
        }
        for n, r, t, p, c in zip(grid, curve, tof, pre_flops, classical_run, strict=True):
            rows.append(
                {
                    "premise": premise,
                    "n": n,
                    "param_qubits": ceil_log2(n),
                    "support": r["support"],
                    "nnz_per_row": r["nnz_per_row"],
                    "readout_entries": r["readout_entries"],
                    "data_loading": ps.data_loading,
                    "quantum_toffolis": t,
                    "preprocessing_flops": p,
                    "classical_flops": c,
                    **slopes,
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
