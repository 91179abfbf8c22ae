"""Break-even tables, their figures and the claim rows C11 (two premises) and C14."""

from __future__ import annotations

import math
from dataclasses import replace

import matplotlib
import pandas as pd
import pytest

from qtrain.claims import HOLDS, INCONCLUSIVE, NOT_HOLDING, NOT_RUN, rows_to_frame
from qtrain.claims.costs import claim_c11_rows, claim_c14
from qtrain.quantum.break_even import (
    break_even_curves,
    break_even_summary,
    classical_seconds,
    resnet_cost_table,
    scaling_table,
    sensitivity_table,
)
from qtrain.quantum.cost_model import CostSettings, SweepSettings

matplotlib.use("Agg")
pytest.importorskip("qdk")

# a classical table as qtrain.learning.flops.classical_flops_table writes it (numbers chosen)
CLASSICAL = pd.DataFrame(
    [
        {
            "model_name": "small",
            "parameters": 20_000,
            "batch": 2048,
            "flops_per_step_dense": 2048 * 20_000 * 900.0,
            "flops_per_step_sparse": 2048 * 20_000 * 90.0,
            "flops_per_parameter_sample": 900.0,
        }
    ]
)
MODELS = {"small": 20_000}
SETTINGS = CostSettings(hessian_lambda_min=10.0, carleman_order=2, map_degree=2)
SWEEP = SweepSettings(
    n_min=1e3,
    n_max=1e6,
    points=7,
    fit_min_n=1e4,
    steps_values=(10, 100),
    reference_model="small",
    sensitivity={
        "epsilon": [0.1],
        "qubit_model": ["qubit_gate_ns_e4"],
        "gpu_sustained_tflops": [400.0],
        "data_loading": ["qram"],
    },
)


def test_classical_seconds_hand_count():
    out = classical_seconds(20_000, 400, SETTINGS, CLASSICAL, "small")
    assert out["classical_seconds_dense"] == pytest.approx(400 * 2048 * 20_000 * 900.0 / 200e12)
    assert out["classical_seconds"] == out["classical_seconds_dense"]
    other = classical_seconds(40_000, 1, SETTINGS, CLASSICAL)  # per-parameter scaling
    assert other["classical_flops_per_step_dense"] == pytest.approx(900.0 * 40_000 * 2048)
    sparse = classical_seconds(20_000, 1, replace(SETTINGS, classical_flops="sparse"), CLASSICAL)
    assert sparse["classical_seconds"] == pytest.approx(0.1 * out["classical_seconds"] / 400)


def test_resnet_table_rows_and_consistency():
    table = resnet_cost_table(SETTINGS, CLASSICAL, MODELS)
    assert len(table) == 2 * 2  # qubit models x horizons
    assert set(table["horizon"]) == {"window", "run"}
    run = table[(table["horizon"] == "run") & (table["qubit_model"] == "qubit_gate_ns_e3")].iloc[0]
    window = table[(table["horizon"] == "window") & (table["qubit_model"] == "qubit_gate_ns_e3")]
    assert run["quantum_total_seconds"] == pytest.approx(
        4 * window["quantum_total_seconds"].iloc[0]
    )
    assert run["quantum_over_classical"] == pytest.approx(
        run["quantum_total_seconds"] / run["classical_seconds"]
    )
    assert run["quantum_total_seconds"] == pytest.approx(
        run["quantum_seconds"] + run["preprocessing_seconds"]
    )
    assert run["dissipative_premise"] and run["physical_qubits"] > run["logical_qubits"]
    assert (table["kind"] == "model").all() and "not measurements" in table.attrs["note"]
    measured = resnet_cost_table(
        SETTINGS, CLASSICAL, MODELS, overrides={"small": {"hessian_lambda_min": -1.0}}
    )
    assert not measured["dissipative_premise"].any()
    assert measured["measured_inputs"].iloc[0] == "hessian_lambda_min"


def test_break_even_curves_and_summary():
    curves = break_even_curves(SETTINGS, SWEEP, CLASSICAL)
    assert set(curves["axis"]) == {"n", "T"}
    assert len(curves[curves["axis"] == "T"]) == 2 * 2
    summary = break_even_summary(curves)
    assert len(summary) == 4
    for row in summary.itertuples():
        assert math.isnan(row.crossing) == row.statement.startswith("no crossing")
    crossing = pd.DataFrame(
        {
            "axis": ["n"] * 3,
            "qubit_model": ["m"] * 3,
            "x": [1e2, 1e4, 1e6],
            "quantum_over_classical": [100.0, 10.0, 0.1],
        }
    )
    row = break_even_summary(crossing).iloc[0]
    assert row["crossing"] == pytest.approx(1e5)  # log-log midway between 10 and 0.1
    assert row["statement"].startswith("quantum faster")


def test_sensitivity_table_moves_one_assumption_at_a_time():
    table = sensitivity_table(SETTINGS, SWEEP, CLASSICAL, MODELS)
    base = table[table["assumption"] == "base"].iloc[0]
    assert base["log10_factor_ratio"] == 0
    gpu = table[table["assumption"] == "gpu_sustained_tflops"].iloc[0]
    assert gpu["log10_factor_quantum"] == pytest.approx(0.0, abs=1e-9)
    assert gpu["log10_factor_ratio"] == pytest.approx(math.log10(2))  # classical 2x faster
    eps = table[table["assumption"] == "epsilon"].iloc[0]
    assert eps["log10_factor_quantum"] < 0  # a looser epsilon is cheaper
    qm = table[table["assumption"] == "qubit_model"].iloc[0]
    assert qm["logical_qubits"] == base["logical_qubits"]


