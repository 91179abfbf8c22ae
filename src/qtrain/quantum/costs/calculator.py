"""Pricing quantum against classical training of any model: the engine of ``qtrain-cost``.

Given a parameter count n and the counted FLOPs of one training sample (forward + backward),
:func:`price` runs the same costed algorithm as the cost stage (:func:`~qtrain.quantum.costs.
break_even.quantum_run`: the window of :mod:`~qtrain.quantum.costs.window`, qdk's estimator)
under each scenario and returns the decomposition of quantum / classical wall-clock with its
marks and a summary. No second implementation: only the classical table is built here, from
the model's counts. Counting FLOPs needs torch and lives in :mod:`qtrain.learning.flops`; the
command line (:mod:`qtrain.cost_cli`) connects the two.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from qtrain.quantum.costs.analysis import decomposition_rows
from qtrain.quantum.costs.break_even import classical_seconds, quantum_run
from qtrain.quantum.costs.settings import (
    MODEL_NOTE,
    SCENARIOS,
    CostSettings,
    SweepSettings,
    apply_overrides,
    scenario_settings,
    settings_from_config,
)

__all__ = ["calculator_settings", "classical_table", "format_table", "price"]


def calculator_settings(
    config: str | Path | None = None, overrides: Mapping[str, Any] | None = None
) -> tuple[CostSettings, SweepSettings]:
    """The calculator's assumptions: ``quantum.resources`` (and ``sparse_train.window_space``)
    of a config file (a preset overlay is merged onto the ``config.yaml`` beside it), or the
    defaults of :class:`CostSettings` / :class:`SweepSettings` (the paper preset's values);
    then ``overrides`` (CostSettings keys)."""
    if config is None:
        s, sweep = CostSettings(), SweepSettings()
    else:
        import yaml

        from qtrain.run.config import merge_config

        path = Path(config)
        cfg = yaml.safe_load(path.read_text())
        base = path.with_name("config.yaml")
        if base.exists() and base.resolve() != path.resolve():
            cfg = merge_config(yaml.safe_load(base.read_text()), cfg)
        window = cfg.get("sparse_train", {}).get("window_space")
        s, sweep = settings_from_config(cfg["quantum"]["resources"], window)
    return apply_overrides(s, dict(overrides or {})), sweep


def classical_table(
    name: str, parameters: int, flops_per_sample: float, s: CostSettings
) -> pd.DataFrame:
    """A one-row classical table (the columns of ``classical_flops_table``) from counts: dense
    FLOPs per step = FLOPs per sample × batch + 2 per parameter (the update); ideal sparse =
    dense × ``support_fraction`` (an approximation: the per-layer densities are unknown)."""
    dense = flops_per_sample * s.classical_batch + 2 * parameters
    return pd.DataFrame(
        [
            {
                "model_name": name,
                "parameters": int(parameters),
                "batch": s.classical_batch,
                "flops_per_step_dense": dense,
                "flops_per_step_sparse": dense * s.support_fraction,
                "flops_per_parameter_sample": flops_per_sample / parameters,
            }
        ]
    )


def price(
    parameters: int,
    flops_per_sample: float,
    s: CostSettings,
    sweep: SweepSettings,
    name: str = "model",
    scenarios: Sequence[str] = SCENARIOS,
    qubit_model: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(decomposition, summary) of the quantum / classical wall-clock of a run of
    ``total_steps`` steps for a model of ``parameters`` parameters and ``flops_per_sample``
    counted FLOPs per sample, under each of ``scenarios`` (its headline qubit model, or
    ``qubit_model``). The decomposition's factors (decades, with marks) add up to its
    ``total`` row; the summary has one row per scenario."""
    if parameters < 2 or not flops_per_sample > 0:
        raise ValueError(
            f"need parameters >= 2 and FLOPs per sample > 0, got {parameters}, {flops_per_sample}"
        )
    classical = classical_table(name, parameters, flops_per_sample, s)
    rows, summary = [], []
    for scenario in scenarios:
        ms = scenario_settings(s, sweep, scenario)
        qm = qubit_model or ms.qubit_models[0]
        q = quantum_run(parameters, ms, qm, classical, name, alternatives=True)
        cl = classical_seconds(parameters, ms.total_steps, ms, classical, name)
        total = q["quantum_total_seconds_run"] / cl["classical_seconds"]
        head = {
            "model_name": name,
            "parameters": parameters,
            "scenario": scenario,
            "qubit_model": qm,
        }
        rows += decomposition_rows(head, q, ms, cl["classical_seconds"])
        summary.append(
            {
                **head,
                "flops_per_sample": flops_per_sample,
                "support": q["support"],
                "readout_entries": q["readout_entries"],
                "steps": ms.total_steps,
                "window_steps": ms.steps_per_window,
                "epsilon": ms.epsilon,
                "quantum_seconds": q["quantum_total_seconds_run"],
                "quantum_computer_seconds": q["quantum_seconds_run"],
                "oracle_data": q["oracle_data"],
                "oracle_floor_seconds": q["oracle_floor_seconds_run"],
                "oracle_floor_over_classical": q["oracle_floor_over_classical"],
                "coherent_oracle_seconds": q["coherent_quantum_seconds_run"],
                "classical_seconds": cl["classical_seconds"],
                "log10_quantum_over_classical": math.log10(total),
                "logical_qubits": q["logical_qubits"],
                "physical_qubits": q["physical_qubits"],
                "code_distance": q["code_distance"],
                "carleman_order": q["carleman_order"],
                "premise_note": q["premise_note"],
                "kind": "model",
            }
        )
    table, summ = pd.DataFrame(rows), pd.DataFrame(summary)
    table.attrs["note"] = summ.attrs["note"] = MODEL_NOTE
    return table, summ


def format_table(table: pd.DataFrame, summary: pd.DataFrame) -> str:
    """The decomposition as text: one row per factor, one column of decades and one of marks
    per scenario, then the wall-clock lines."""
    scenarios = list(summary["scenario"])
    width = 22
    head = f"{'factor':<22}" + "".join(f"{sc + ' (decades)':>{width}}" for sc in scenarios)
    head += "".join(f"  {'mark, ' + sc:<30}" for sc in scenarios)
    lines = [head, "-" * len(head)]
    for factor in table["factor"].drop_duplicates():
        part = table[table["factor"] == factor].set_index("scenario")
        cells = "".join(f"{part.loc[sc, 'log10']:>+{width}.2f}" for sc in scenarios)
        marks = "".join(f"  {part.loc[sc, 'mark']:<30}" for sc in scenarios)
        lines.append(f"{factor:<22}{cells}{marks}".rstrip())
    lines.append("-" * len(head))
    rows = {
        "qubit model": ("qubit_model", "{}"),
        "quantum wall-clock (s)": ("quantum_seconds", "{:.3g}"),
        "  quantum computer (s)": ("quantum_computer_seconds", "{:.3g}"),
        "  oracle data": ("oracle_data", "{}"),
        "oracle floor/classical": ("oracle_floor_over_classical", "{:.3g}"),
        "coherent oracle (s)": ("coherent_oracle_seconds", "{:.3g}"),
        "classical (s)": ("classical_seconds", "{:.3g}"),
        "physical qubits": ("physical_qubits", "{:.3g}"),
        "code distance": ("code_distance", "{:.0f}"),
    }
    for label, (col, form) in rows.items():
        cells = "".join(f"{form.format(v):>{width}}" for v in summary[col])
        lines.append(f"{label:<22}{cells}")
    return "\n".join(lines)
