"""The cost model's pieces against hand counts (qtrain.quantum.cost_model, issue 12)."""

from __future__ import annotations

import math
from dataclasses import fields, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from qtrain.config import merge_config
from qtrain.quantum.cost_model import (
    CostSettings,
    SweepSettings,
    amplification,
    block_encoding_cost,
    carleman_order,
    ceil_log2,
    error_budget,
    logical_counts,
    measured_block_system,
    measured_overrides,
    qram_cost,
    qrom_cost,
    scalar_block_system,
    settings_from_config,
    solver_queries,
    spectral_radius,
    spectrum_moments,
    state_preparation_cost,
    subnormalisations,
    tensor_nnz,
    tomography_copies,
    trajectory_share,
    window_cost,
)

REPO = Path(__file__).resolve().parents[1]


def test_qrom_select_swap_hand_count():
    # N = 1024 words of b = 8 bits: λ = 8 gives ⌈1024/8⌉ + 8·7 = 184 (λ = 16 ties, 64 + 120);
    # ancillas 8·8 + ⌈log2 128⌉ = 71; uncompute ⌈1024/32⌉ + 32 = 64; b measurements.
    c = qrom_cost(1024, 8)
    assert c["toffolis_compute"] == 184
    assert c["lambda"] == 8
    assert c["ancillas"] == 71
    assert c["toffolis_uncompute"] == 64
    assert c["toffolis"] == 248
    assert c["measurements"] == 8
    # capped workspace b·λ ≤ 16: λ = 2, 512 + 8 = 520; uncompute λ' ≤ 16: 64 + 16 = 80
    capped = qrom_cost(1024, 8, max_ancilla=16)
    assert (capped["toffolis_compute"], capped["lambda"], capped["ancillas"]) == (520, 2, 25)
    assert capped["toffolis_uncompute"] == 80
    # one word: a plain lookup costs 1 Toffoli, its uncompute 1 + 1
    assert qrom_cost(1, 8)["toffolis"] == 3


def test_qrom_grows_like_sqrt_of_entries_when_uncapped():
    small, large = qrom_cost(2**20, 16), qrom_cost(2**30, 16)
    ratio = large["toffolis_compute"] / small["toffolis_compute"]
    assert ratio == pytest.approx(2**5, rel=0.05)  # √(2^10)


def test_qram_query_is_the_stated_assumption():
    c = qram_cost(1024, 8, per_address_bit=1.0)
    assert c["toffolis_compute"] == 10 + 8
    assert c["toffolis"] == 36
    assert qram_cost(1024, 8, 3.0)["toffolis_compute"] == 38


def test_state_preparation_hand_count():
    # 4 amplitudes: level 0 looks up 1 angle (1 + uncompute 2), level 1 two angles (2 + 3);
    # each level adds b = 8 Toffolis for the phase-gradient rotation: 11 + 13 = 24.
    s = CostSettings(bits_per_entry=8)
    assert state_preparation_cost(4, s)["toffolis"] == 24


def test_block_encoding_costs():
    s = CostSettings(bits_per_entry=8)
    sp = block_encoding_cost(16, 4, s)
    assert sp["toffolis"] == (
        state_preparation_cost(4, s)["toffolis"] + state_preparation_cost(16, s)["toffolis"]
    )
    sa = replace(s, block_encoding="sparse_access")
    dense = block_encoding_cost(1024, 32, sa, dense_rows=True)
    assert dense["toffolis"] == 2 * qrom_cost(1024, 8)["toffolis"] + 8
    sparse = block_encoding_cost(1024, 32, sa, dense_rows=False)
    assert sparse["toffolis"] == dense["toffolis"] + 2 * qrom_cost(1024, 5)["toffolis"]


def test_tensor_nnz_and_subnormalisations():
    s = CostSettings(support_fraction=0.1, map_degree=3)
    nnz = tensor_nnz(1000, s)  # s = 100 kept weights
    assert nnz == {0: 100, 1: 10_000, 2: 10_000, 3: 10_000}
    dense = tensor_nnz(1000, replace(s, higher_order_nnz="dense"))
    assert dense[2] == 100**3 and dense[3] == 100**4
    poly = tensor_nnz(1000, replace(s, sparsity_premise="polylog"))
    assert poly[1] == 100 * 10  # ⌈log2 1000⌉ = 10 per row
    alpha = subnormalisations(1000, s, nnz)
    assert alpha[1] == pytest.approx(0.01 * 0.2 * 10)  # η·λ_rms·√s
    assert alpha[2] == pytest.approx(alpha[1] * 0.1)
    assert alpha[0] == pytest.approx(0.01)
    sa = replace(s, block_encoding="sparse_access")
    # dense rows: α = s·(spread·‖F‖_F/√(s²)) = spread·‖F‖_F
    assert subnormalisations(1000, sa, nnz)[1] == pytest.approx(10 * alpha[1])


