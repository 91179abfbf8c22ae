"""HHL circuit: dilation, clock mapping, fidelity against numpy.linalg.solve, backends, counts."""

from __future__ import annotations

import numpy as np
import pytest

from qtrain.quantum.circuits.hhl import solve
from qtrain.quantum.circuits.hhl_setup import (
    choose_evolution_time,
    clock_eigenvalues,
    hermitian_dilation,
    pad_to_power_of_two,
    prepare,
)


def _random_system(n: int, hermitian: bool, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Well-conditioned A (singular values uniform in [1, 3], κ ≤ 3) and a random b."""
    rng = np.random.default_rng(seed)
    q1, _ = np.linalg.qr(rng.standard_normal((n, n)))
    q2, _ = np.linalg.qr(rng.standard_normal((n, n)))
    s = rng.uniform(1.0, 3.0, n)
    a = q1 @ np.diag(s) @ (q1.T if hermitian else q2)
    return a, rng.standard_normal(n)


def test_dilation_embeds_solution_in_lower_half() -> None:
    a, b = _random_system(3, hermitian=False, seed=0)
    h, rhs = hermitian_dilation(a, b)
    x = np.linalg.solve(a, b)
    assert np.allclose(h, h.T)
    assert np.allclose(h @ np.concatenate([np.zeros(3), x]), rhs)
    sv = np.linalg.svd(a, compute_uv=False)
    assert np.allclose(np.sort(np.abs(np.linalg.eigvalsh(h))), np.sort(np.r_[sv, sv]))


def test_padding_is_decoupled_identity_block() -> None:
    h, rhs = hermitian_dilation(*_random_system(3, hermitian=False, seed=1))
    hp, rp = pad_to_power_of_two(h, rhs, fill=2.5)
    assert hp.shape == (8, 8) and rp.shape == (8,)
    assert np.allclose(hp[:6, :6], h) and np.allclose(hp[6:, 6:], 2.5 * np.eye(2))
    assert not hp[:6, 6:].any() and not rp[6:].any()


def test_evolution_time_puts_smallest_eigenvalue_on_a_clock_value() -> None:
    t = choose_evolution_time(0.5, 1.5, num_clock=6, signed=True)
    lam = clock_eigenvalues(6, t, signed=True)
    assert np.isclose(lam, 0.5).any()  # exactly representable
    assert lam.max() >= 1.5 and lam.min() < 0  # largest fits; two's complement gives negatives
    assert np.isclose(lam[-1], -lam[1])  # index 2^nc − 1 is −1 in two's complement


def test_textbook_2x2_is_exact() -> None:
    a = np.array([[1.0, -1 / 3], [-1 / 3, 1.0]])  # eigenvalues 2/3 and 4/3
    b = np.array([1.0, 0.0])
    res = solve(a, b, clock_qubits=3)
    assert not res.dilated and not res.signed
    assert res.fidelity > 1 - 1e-10
    assert np.allclose(res.solution, np.linalg.solve(a, b), atol=1e-9)
    assert res.num_qubits == 1 + 3 + 1


@pytest.mark.parametrize(
    ("n", "hermitian", "seed"),
    [(4, True, 0), (4, False, 1), (4, False, 2), (8, True, 3), (8, False, 4), (8, False, 5)],
)
def test_fidelity_on_well_conditioned_systems(n: int, hermitian: bool, seed: int) -> None:
    a, b = _random_system(n, hermitian, seed)
    res = solve(a, b, clock_qubits=7, count_gates=False)
    assert res.dilated is (not hermitian)
    assert res.fidelity >= 0.999
    assert res.norm_relative_error < 0.03
    assert np.linalg.norm(res.solution - np.linalg.solve(a, b)) < 0.05 * res.norm_exact
    m = int(np.log2(2 * n if not hermitian else n))
    assert res.num_qubits == m + 7 + 1
    assert 0 < res.success_probability <= 1


def test_more_clock_qubits_help_on_average() -> None:
    systems = [_random_system(4, False, seed) for seed in range(10, 14)]
    mean_infidelity = {
        nc: np.mean([1 - solve(a, b, nc, count_gates=False).fidelity for a, b in systems])
        for nc in (4, 8)
    }
    assert mean_infidelity[8] < mean_infidelity[4] / 10


def test_norm_recovered_from_success_probability() -> None:
    a, b = _random_system(4, False, 6)
    res = solve(a, b, clock_qubits=8, count_gates=False)
    x = np.linalg.solve(a, b)
    # p = C²‖x‖²/‖b‖² in the ideal case
    expected_p = (res.constant * np.linalg.norm(x) / np.linalg.norm(b)) ** 2
    assert res.success_probability == pytest.approx(expected_p, rel=0.02)
    assert res.norm_estimate == pytest.approx(
        np.linalg.norm(b) * np.sqrt(res.success_probability) / res.constant
    )


def test_aer_backends_agree_with_statevector() -> None:
    a, b = _random_system(4, False, 7)
    ref = solve(a, b, clock_qubits=6, count_gates=False)
    aer = solve(a, b, clock_qubits=6, backend="aer_statevector", count_gates=False)
    assert aer.fidelity == pytest.approx(ref.fidelity, abs=1e-9)
    assert aer.success_probability == pytest.approx(ref.success_probability, abs=1e-9)
    assert np.allclose(aer.solution, ref.solution, atol=1e-8)
    shots = 40_000
    sampled = solve(
        a, b, clock_qubits=6, backend="aer_shots", shots=shots, seed=3, count_gates=False
    )
    p = ref.success_probability
    assert abs(sampled.success_probability - p) < 5 * np.sqrt(p * (1 - p) / shots)
    assert sampled.magnitudes_only and np.all(sampled.solution >= 0)
    assert sampled.fidelity > 0.99
    assert np.allclose(sampled.solution, np.abs(ref.solution), atol=0.1 * ref.norm_exact)


def test_gate_counts_are_reported() -> None:
    a, b = _random_system(2, False, 8)
    res = solve(a, b, clock_qubits=4, count_gates=True)
    assert res.depth is not None and res.depth > 0
    assert res.cx_count is not None and res.cx_count > 0
    assert res.summary()["cx_count"] == res.cx_count


def test_rejects_bad_input() -> None:
    with pytest.raises(np.linalg.LinAlgError):
        solve(np.array([[1.0, 1.0], [1.0, 1.0]]), np.array([1.0, 0.0]), 3)
    with pytest.raises(ValueError, match="backend"):
        solve(np.eye(2), np.ones(2), 3, backend="qpu")
    with pytest.raises(ValueError, match="Hermitian"):
        prepare(np.array([[1.0, 2.0], [0.0, 1.0]]), np.ones(2), 3, hermitian="assume")


def _carleman_block_system() -> tuple[np.ndarray, np.ndarray, int, int, int]:
    """Tiny dissipative quadratic GD map (n = 2, N = 2, T = 1): dense L, rhs, n, Δ, T."""
    from qtrain.quantum.carleman.linear_system import block_system
    from qtrain.quantum.carleman.linearization import carleman_matrix, lift

    rng = np.random.default_rng(11)
    n, order, steps, eta = 2, 2, 1, 0.1
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    hess = q @ np.diag([2.0, 5.0]) @ q.T
    f2 = 0.3 * rng.standard_normal((n, n * n))
    F = [-eta * 0.2 * rng.standard_normal(n), -eta * hess, -eta * f2]
    u0 = 0.3 * rng.standard_normal(n)
    C, bvec = carleman_matrix(F, order, variant="discrete")
    delta = C.shape[0]
    L, rhs = block_system(C, bvec, lift(u0, order), steps)
    return L.toarray(), rhs, n, delta, steps


def test_dilated_carleman_block_system_matches_classical_block_solve() -> None:
    from qtrain.quantum.carleman.linear_system import solve_block_system

    L, rhs, n, delta, steps = _carleman_block_system()
    assert not np.allclose(L, L.T)  # needs the dilation
    Y = solve_block_system(L, rhs, delta, method="forward")
    res = solve(L, rhs, clock_qubits=8, count_gates=False)
    assert res.dilated and res.signed and res.num_qubits == 5 + 8 + 1  # 24 -> 32 = 2^5
    assert res.fidelity >= 0.999
    assert np.allclose(res.exact_solution, Y.reshape(-1), atol=1e-12)
    final_weights = res.solution.reshape(steps + 1, delta)[steps, :n]
    assert np.allclose(final_weights, Y[steps, :n], atol=5e-3 * np.linalg.norm(Y))


def test_controlled_evolution_gate_matches_hamiltonian_gate() -> None:
    from qiskit.circuit.library import HamiltonianGate
    from qiskit.quantum_info import Operator

    from qtrain.quantum.circuits.hhl import ControlledEvolutionGate

    h, _ = hermitian_dilation(*_random_system(2, hermitian=False, seed=9))
    gate = ControlledEvolutionGate(h, 3.7)
    ref = HamiltonianGate(np.kron(np.diag([0.0, 1.0]), h), 3.7)
    assert np.allclose(Operator(gate).data, Operator(ref).data, atol=1e-10)
    assert np.allclose(Operator(gate.inverse()).data, Operator(ref.inverse()).data, atol=1e-10)


def test_clock_sweep_frame() -> None:
    from qtrain.quantum.circuits.hhl import clock_sweep

    a, b = _random_system(2, hermitian=True, seed=10)
    df = clock_sweep(a, b, [3, 5], count_gates=False)
    assert list(df["num_clock"]) == [3, 5]
    assert {"fidelity", "success_probability", "num_qubits", "depth", "cx_count"} <= set(df)
