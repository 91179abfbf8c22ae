"""qdk's resource estimator behind the cost model: a hand check and the large-count paths."""

from __future__ import annotations

import math

import pytest

from qtrain.quantum.costs.physical import (
    algorithmic_logical_qubits,
    code_distance,
    estimate_physical,
    logical_depth,
)

pytest.importorskip("qdk")

TINY = {"numQubits": 10, "cczCount": 100, "measurementCount": 10}


def test_tiny_case_by_hand_against_the_estimator():
    """Beverland et al. 2022 by hand, qubit_gate_ns_e3 (p = 1e-3, 50 ns gates, 100 ns
    measurements), budget 0.01 split between logical errors and T states (no rotations):
    Q_alg = 2·10 + ⌈√80⌉ + 1 = 30; depth = 10 + 3·100 = 310; required rate
    0.005/(30·310) = 5.38e-7; d = 9 (0.03·0.1^5 = 3e-7 ≤ 5.38e-7 < 0.03·0.1^4);
    2d² = 162 qubits per logical qubit; cycle (4·50 + 2·100)·9 = 3600 ns."""
    assert algorithmic_logical_qubits(10) == 30
    assert logical_depth(TINY, 0.01) == 310
    required = 0.005 / (30 * 310)
    assert code_distance(required, 1e-3, 0.01, 0.03) == 9
    est = estimate_physical(TINY, "qubit_gate_ns_e3", 0.01)
    assert est["method"] == "qdk"
    assert est["algorithmic_logical_qubits"] == 30
    assert est["code_distance"] == 9
    assert est["required_logical_error_rate"] == pytest.approx(required)
    assert est["physical_qubits_algorithm"] == 30 * 2 * 9**2
    assert est["logical_cycle_time_ns"] == 3600
    assert est["runtime_ns"] == 310 * 3600
    assert est["runtime_s"] == pytest.approx(310 * 3600e-9)
    assert est["physical_qubits"] == 4860 + est["physical_qubits_factories"]
    better = estimate_physical(TINY, "qubit_gate_ns_e4", 0.01)
    assert better["code_distance"] < 9


def test_large_counts_are_time_scaled_exactly():
    counts = {
        "numQubits": 200,
        "cczCount": 1e9,
        "rotationCount": 1e4,
        "rotationDepth": 1e4,
        "measurementCount": 1e6,
    }
    direct = estimate_physical(counts, "qubit_gate_ns_e3", 1e-3)
    scaled = estimate_physical(counts, "qubit_gate_ns_e3", 1e-3, max_direct_depth=1e7)
    assert direct["method"] == "qdk" and scaled["method"] == "qdk, time-scaled"
    assert scaled["scale_factor"] > 100
    assert scaled["physical_qubits"] == direct["physical_qubits"]
    assert scaled["code_distance"] == direct["code_distance"]
    assert scaled["runtime_ns"] == pytest.approx(direct["runtime_ns"], rel=1e-3)


def test_beyond_the_largest_code_distance_is_extrapolated_with_its_formulas():
    counts = {"numQubits": 1000, "cczCount": 1e30, "measurementCount": 1e3}
    est = estimate_physical(counts, "qubit_gate_ns_e3", 1e-3)
    assert est["method"] == "extrapolated"
    d = est["code_distance"]
    assert d > 50 and d % 2 == 1
    assert est["logical_cycle_time_ns"] == pytest.approx((4 * 50 + 2 * 100) * d)
    assert est["physical_qubits_algorithm"] == pytest.approx(
        algorithmic_logical_qubits(1000) * 2 * d**2
    )
    assert est["runtime_ns"] == pytest.approx(est["logical_depth"] * est["logical_cycle_time_ns"])
    assert est["logical_depth"] == pytest.approx(3e30, rel=1e-6)
    assert "lower bound" in est["note"]


def test_counts_that_are_not_finite_are_not_estimated():
    est = estimate_physical({"numQubits": 10, "cczCount": math.inf}, "qubit_gate_ns_e3", 1e-3)
    assert est["method"] == "not estimated"
    assert math.isnan(est["runtime_s"])
    # unbounded rotations (a window whose map overflows: kappa = inf) likewise, never an
    # OverflowError in the T count per rotation (the trimmed rehearsal reached it)
    counts = {"numQubits": 10, "rotationCount": math.inf, "rotationDepth": math.inf}
    est = estimate_physical(counts, "qubit_gate_ns_e3", 1e-3)
    assert est["method"] == "not estimated" and math.isinf(est["logical_depth"])
