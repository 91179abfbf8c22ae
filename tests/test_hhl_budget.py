"""The HHL clock budget (clock qubits from ε and κ) and the eigenbasis backend (the circuit's
post-selected output without the statevector), against gate-level statevector simulation."""

from __future__ import annotations

import numpy as np
import pytest

from qtrain.quantum.circuits.hhl import eigenbasis_postselected, hhl_circuit, solve
from qtrain.quantum.circuits.hhl_setup import (
    HHL_ERROR_CONSTANT,
    clock_for_precision,
    min_clock_value,
    prepare,
)


def _systems():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4, 4))
    spd = a @ a.T + np.eye(4)
    yield "hermitian positive definite", spd, rng.normal(size=4)
    yield "non-Hermitian (dilated, padded)", rng.normal(size=(3, 3)) + 3 * np.eye(3), np.ones(3)
    yield "indefinite (signed clock)", np.diag([2.0, -1.0, 3.5, -0.7]), rng.normal(size=4)


@pytest.mark.parametrize("clock", [3, 5])
def test_eigenbasis_backend_equals_the_statevector_simulation(clock):
    from qiskit.quantum_info import Statevector

    from qtrain.quantum.circuits.hhl import _postselected

    for name, a, b in _systems():
        setup = prepare(a, b, clock)
        gate_level = _postselected(Statevector(hhl_circuit(setup)).data, setup)
        assert np.allclose(eigenbasis_postselected(setup), gate_level, atol=1e-12), name
        sv = solve(a, b, clock, count_gates=False)
        eb = solve(a, b, clock, backend="eigenbasis", count_gates=False)
        assert eb.success_probability == pytest.approx(sv.success_probability, abs=1e-12)
        assert eb.fidelity == pytest.approx(sv.fidelity, abs=1e-12)
        assert np.allclose(eb.solution, sv.solution, atol=1e-10), name
        assert eb.num_qubits == sv.num_qubits


def test_clock_budget_by_hand():
    # epsilon 0.01: k_min >= 0.3 / 0.01 = 30. kappa 4.5, signed, headroom 1/4:
    # k_min(8) = floor(0.75 * 127 / 4.5) = 21 < 30, k_min(9) = floor(0.75 * 255 / 4.5) = 42
    assert HHL_ERROR_CONSTANT == 0.3
    assert min_clock_value(8, 4.5) == 21 and min_clock_value(9, 4.5) == 42
    assert clock_for_precision(0.01, 4.5) == 9
    # unsigned: one qubit fewer for the same k_min
    assert clock_for_precision(0.01, 4.5, signed=False) == 8
    # epsilon 0.001: k_min >= 300; k_min(11) = floor(0.75 * 1023 / 4.5) = 170, k_min(12) = 341
    assert min_clock_value(11, 4.5) == 170 and min_clock_value(12, 4.5) == 341
    assert clock_for_precision(0.001, 4.5) == 12
    # kappa 18: k_min(10) = floor(0.75 * 511 / 18) = 21, k_min(11) = floor(0.75 * 1023 / 18) = 42
    assert clock_for_precision(0.01, 18.0) == 11
    with pytest.raises(ValueError, match="epsilon"):
        clock_for_precision(0.0, 4.5)
    with pytest.raises(ValueError, match="kappa"):
        clock_for_precision(0.01, 0.5)


def _error(a, b, clock, backend) -> float:
    res = solve(a, b, clock, backend=backend, count_gates=False)
    return float(
        np.linalg.norm(res.solution - res.exact_solution) / np.linalg.norm(res.exact_solution)
    )


def _needed(errors: dict[int, float], epsilon: float) -> int:
    """The clock from which every larger clock reaches ``epsilon`` (errors are not monotone in
    the clock: an eigenvalue can land on the grid by luck)."""
    return min(c for c in errors if all(errors[d] <= epsilon for d in errors if d >= c))


@pytest.mark.parametrize("epsilon", [0.05, 0.02])
def test_the_budgeted_clock_is_sufficient_on_a_2x2_system_by_gate_level_simulation(epsilon):
    q, _ = np.linalg.qr(np.array([[1.0, 0.4], [-0.3, 1.0]]))
    a = q @ np.diag([1.0, 2.7]) @ q.T  # 2.7 off the clock grid
    b = q @ np.array([1.0, 1.0])
    budget = clock_for_precision(epsilon, 2.7, signed=False)
    assert _error(a, b, budget, "statevector") <= epsilon


def test_the_budgeted_clock_against_the_known_need_of_a_spread_spectrum():
    """Eight eigenvalues spread over [1, 4]: some land off the clock grid at every size. The
    clock it needs is found by brute force over clock sizes."""
    q, _ = np.linalg.qr(np.random.default_rng(1).normal(size=(8, 8)))
    a = q @ np.diag(np.linspace(1.0, 4.0, 8)) @ q.T
    b = q @ np.ones(8)
    errors = {clock: _error(a, b, clock, "eigenbasis") for clock in range(2, 13)}
    assert errors[6] == pytest.approx(_error(a, b, 6, "statevector"), abs=1e-9)
    for epsilon in (0.05, 0.01, 0.005):
        budget = clock_for_precision(epsilon, 4.0, signed=False)
        assert errors[budget] <= epsilon
        assert _needed(errors, epsilon) <= budget <= _needed(errors, epsilon) + 3


def test_the_budget_holds_on_carleman_block_systems_of_the_digits_network():
    """The systems the quantum-trained model solves (dilated: signed clock): the budget reaches
    epsilon and is at most two qubits above the clock they need (brute force)."""
    from qtrain.quantum.carleman.digits import digits_problem, initial_weights
    from qtrain.quantum.carleman.linear_system import block_system
    from qtrain.quantum.carleman.linearization import carleman_matrix, lift

    problem = digits_problem(1, (3, 8), "quadratic", 0.2, seed=0)
    theta = initial_weights(problem, 0.5, 0)
    C, rhs_b = carleman_matrix(problem.gd_map(theta, 0.05), 2)
    L, rhs = block_system(C, rhs_b, lift(np.zeros(problem.n), 2), 3)
    a = L.toarray()
    s = np.linalg.svd(a, compute_uv=False)
    kappa = s[0] / s[-1]
    errors = {clock: _error(a, rhs, clock, "eigenbasis") for clock in range(2, 15)}
    for epsilon in (0.1, 0.01, 0.001):
        budget = clock_for_precision(epsilon, kappa)
        assert errors[budget] <= epsilon
        assert _needed(errors, epsilon) <= budget <= _needed(errors, epsilon) + 2
