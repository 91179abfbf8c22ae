"""The cost model's building blocks against hand counts (qtrain.quantum.costs.primitives,
.settings; issues 12 and 20)."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from qtrain.quantum.costs.primitives import (
    amplification,
    block_encoding_cost,
    carleman_order,
    coherent_entry_cost,
    qram_cost,
    qrom_cost,
    scalar_block_system,
    solver_queries,
    state_preparation_cost,
    tomography_uses,
    trajectory_share,
)
from qtrain.quantum.costs.settings import (
    CostSettings,
    measured_overrides,
    spectral_radius,
    spectrum_moments,
)


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
    # GSLW Lemma 48: O_A twice in total = ONE lookup computed and uncomputed (248 Toffolis for
    # 1024 words of 8 bits), plus the b-bit rotation; not two lookups (the double charge of
    # issue 20)
    dense = block_encoding_cost(1024, 32, sa, dense_rows=True)
    assert dense["toffolis"] == 248 + 8
    # sparse rows: O_r and O_c once each, lookups of ⌈log2 32⌉ = 5-bit column indices
    sparse = block_encoding_cost(1024, 32, sa, dense_rows=False)
    assert sparse["toffolis"] == dense["toffolis"] + 2 * qrom_cost(1024, 5)["toffolis"]
    # an entry computed coherently replaces the lookup, whatever the encoding was set to
    entry = {"toffolis": 1000.0, "measurements": 0.0}
    coherent = block_encoding_cost(1024, 32, s, dense_rows=True, entry=entry)
    assert coherent["toffolis"] == 1000 + 8


def test_coherent_entry_hand_count():
    # F_1 entry: 2.2 gradients of 1e9 FLOPs; b = 4: b² + b = 20 Toffolis per multiply-add
    # (2 FLOPs), computed and uncomputed: 2 · 2.2e9 / 2 · 20 = 4.4e10
    s = CostSettings(coherent_oracle_bits=4)
    c = coherent_entry_cost(1, 1e9, s)
    assert c["flops"] == pytest.approx(2.2e9)
    assert c["toffolis"] == pytest.approx(4.4e10)
    assert coherent_entry_cost(0, 1e9, s)["toffolis"] == pytest.approx(2e10)  # the gradient
    assert coherent_entry_cost(2, 1e9, s)["toffolis"] == pytest.approx(2e10 * 2.2**2)


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
    # a window whose map overflows has kappa = inf (scalar_block_system): every count is
    # unbounded, never an OverflowError (the rehearsal's 2-step Lanczos spectrum reached it)
    for solver in ("adiabatic", "hhl", "cks"):
        unbounded = solver_queries(math.inf, 0.01, replace(s, solver=solver))
        assert math.isinf(unbounded["queries"]) and math.isinf(unbounded["b_calls"]), solver


def test_amplitude_amplification_rounds():
    assert amplification(0.25, "amplitude")["solves_per_shot"] == 3  # one round: sin²(3π/6) = 1
    assert amplification(1.0, "amplitude")["solves_per_shot"] == 1
    # p = 0.01: ⌈π/(4·asin 0.1) − 1/2⌉ = ⌈7.34⌉ = 8 rounds, 17 solves ≈ (π/4)·2/√p
    assert amplification(0.01, "amplitude")["rounds"] == 8
    assert amplification(0.01, "amplitude")["solves_per_shot"] == 17
    rep = amplification(0.25, "repetition")
    assert (rep["solves_per_shot"], rep["shots_per_output"]) == (1, 4)


def test_tomography_options_hand_counts():
    # d = 100 entries of a D = 10^4-entry vector at ε = 0.1
    assert tomography_uses(100, 1e4, 0.1, "sampling")["uses"] == pytest.approx(1e4)
    assert tomography_uses(100, 1e4, 0.1, "kerenidis_prakash")["uses"] == pytest.approx(
        72 * 100 * math.log(100) / 0.01
    )
    # Heisenberg-limited ℓ2 of the whole vector: D/ε (van Apeldoorn et al. 2023, logs = 1)
    assert tomography_uses(100, 1e4, 0.1, "heisenberg")["uses"] == pytest.approx(1e5)
    assert tomography_uses(100, 1e4, 0.1, "heisenberg", 3.0)["uses"] == pytest.approx(3e5)
    # ℓ∞ at δ = ε/√d = 0.01 over D entries: ln(1e4)/0.01 = 921.0; then ℓ2 of d: 100/0.1 = 1000
    lin = tomography_uses(100, 1e4, 0.1, "linf_then_l2")
    assert lin["uses_linf"] == pytest.approx(math.log(1e4) / 0.01)
    assert lin["uses"] == pytest.approx(math.log(1e4) / 0.01 + 1000)
    # Heisenberg scaling: 10x finer precision costs 10x, not 100x
    ratio = (
        tomography_uses(100, 1e4, 0.01, "linf_then_l2")["uses"]
        / tomography_uses(100, 1e4, 0.1, "linf_then_l2")["uses"]
    )
    assert ratio == pytest.approx(10)
    with pytest.raises(ValueError, match="unknown tomography"):
        tomography_uses(10, 10, 0.1, "shadow")


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
