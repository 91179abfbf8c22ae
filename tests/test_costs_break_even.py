"""Break-even, decomposition, waterfall, sensitivity and scaling tables, their figures and the
claim rows C11 (one per premise) and C14 (on the favourable bound)."""

from __future__ import annotations

import io
import math
from dataclasses import replace

import matplotlib
import pandas as pd
import pytest

from qtrain.claims import COST_MODEL_FAILS, HOLDS, INCONCLUSIVE, NOT_RUN, rows_to_frame
from qtrain.claims.costs import claim_c11_rows, claim_c14
from qtrain.quantum.costs.analysis import (
    decomposition_table,
    scaling_table,
    sensitivity_table,
    waterfall_table,
)
from qtrain.quantum.costs.break_even import (
    Pricing,
    break_even_curves,
    break_even_summary,
    classical_seconds,
    quantum_run,
    resnet_cost_table,
)
from qtrain.quantum.costs.settings import CostSettings, SweepSettings
from qtrain.quantum.costs.window import MARKS

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
FAVOURABLE = {
    "hessian_lambda_min": 20.0,
    "sparsity_premise": "polylog",
    "block_encoding": "sparse_access",
    "readout": "fixed",
    "readout_entries": 10,
    "window_space": "support",
    "data_loading": "qram",
    "tomography": "linf_then_l2",
    "oracle_data": "cheapest",
    "qubit_model": "qubit_gate_ns_e4",
    "gpu_sustained_tflops": 50.0,
}
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
    favourable=FAVOURABLE,
    favourable_variants={"readout_entries": [1, 100], "epsilon": [0.1]},
)
PRICING = Pricing(SETTINGS, SWEEP, CLASSICAL, MODELS)


def test_classical_seconds_hand_count():
    out = classical_seconds(20_000, 400, SETTINGS, CLASSICAL, "small")
    assert out["classical_seconds_dense"] == pytest.approx(400 * 2048 * 20_000 * 900.0 / 200e12)
    assert out["classical_seconds"] == out["classical_seconds_dense"]
    assert out["gradient_flops"] == pytest.approx(2048 * 20_000 * 900.0)
    other = classical_seconds(40_000, 1, SETTINGS, CLASSICAL)  # per-parameter scaling
    assert other["classical_flops_per_step_dense"] == pytest.approx(900.0 * 40_000 * 2048)
    sparse = classical_seconds(20_000, 1, replace(SETTINGS, classical_flops="sparse"), CLASSICAL)
    assert sparse["classical_seconds"] == pytest.approx(0.1 * out["classical_seconds"] / 400)


def test_quantum_run_prices_the_oracle_data_both_ways():
    s = replace(SETTINGS, **{k: v for k, v in FAVOURABLE.items() if k != "qubit_model"})
    q = quantum_run(20_000, s, "qubit_gate_ns_e4", CLASSICAL, "small")
    # cheapest: the classical floor here; the coherent alternative is priced beside it
    assert q["oracle_data"] == "classical"
    assert q["coherent_quantum_seconds_run"] > q["quantum_total_seconds_run"]
    floor = q["preprocessing_gradients_window"] * q["seconds_per_gradient"]
    assert q["preprocessing_seconds_window"] == pytest.approx(floor)
    assert q["oracle_floor_over_classical"] == pytest.approx(
        q["preprocessing_gradients_window"] / 100
    )
    coherent = quantum_run(
        20_000, replace(s, oracle_data="coherent"), "qubit_gate_ns_e4", CLASSICAL, "small"
    )
    assert coherent["oracle_data"] == "coherent" and coherent["preprocessing_seconds_run"] == 0
    assert coherent["quantum_total_seconds_run"] == pytest.approx(q["coherent_quantum_seconds_run"])