def test_carleman_order_from_the_bound():
    # T·N·R^N ≤ ε: R = 0.1, T = 100, ε = 1e-3 → N·10^-N ≤ 1e-5 → N = 6 (5e-5 fails at N = 5)
    order, bound, met = carleman_order(0.1, 100, 1e-3, 12)
    assert (order, met) == (6, True)
    assert bound == pytest.approx(100 * 6 * 1e-6)
    assert carleman_order(0.5, 10, 0.01, 20)[0] == 14  # 13/2^13 = 1.6e-3 > 1e-3 ≥ 14/2^14
    assert carleman_order(1.2, 10, 0.01, 8) == (8, math.inf, False)


def test_solver_query_counts():
    s = CostSettings()
    q = solver_queries(100.0, 0.01, s)
    assert q["walk_steps"] == 1840  # ⌈1.84·100/0.1⌉
    assert q["filter_degree"] == 750  # 2⌈100·ln(200)/√2⌉ = 2·375
    assert q["queries"] == 2590
    assert q["b_calls"] == 2 * 2590  # every query calls U_b twice (b prepared O(κ log 1/ε) times)
    assert q["rotations"] == 2 * 1840 + 750
    assert q["success_probability"] == pytest.approx(0.81)
    hhl = solver_queries(10.0, 0.01, replace(s, solver="hhl"))
    assert hhl["queries"] == 31416  # ⌈π·100/0.01⌉
    cks = solver_queries(10.0, 0.01, replace(s, solver="cks"))
    assert cks["queries"] == math.ceil(10 * math.log(1000) ** 2)
    assert solver_queries(100.0, 0.01, replace(s, adiabatic_constant=2305.0))["walk_steps"] == (
        2305 * 1000
    )


def test_amplitude_amplification_rounds():
    assert amplification(0.25, "amplitude")["solves_per_shot"] == 3  # one round: sin²(3π/6) = 1
    assert amplification(1.0, "amplitude")["solves_per_shot"] == 1
    # p = 0.01: ⌈π/(4·asin 0.1) − 1/2⌉ = ⌈7.34⌉ = 8 rounds, 17 solves ≈ (π/4)·2/√p
    assert amplification(0.01, "amplitude")["rounds"] == 8
    assert amplification(0.01, "amplitude")["solves_per_shot"] == 17
    rep = amplification(0.25, "repetition")
    assert (rep["solves_per_shot"], rep["shots_per_output"]) == (1, 4)


def test_tomography_copies():
    assert tomography_copies(100, 0.1, "sampling") == pytest.approx(1e4)
    assert tomography_copies(100, 0.1, "kerenidis_prakash") == pytest.approx(
        72 * 100 * math.log(100) / 0.01
    )


def test_error_budget_split_and_compounding():
    s = CostSettings(epsilon=0.01, steps_per_window=100, total_steps=400)
    flat = error_budget(s, 1.0)  # K = 4 windows, errors add
    assert flat["epsilon_window"] == pytest.approx(0.0025)
    assert flat["epsilon_truncation"] == pytest.approx(0.25 * 0.0025)
    assert flat["epsilon_solver"] == pytest.approx(0.25 * 0.0025)
    assert flat["epsilon_tomography"] == pytest.approx(0.5 * 0.0025)
    grow = error_budget(s, 2.0)  # an error grows 2x per later window: 1 + 2 + 4 + 8
    assert grow["epsilon_window"] == pytest.approx(0.01 / 15)
    with pytest.raises(ValueError, match="sum to 1"):
        CostSettings(error_share_tomography=0.6)


