"""Resource models: qubit counts, dimensions, κ, query formulas, labels, scaling, crossover."""

from __future__ import annotations

import math

import pytest

from qtrain.quantum.resources import (
    RESNET_SIZES,
    CostAssumptions,
    block_dimension,
    carleman_dimension,
    ceil_log2,
    crossover_n,
    kappa_model,
    query_costs,
    resnet_table,
    resource_row,
    resource_table,
    sparsity_model,
)


def test_parameter_qubits_of_the_two_resnets() -> None:
    assert ceil_log2(RESNET_SIZES["resnet32_4"]) == 23
    assert ceil_log2(RESNET_SIZES["resnet56_11"]) == 27
    assert ceil_log2(1) == 0 and ceil_log2(8) == 3 and ceil_log2(9) == 4


def test_dimensions() -> None:
    assert carleman_dimension(3, 3) == 3 + 9 + 27
    assert block_dimension(3, 2, 10) == 11 * 12
    n = RESNET_SIZES["resnet56_11"]
    row = resource_row(n, 100, 0.01, CostAssumptions(carleman_order=2))
    assert row["block_dim"] == float(101 * (n + n * n))
    assert row["system_qubits"] == ceil_log2(101 * (n + n * n)) + 1


def test_sparsity_and_kappa_models() -> None:
    assert sparsity_model(0, 1, 1) == 1 + 2  # 1 + ((q+1)(s_F+1))^N
    assert sparsity_model(3, 2, 2) == 1 + (3 * 4) ** 2
    assert kappa_model(10, "full", 0.5) == pytest.approx(3.0)
    assert kappa_model(10, "almost") == 22.0
    assert kappa_model(1000, "full", 0.5) == kappa_model(10, "full", 0.5)  # bounded in T
    with pytest.raises(ValueError):
        kappa_model(10, "full", 1.0)


def test_query_formulas() -> None:
    q = query_costs(dim=2**10, sparsity=4, kappa=5, eps=0.01)
    assert q["queries_hhl"] == pytest.approx(10 * 16 * 25 / 0.01)
    assert q["queries_cks"] == pytest.approx(20 * math.log2(2000) ** 2)
    assert q["queries_optimal"] == pytest.approx(1.84 * 20 * math.log(100))
    assert q["queries_optimal_proven"] / q["queries_optimal"] == pytest.approx(2305 / 1.84)


def test_resnet_table_is_labelled_as_model() -> None:
    df = resnet_table(steps=100, eps=0.01)
    assert len(df) == 4
    assert (df["kind"] == "model").all()
    assert df["assumptions"].str.contains("optimal_constant=1.84").all()
    assert "MODEL" in df.attrs["note"]
    assert set(df["param_qubits"]) == {23, 27}
    # almost dissipative κ ~ 2(T+1) makes every solver dearer than the fully dissipative one
    full = df[df["regime"] == "full"].reset_index()
    almost = df[df["regime"] == "almost"].reset_index()
    assert (almost["queries_hhl"] > full["queries_hhl"]).all()


def test_solver_cost_is_polylog_in_n_classical_linear() -> None:
    a = CostAssumptions(readout_entries=100, upload_entries=100, regime="full")
    df = resource_table([10**4, 10**8], steps_values=[100], eps_values=[0.01], assumptions=a)
    small, large = df.iloc[0], df.iloc[1]
    assert large["classical_ops"] / small["classical_ops"] == pytest.approx(1e4)
    assert large["quantum_ops"] / small["quantum_ops"] < 10  # polylog growth only


def test_sweep_over_orders_and_eps() -> None:
    df = resource_table([100, 1000], [10, 100], [0.1, 0.01], orders=[1, 2])
    assert len(df) == 16
    assert set(df["N"]) == {1, 2}
    tomo = df.groupby("eps")["tomography_samples_model"].mean()
    assert tomo[0.01] / tomo[0.1] == pytest.approx(100)  # 1/ε²


def test_crossover() -> None:
    a = CostAssumptions(readout_entries=100, upload_entries=100, regime="full")
    out = crossover_n(steps=100, eps=0.01, assumptions=a)
    n_star = out["crossover_n"]
    assert math.isfinite(n_star) and out["kind"] == "model"
    assert out["ratio_at_crossover"] < 1
    before = resource_row(int(n_star / 1.5), 100, 0.01, a)
    assert before["quantum_ops"] > before["classical_ops"]
    # reading out 10% of all n weights costs ≥ n/ε² samples: never cheaper than GD here
    assert math.isnan(crossover_n(steps=100, eps=0.01)["crossover_n"])