def test_scaling_table_slopes():
    table = scaling_table(SETTINGS, SWEEP, CLASSICAL)
    slopes = table.groupby("premise")[["slope_quantum", "slope_classical"]].first()
    assert slopes["slope_classical"].tolist() == pytest.approx([1.0] * 3)
    # reading out a fixed fraction of n adds exactly one power of n to the tomography copies
    diff = slopes.loc["fraction", "slope_quantum"] - slopes.loc["fixed", "slope_quantum"]
    assert diff == pytest.approx(1.0, abs=0.05)
    assert (table["slope_variant_min"] <= table["slope_quantum"]).all()
    assert (table["slope_variant_max"] >= table["slope_quantum"]).all()


def _scaling(slope: float, noise: float) -> pd.DataFrame:
    rows = []
    for premise, d in (("fixed", [1000, 1000]), ("fraction", [100, 1000])):
        for n, dd in zip((1000, 10_000), d, strict=True):
            rows.append(
                {
                    "premise": premise,
                    "n": n,
                    "readout_entries": dd,
                    "slope_quantum": slope + (premise == "fraction"),
                    "slope_variant_min": slope + (premise == "fraction") - noise,
                    "slope_variant_max": slope + (premise == "fraction") + noise,
                    "slope_classical": 1.0,
                    "slope_preprocessing": 2.0,
                    "fit_min_n": 1000,
                    "epsilon": 0.01,
                }
            )
    return pd.DataFrame(rows)


def test_claim_c11_two_rows_with_three_verdicts():
    rows = claim_c11_rows(_scaling(0.1, 0.05))
    assert [r.claim_id for r in rows] == ["C11", "C11"]
    assert "fixed number" in rows[0].claim and "fraction" in rows[1].claim
    assert rows[0].verdict == HOLDS and rows[1].verdict == NOT_HOLDING
    assert rows[0].margin.startswith("0.4") and rows[0].noise.startswith("0.1")
    assert claim_c11_rows(_scaling(0.4, 0.3))[0].verdict == INCONCLUSIVE
    assert claim_c11_rows(_scaling(3.0, 0.5))[0].verdict == NOT_HOLDING
    assert claim_c11_rows(_scaling(0.1, 0.05).iloc[0:0])[0].verdict == NOT_RUN
    frame = rows_to_frame(rows)
    assert list(frame["claim_id"]) == ["C11", "C11"]


def _c14_tables(log_ratio: float, spread: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    resnets = pd.DataFrame(
        [
            {
                "model_name": "m",
                "n": 1000,
                "horizon": "run",
                "steps": 400,
                "qubit_model": "q",
                "quantum_total_seconds": 10.0**log_ratio,
                "preprocessing_seconds": 0.0,
                "physical_qubits": 1e6,
                "code_distance": 21,
                "classical_seconds": 1.0,
                "log10_quantum_over_classical": log_ratio,
                "premise_note": "dissipative premise holds",
            }
        ]
    )
    sens = pd.DataFrame(
        {
            "model_name": ["m"] * 3,
            "assumption": ["base", "epsilon", "qubit_model"],
            "value": ["configured", "0.1", "e4"],
            "log10_factor_ratio": [0.0, -spread, -100.0],
        }
    )
    return resnets, sens


def test_claim_c14_verdicts():
    assert claim_c14(*_c14_tables(-3.0, -1.0)).verdict == HOLDS  # a variant 10x worse
    row = claim_c14(*_c14_tables(30.0, 5.0))  # 10^30 slower; the best variant gains 10^5
    assert row.verdict == NOT_HOLDING
    assert "10^30" in row.value and "epsilon = 0.1" in row.value
    assert row.noise.startswith("m/q: 5")  # the qubit-model variant is not noise
    assert claim_c14(*_c14_tables(2.0, 5.0)).verdict == INCONCLUSIVE
    # only moves towards the boundary count: a variant 10^40 faster does not blur "holds",
    # one 10^40 slower does
    assert claim_c14(*_c14_tables(-3.0, 40.0)).verdict == HOLDS
    assert claim_c14(*_c14_tables(-3.0, -40.0)).verdict == INCONCLUSIVE
    assert claim_c14(*_c14_tables(-0.3, 0.0)).verdict == INCONCLUSIVE  # inside the tolerance
    empty = claim_c14(_c14_tables(1.0, 1.0)[0].iloc[0:0], _c14_tables(1.0, 1.0)[1])
    assert empty.verdict == NOT_RUN


def test_figures_say_model_not_measurement():
    from qtrain.figures.costs import plot_break_even, plot_sensitivity

    curves = break_even_curves(SETTINGS, SWEEP, CLASSICAL)
    fig = plot_break_even(curves, break_even_summary(curves), MODELS)
    assert "not measurement" in fig._suptitle.get_text()
    sens = sensitivity_table(SETTINGS, SWEEP, CLASSICAL, MODELS)
    fig = plot_sensitivity(sens)
    assert "not measurement" in fig._suptitle.get_text()
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert "data_loading = qram" in labels