def test_resnet_table_rows_and_consistency():
    table = resnet_cost_table(PRICING)
    assert len(table) == 2 * 2 * 2  # scenarios x qubit models x horizons
    assert set(table["scenario"]) == {"base", "favourable"}
    head = table[table["headline"]]
    assert set(zip(head["scenario"], head["qubit_model"], strict=True)) == {
        ("base", "qubit_gate_ns_e3"),
        ("favourable", "qubit_gate_ns_e4"),
    }
    for scenario in ("base", "favourable"):
        part = table[(table["scenario"] == scenario) & table["headline"]]
        run = part[part["horizon"] == "run"].iloc[0]
        window = part[part["horizon"] == "window"].iloc[0]
        assert run["quantum_total_seconds"] == pytest.approx(4 * window["quantum_total_seconds"])
        assert run["quantum_over_classical"] == pytest.approx(
            run["quantum_total_seconds"] / run["classical_seconds"]
        )
        assert run["quantum_total_seconds"] == pytest.approx(
            run["quantum_seconds"] + run["preprocessing_seconds"]
        )
    fav = table[(table["scenario"] == "favourable") & (table["horizon"] == "run")].iloc[0]
    base = table[(table["scenario"] == "base") & (table["horizon"] == "run")].iloc[0]
    assert fav["support"] == 2000 and base["support"] == 20_000
    assert fav["readout_entries"] == 10
    assert fav["quantum_over_classical"] < base["quantum_over_classical"]
    assert (table["kind"] == "model").all() and "not measurements" in table.attrs["note"]
    measured = resnet_cost_table(replace(PRICING, measured={"small": {"hessian_lambda_min": -1.0}}))
    assert not measured[measured["scenario"] == "base"]["dissipative_premise"].any()
    assert measured[measured["scenario"] == "favourable"]["dissipative_premise"].all()
    assert measured["measured_inputs"].iloc[0] == "hessian_lambda_min"


def test_decomposition_multiplies_back_to_the_total():
    table = decomposition_table(PRICING)
    for scenario, g in table.groupby("scenario"):
        factors = g[g["factor"] != "total"]
        total = g[g["factor"] == "total"]["log10"].iloc[0]
        assert factors["log10"].sum() == pytest.approx(total, abs=1e-9), scenario
        assert set(factors["mark"]) <= set(MARKS)
        assert math.prod(factors["value"]) == pytest.approx(10**total, rel=1e-9)
    base = table[(table["scenario"] == "base") & (table["factor"] == "readout_entries")]
    assert base["mark"].iloc[0] == "premise violated by ResNets"
    assert base["value"].iloc[0] == 2000  # 10% of n


def test_waterfall_reaches_the_favourable_bound_and_never_climbs():
    steps = waterfall_table(PRICING)
    resnets = resnet_cost_table(PRICING)
    run = resnets[(resnets["horizon"] == "run") & resnets["headline"]]
    base = run[run["scenario"] == "base"]["log10_quantum_over_classical"].iloc[0]
    fav = run[run["scenario"] == "favourable"]["log10_quantum_over_classical"].iloc[0]
    assert steps["log10_ratio"].iloc[0] == pytest.approx(base)
    assert steps["log10_ratio"].iloc[-1] == pytest.approx(fav)
    assert steps["log10_change"].iloc[1:].sum() == pytest.approx(fav - base)
    # every assumption moved to its quantum-friendly end lowers the ratio (or keeps it)
    assert (steps["log10_change"] <= 1e-9).all()
    assert set(steps["mark"].iloc[1:]) <= set(MARKS)
    labels = list(steps["label"])
    assert labels[1] == "lambda_min >= 0" and "fast qubit model" in labels


def test_break_even_curves_and_summary():
    curves = break_even_curves(PRICING)
    assert set(curves["axis"]) == {"n", "T"} and set(curves["scenario"]) == {"base", "favourable"}
    assert len(curves[(curves["axis"] == "T") & (curves["scenario"] == "base")]) == 2 * 2
    summary = break_even_summary(curves)
    assert len(summary) == 2 * 2 * 2
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
    # unbounded counts everywhere (every window map overflows): said, not an All-NaN error;
    # a NaN point among finite ones is skipped
    unpriced = crossing.assign(quantum_over_classical=[math.nan, math.inf, math.nan])
    row = break_even_summary(unpriced).iloc[0]
    assert row["statement"].startswith("not priced for n in") and math.isnan(row["best_ratio"])
    gap = crossing.assign(quantum_over_classical=[math.nan, 10.0, 20.0])
    row = break_even_summary(gap).iloc[0]
    assert row["best_ratio"] == 10.0 and row["statement"].startswith("no crossing")


def test_sensitivity_table_moves_one_assumption_at_a_time():
    table = sensitivity_table(PRICING)
    base_part = table[table["scenario"] == "base"]
    base = base_part[base_part["assumption"] == "base"].iloc[0]
    assert base["log10_factor_ratio"] == 0
    gpu = base_part[base_part["assumption"] == "gpu_sustained_tflops"].iloc[0]
    assert gpu["log10_factor_quantum"] == pytest.approx(0.0, abs=1e-9)
    assert gpu["log10_factor_ratio"] == pytest.approx(math.log10(2))  # classical 2x faster
    eps = base_part[base_part["assumption"] == "epsilon"].iloc[0]
    assert eps["log10_factor_quantum"] < 0  # a looser epsilon is cheaper
    qm = base_part[base_part["assumption"] == "qubit_model"].iloc[0]
    assert qm["logical_qubits"] == base["logical_qubits"]
    fav = table[table["scenario"] == "favourable"]
    assert set(fav["assumption"]) == {"base", "readout_entries", "epsilon"}
    entries = fav[fav["assumption"] == "readout_entries"].set_index("value")
    assert entries.loc["1", "log10_factor_ratio"] < 0 < entries.loc["100", "log10_factor_ratio"]