def test_scalar_block_system_limits():
    # dissipative: κ → (1+ρ)/(1−ρ); ρ = 1: κ ≈ 4(T+1)/π (the ones matrix); both on the dense
    # (dim ≤ 400) and the iterative path
    assert scalar_block_system(0.5, 300)["kappa"] == pytest.approx(3.0, rel=1e-3)
    for steps in (300, 1000):
        k = scalar_block_system(1.0, steps)["kappa"]
        assert k == pytest.approx(4 * (steps + 1) / math.pi, rel=5e-3)
    dense = scalar_block_system(0.9, 399)["kappa"]
    iterative = scalar_block_system(0.9, 400)["kappa"]
    assert iterative == pytest.approx(dense, rel=1e-3)
    # padding P makes κ grow like (T+P) even when dissipative (figS3: 167 at T = P = 128)
    padded = scalar_block_system(0.7836105904255222, 128, 128)["kappa"]
    assert padded == pytest.approx(166.9, rel=0.01)
    assert scalar_block_system(1.5, 2000)["kappa"] == math.inf


def test_trajectory_share_hand_values():
    assert trajectory_share(0.9, 3, 0, "stationary") == pytest.approx(1 / 4)
    assert trajectory_share(0.9, 3, 3, "stationary") == pytest.approx(4 / 7)
    assert trajectory_share(1.0, 2, 0, "drift") == pytest.approx(1 / 1.25)  # u = 0, 1/2, 1
    assert trajectory_share(0.5, 1, 0, "decaying") == pytest.approx(0.25 / 1.25)
    # figS3's collapse without padding: ρ^(2T) at T = 128 (measured 1.7e-28)
    tiny = trajectory_share(0.7836105904255222, 128, 0, "decaying")
    assert 1e-29 < tiny < 1e-27


def test_spectral_radius_and_measured_overrides():
    assert spectral_radius(-1.0, 50.0, 0.01) == pytest.approx(1.01)
    assert spectral_radius(10.0, 50.0, 0.01) == pytest.approx(0.9)
    masses = pd.DataFrame({"step": [0, 25], "lambda_min": [-2.0, -1.0], "lambda_max": [9.0, 8.0]})
    assert measured_overrides(masses, step=25) == {
        "hessian_lambda_min": -1.0,
        "hessian_lambda_max": 8.0,
    }
    moments = spectrum_moments(np.array([-1.0, 1.0, 3.0]), np.array([0.25, 0.5, 0.25]))
    assert moments["hessian_lambda_rms"] == pytest.approx(math.sqrt(0.25 + 0.5 + 2.25))
    assert measured_overrides(moments=moments)["hessian_lambda_max"] == 3.0
    figs3 = pd.DataFrame({"map": ["d", "a"], "R": [0.14, math.inf]})
    assert measured_overrides(block_table=figs3, map_name="d") == {"nonlinearity_ratio": 0.14}
    assert measured_overrides(block_table=figs3, map_name="a") == {}


def _slope(xs, ys) -> float:
    return float(np.polyfit(np.log(xs), np.log(ys), 1)[0])


@pytest.mark.parametrize(
    ("lambda_min", "amp", "padding", "expected"),
    [
        (10.0, "repetition", 0.0, 1.0),  # dissipative: T (Theorem 1)
        (0.0, "repetition", 0.0, 2.0),  # almost dissipative: T² (Theorem 2)
        (10.0, "amplitude", 0.0, 0.5),  # amplitude amplification of the 1/T share: √T
        (0.0, "amplitude", 0.0, 1.5),
        (10.0, "amplitude", 1.0, 1.0),  # padding P = T: share O(1), κ ~ T in both regimes
        (0.0, "amplitude", 1.0, 1.0),
    ],
)
def test_total_cost_versus_T_reproduces_the_theorems(lambda_min, amp, padding, expected):
    """With the paper's accounting (repetition for the 1/T share of the final block, no
    padding) the total cost per window grows like T (ρ = 0.9) and T² (ρ = 1); amplitude
    amplification and padding change the exponents as stated in docs/cost_model.md."""
    base = CostSettings(
        carleman_order=2,
        map_degree=2,
        readout="fixed",
        readout_entries=100,
        hessian_lambda_min=lambda_min,
        amplification=amp,
        padding_factor=padding,
    )
    steps = [100, 200, 400, 800, 1600]
    costs, kappas = [], []
    for t in steps:
        row = window_cost(10_000, replace(base, steps_per_window=t, total_steps=t))
        costs.append(row["toffolis_window"])
        kappas.append(row["kappa_L"])
    assert _slope(steps, costs) == pytest.approx(expected, abs=0.1)
    assert _slope(steps, kappas) == pytest.approx(
        0.0 if (lambda_min and not padding) else 1.0, abs=0.05
    )