def test_scaling_table_each_premise_under_its_own_assumptions():
    table = scaling_table(PRICING)
    slopes = table.groupby("premise")[["slope_quantum", "slope_classical"]].first()
    assert set(slopes.index) == {"theorem", "theorem_qrom", "measured_structure"}
    assert slopes["slope_classical"].tolist() == pytest.approx([1.0] * 3)
    theorem = table[table["premise"] == "theorem"]
    measured = table[table["premise"] == "measured_structure"]
    # the theorem's premise: log2 n non-zeros per row, a fixed read-out, QRAM-priced access
    assert (theorem["nnz_per_row"] == theorem["param_qubits"]).all()
    assert (theorem["readout_entries"] == 1000).all() and (theorem["data_loading"] == "qram").all()
    # the measured structure: dense among the evolved weights (s = n), 10% of n read out
    assert (measured["nnz_per_row"] == measured["n"]).all()
    assert (
        slopes.loc["theorem", "slope_quantum"] < 0.5 < slopes.loc["theorem_qrom", "slope_quantum"]
    )
    assert slopes.loc["measured_structure", "slope_quantum"] > 2
    assert (table["slope_variant_min"] <= table["slope_quantum"] + 1e-12).all()
    assert (table["slope_variant_max"] >= table["slope_quantum"] - 1e-12).all()


def _scaling(slope: float, noise: float, measured_slope: float = 4.0) -> pd.DataFrame:
    rows = []
    for premise, value, d in (
        ("theorem", slope, [1000, 1000]),
        ("theorem_qrom", 0.9, [1000, 1000]),
        ("measured_structure", measured_slope, [100, 1000]),
    ):
        for n, dd in zip((1000, 10_000), d, strict=True):
            rows.append(
                {
                    "premise": premise,
                    "n": n,
                    "readout_entries": dd,
                    "nnz_per_row": 10,
                    "data_loading": "qram",
                    "slope_quantum": value,
                    "slope_variant_min": value - noise,
                    "slope_variant_max": value + noise,
                    "slope_classical": 1.0,
                    "slope_preprocessing": 2.0,
                    "fit_min_n": 1000,
                    "epsilon": 0.01,
                }
            )
    return pd.DataFrame(rows)


def test_claim_c11_one_row_per_premise_with_three_verdicts():
    rows = claim_c11_rows(_scaling(0.1, 0.05))
    assert [r.claim_id for r in rows] == ["C11", "C11"]
    assert "theorem's premise" in rows[0].claim and "measured ResNet" in rows[1].claim
    assert rows[0].verdict == HOLDS and rows[1].verdict == COST_MODEL_FAILS
    assert rows[0].margin.startswith("0.4") and rows[0].noise.startswith("0.1")
    assert "QROM" in rows[0].value and "0.9" in rows[0].value
    assert claim_c11_rows(_scaling(0.4, 0.3))[0].verdict == INCONCLUSIVE
    assert claim_c11_rows(_scaling(3.0, 0.5))[0].verdict == COST_MODEL_FAILS
    assert claim_c11_rows(_scaling(0.1, 0.05, measured_slope=0.2))[1].verdict == HOLDS
    empty = claim_c11_rows(_scaling(0.1, 0.05).iloc[0:0])
    assert [r.verdict for r in empty] == [NOT_RUN, NOT_RUN]
    frame = rows_to_frame(rows)
    assert list(frame["claim_id"]) == ["C11", "C11"]