def test_window_cost_flags_a_failed_premise_and_counts_qubits():
    row = window_cost(7_451_044, CostSettings())
    assert row["param_qubits"] == 23
    assert not row["dissipative_premise"]
    assert "FAILS" in row["premise_note"] and "-1" in row["premise_note"]
    assert row["logical_qubits"] == (
        row["qubits_data"]
        + row["qubits_encoding"]
        + row["qubits_lookup"]
        + row["qubits_arithmetic"]
        + row["qubits_solver"]
    )
    assert row["qubits_data"] == ceil_log2(101) + ceil_log2(row["carleman_order"]) + (
        row["carleman_order"] * 23
    )
    assert row["nnz_F1"] == 745_105**2  # dense among the kept weights
    assert row["toffolis_run"] == pytest.approx(4 * row["toffolis_window"])
    assert row["solver_b_calls"] == 2 * row["solver_queries"]
    counts = logical_counts(row)
    assert counts["cczCount"] == row["toffolis_per_shot"]
    ok = window_cost(7_451_044, replace(CostSettings(), hessian_lambda_min=10.0))
    assert ok["dissipative_premise"] and ok["rho"] == pytest.approx(0.9)


def test_readout_premises_and_data_loading():
    s = CostSettings()
    frac = window_cost(10**6, s)
    fixed = window_cost(10**6, replace(s, readout="fixed", readout_entries=1000))
    assert frac["readout_entries"] == 100_000 and fixed["readout_entries"] == 1000
    assert frac["tomography_copies"] / fixed["tomography_copies"] == pytest.approx(100)
    qram = window_cost(10**6, replace(s, data_loading="qram"))
    assert qram["toffolis_per_query"] < frac["toffolis_per_query"]
    per_step = window_cost(10**6, replace(s, batches="per_step"))
    assert per_step["nnz_F1"] == 100 * frac["nnz_F1"]
    assert per_step["preprocessing_gradients_window"] == pytest.approx(
        100 * frac["preprocessing_gradients_window"]
    )


def test_measured_block_system_table():
    table = pd.DataFrame(
        {
            "map": ["m"] * 4,
            "padding_factor": [0, 0, 0, 0],
            "steps": [1, 2, 4, 8],
            "kappa": [2.0, 4.0, 8.0, 16.0],
            "norm": [2.0] * 4,
            "final_level1_share": [0.5, 0.25, 0.125, 0.0625],
        }
    )
    inside = measured_block_system(table, 4, 0.0)
    assert inside["kappa"] == pytest.approx(8.0) and not inside["extrapolated"]
    outside = measured_block_system(table, 16, 0.0)
    assert outside["kappa"] == pytest.approx(32.0) and outside["extrapolated"]
    assert outside["share"] == pytest.approx(1 / 32)
    s = CostSettings(steps_per_window=8, total_steps=8)
    row = window_cost(10_000, s, block_table=table)
    assert row["kappa_L"] == pytest.approx(16.0)
    assert row["final_share"] == pytest.approx(0.0625)
    assert row["kappa_source"].startswith("measured")
    assert row["kappa_effective"] == pytest.approx(row["alpha_L"] * 16.0 / 2.0)


def test_settings_match_the_config_keys_one_to_one():
    names = {f.name for f in fields(CostSettings)} | {f.name for f in fields(SweepSettings)}
    paper = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    smoke = merge_config(paper, yaml.safe_load((REPO / "config" / "smoke.yaml").read_text()))
    for preset, cfg in (("paper", paper), ("smoke", smoke)):
        section = cfg["quantum"]["resources"]
        assert set(section) == names, preset
        cost, sweep = settings_from_config(section)
        assert cost.qubit_models == ("qubit_gate_ns_e3", "qubit_gate_ns_e4")
        assert "hessian_lambda_min" in sweep.sensitivity
    with pytest.raises(ValueError, match="unknown"):
        settings_from_config({"carleman_norm": 0.9})
    with pytest.raises(ValueError, match="solver"):
        CostSettings(solver="optimal")