def _c14_tables(log_ratio: float, spread: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    common = {
        "model_name": "m",
        "n": 1000,
        "horizon": "run",
        "steps": 400,
        "preprocessing_seconds": 0.0,
        "quantum_seconds": 1.0,
        "physical_qubits": 1e6,
        "code_distance": 21,
        "classical_seconds": 1.0,
        "oracle_data": "classical",
        "oracle_floor_over_classical": 4.1,
        "oracle_floor_gradients_window": 408.0,
        "coherent_oracle_seconds": 1e20,
        "premise_note": "almost dissipative",
    }
    resnets = pd.DataFrame(
        [
            {
                **common,
                "scenario": "favourable",
                "qubit_model": "fast",
                "headline": True,
                "quantum_total_seconds": 10.0**log_ratio,
                "log10_quantum_over_classical": log_ratio,
            },
            {
                **common,
                "scenario": "favourable",
                "qubit_model": "slow",
                "headline": False,
                "quantum_total_seconds": 10.0 ** (log_ratio + 0.3),
                "log10_quantum_over_classical": log_ratio + 0.3,
            },
            {
                **common,
                "scenario": "base",
                "qubit_model": "slow",
                "headline": True,
                "quantum_total_seconds": 1e30,
                "log10_quantum_over_classical": 30.0,
            },
        ]
    )
    sens = pd.DataFrame(
        {
            "model_name": ["m"] * 4,
            "scenario": ["favourable", "favourable", "favourable", "base"],
            "assumption": ["base", "epsilon", "readout_entries", "data_loading"],
            "value": ["configured", "0.1", "1", "qram"],
            "log10_factor_ratio": [0.0, -spread, 0.0, -100.0],
        }
    )
    return resnets, sens


def test_claim_c14_is_judged_on_the_favourable_bound():
    assert claim_c14(*_c14_tables(-3.0, -1.0)).verdict == HOLDS  # a variant 10x worse
    row = claim_c14(*_c14_tables(7.0, 5.0))  # 10^7 slower; the best variant gains 10^5
    assert row.verdict == COST_MODEL_FAILS
    assert "10^7 times slower" in row.value and "epsilon = 0.1" in row.value
    assert "10^7.3 on slow" in row.value  # the other qubit model beside
    assert "base case" in row.value and "10^30" in row.value  # the base beside
    assert "4.1x the classical training" in row.value  # the oracle-data floor
    assert row.noise.startswith("m: 5")  # the base's variants are not the favourable's noise
    assert claim_c14(*_c14_tables(2.0, 5.0)).verdict == INCONCLUSIVE
    # only moves towards the boundary count
    assert claim_c14(*_c14_tables(-3.0, 40.0)).verdict == HOLDS
    assert claim_c14(*_c14_tables(-3.0, -40.0)).verdict == INCONCLUSIVE
    assert claim_c14(*_c14_tables(-0.3, 0.0)).verdict == INCONCLUSIVE  # inside the tolerance
    summary = pd.DataFrame(
        {"scenario": ["favourable"], "qubit_model": ["fast"], "statement": ["no crossing for n"]}
    )
    assert "no crossing for n" in claim_c14(*_c14_tables(7.0, 5.0), summary).value
    resnets, sens = _c14_tables(1.0, 1.0)
    assert claim_c14(resnets[resnets["scenario"] == "base"], sens).verdict == NOT_RUN


def test_figures_say_model_not_measurement():
    from qtrain.figures.costs import plot_break_even, plot_sensitivity, plot_waterfall

    curves = break_even_curves(PRICING)
    fig = plot_break_even(curves, break_even_summary(curves), MODELS)
    assert "not measurement" in fig._suptitle.get_text()
    sens = sensitivity_table(PRICING)
    fig = plot_sensitivity(sens)
    assert "not measurement" in fig._suptitle.get_text()
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert "data_loading = qram" in labels
    steps = waterfall_table(PRICING)
    dec = decomposition_table(PRICING)
    fig = plot_waterfall(steps, dec)
    assert "not measurement" in fig._suptitle.get_text()
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert ticks[0] == "base" and ticks[-1] == "favourable bound"


def test_waterfall_figure_says_not_priced_when_a_window_map_overflows():
    """A base whose window map overflows (kappa = inf, as a 2-step Lanczos spectrum gave in the
    trimmed rehearsal) has no price: the figure says so instead of failing on infinite limits."""
    from qtrain.figures.costs import plot_waterfall

    # 1 - eta*lambda = 1001 per step
    overflowing = replace(PRICING, settings=replace(SETTINGS, hessian_lambda_min=-1e5))
    steps = waterfall_table(overflowing)
    dec = decomposition_table(overflowing)
    assert not math.isfinite(steps["log10_ratio"].iloc[0])
    assert math.isfinite(steps["log10_ratio"].iloc[-1])  # the favourable bound is priced
    fig = plot_waterfall(steps, dec)
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert "not priced" in texts and "base: not priced" in texts
    assert f"{steps['log10_ratio'].iloc[-1]:.1f}" in texts
    fig.savefig(io.BytesIO(), format="png")  # finite limits: it renders
