"""qtrain.quantum.carleman.linearization against brute-force expansions and exact iterations."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp

from qtrain.quantum.carleman import linearization as cm
from qtrain.quantum.carleman import polymaps as pm
from qtrain.quantum.carleman import random_maps


def _random_terms(n, q, seed, scale=0.3, constant=True):
    rng = np.random.default_rng(seed)
    F = [scale * rng.standard_normal(n) if constant else None]
    F += [scale * rng.standard_normal((n, n**ell)) for ell in range(1, q + 1)]
    return F


def _empty_system(n, order):
    """Zero matrix and vector over the Kronecker blocks u, u⊗u, …, u^⊗order, and the blocks'
    offsets."""
    starts = np.concatenate([[0], np.cumsum([n**j for j in range(1, order + 1)])])
    return np.zeros((starts[-1], starts[-1])), np.zeros(starts[-1]), starts


def _add_block(A, b, starts, j, k, block):
    """Add ``block`` at rows of degree ``j`` and columns of degree ``k`` (k = 0: into b)."""
    rows = slice(starts[j - 1], starts[j])
    if k == 0:
        b[rows] += block[:, 0]
    else:
        A[rows, starts[k - 1] : starts[k]] += block


def _brute_force(F, order):
    """Oracle: enumerate every tuple (l_1..l_j) and form M_{l_1} ⊗ … ⊗ M_{l_j} with np.kron."""
    n = F[1].shape[0]
    M = {0: np.asarray(F[0]).reshape(n, 1) if F[0] is not None else np.zeros((n, 1))}
    M[1] = np.eye(n) + F[1]
    for ell in range(2, len(F)):
        M[ell] = F[ell]
    C, b, starts = _empty_system(n, order)
    for j in range(1, order + 1):
        for ls in itertools.product(sorted(M), repeat=j):
            k = sum(ls)
            if k > order:
                continue
            term = M[ls[0]]
            for c in ls[1:]:
                term = np.kron(term, M[c])
            _add_block(C, b, starts, j, k, term)
    return C, b


def _continuous_brute_force(F, order):
    """Oracle: A of dy_j/dt = Σ_i u⊗…⊗f(u)⊗…⊗u, entry by entry with explicit identities."""
    n = F[1].shape[0]
    A, b, starts = _empty_system(n, order)
    for j in range(1, order + 1):
        for ell, f in enumerate(F):
            if f is None:
                continue
            f = np.asarray(f).reshape(n, n**ell)
            k = j + ell - 1
            if k > order:
                continue
            block = sum(
                np.kron(np.kron(np.eye(n ** (i - 1)), f), np.eye(n ** (j - i)))
                for i in range(1, j + 1)
            )
            _add_block(A, b, starts, j, k, block)
    return A, b


@pytest.mark.parametrize(
    ("n", "q", "order"), [(1, 2, 4), (2, 2, 3), (2, 3, 3), (3, 2, 2), (3, 3, 2), (2, 1, 3)]
)
def test_discrete_matrix_equals_brute_force_expansion(n, q, order):
    F = _random_terms(n, q, seed=n + 10 * q + 100 * order)
    C, b = cm.carleman_matrix(F, order)
    C_ref, b_ref = _brute_force(F, order)
    assert sp.issparse(C) and C.format == "csr"
    assert C.shape == (cm.carleman_dimension(n, order),) * 2
    assert np.allclose(C.toarray(), C_ref, atol=1e-13)
    assert np.allclose(b, b_ref, atol=1e-13)
    C_dense, b_dense = cm.carleman_matrix_dense_reference(F, order)
    assert np.allclose(C_dense, C_ref, atol=1e-13) and np.allclose(b_dense, b_ref, atol=1e-13)


@pytest.mark.parametrize(("n", "q", "order"), [(2, 2, 4), (3, 2, 2), (2, 3, 3)])
def test_rows_reproduce_the_tensor_power_of_one_step(n, q, order):
    """(C ŷ(u) + b)_j = (u + Σ F_l u^{⊗l})^{⊗j} for rows j with j·q ≤ N (nothing truncated)."""
    F = _random_terms(n, q, seed=7)
    C, b = cm.carleman_matrix(F, order)
    rng = np.random.default_rng(8)
    u = rng.standard_normal(n)
    y_next = C @ cm.lift(u, order) + b
    u_next = pm.gd_step(F, u)
    offsets = cm.block_offsets(n, order)
    for j in range(1, order + 1):
        if j * q <= order:
            block = y_next[offsets[j - 1] : offsets[j]]
            assert np.allclose(block, pm.kron_power(u_next, j))


@pytest.mark.parametrize(("n", "q", "order"), [(2, 2, 3), (3, 3, 3), (2, 1, 2)])
def test_first_order_is_forward_euler_of_continuous_carleman(n, q, order):
    F = _random_terms(n, q, seed=9)
    C, b = cm.carleman_matrix(F, order, variant="first_order")
    A, b_ref = _continuous_brute_force(F, order)
    assert np.allclose(C.toarray(), np.eye(A.shape[0]) + A)
    assert np.allclose(b, b_ref)
    # and its trajectory is forward Euler (step 1) of dy/dt = A y + b
    u0 = 0.3 * np.random.default_rng(10).standard_normal(n)
    traj = cm.carleman_trajectory(F, u0, 5, order, "first_order")
    y = cm.lift(u0, order)
    for t in range(5):
        y = y + (A @ y + b_ref)
        assert np.allclose(traj[t + 1], y[:n])


def test_first_order_rows_match_the_derivative_of_tensor_powers():
    """Rows j with j + q − 1 ≤ N: (C_f ŷ + b_f)_j = u^{⊗j} + Σ_i u^{⊗(i−1)} ⊗ f(u) ⊗ u^{⊗(j−i)}."""
    n, q, order = 2, 2, 3
    F = _random_terms(n, q, seed=11)
    C, b = cm.carleman_matrix(F, order, variant="first_order")
    u = np.random.default_rng(12).standard_normal(n)
    fu = pm.poly_apply(F, u)
    y_next = C @ cm.lift(u, order) + b
    offsets = cm.block_offsets(n, order)
    for j in (1, 2):
        expected = pm.kron_power(u, j) + sum(
            np.kron(np.kron(pm.kron_power(u, i - 1), fu), pm.kron_power(u, j - i))
            for i in range(1, j + 1)
        )
        assert np.allclose(y_next[offsets[j - 1] : offsets[j]], expected)


def test_zero_constant_gives_block_upper_triangular_with_kron_powers_on_diagonal():
    n, order = 2, 3
    F = _random_terms(n, 2, seed=13, constant=False)
    C, b = cm.carleman_matrix(F, order)
    assert np.all(b == 0)
    dense = C.toarray()
    offsets = cm.block_offsets(n, order)
    M1 = np.eye(n) + F[1]
    for j in range(1, order + 1):
        rows = slice(offsets[j - 1], offsets[j])
        diag = M1
        for _ in range(j - 1):
            diag = np.kron(diag, M1)
        assert np.allclose(dense[rows, rows], diag)
        assert np.allclose(dense[rows, : offsets[j - 1]], 0.0)


def test_linear_affine_map_is_exact_at_order_one():
    F = _random_terms(3, 1, seed=14)
    u0 = np.array([0.5, -0.2, 0.1])
    exact = cm.exact_trajectory(F, u0, 25)
    for order in (1, 2, 3):
        approx = cm.carleman_trajectory(F, u0, 25, order)
        assert approx.shape == (26, 3)
        assert np.allclose(approx, exact, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("degree", "order"), [(2, 2), (2, 3), (3, 3)])
def test_nilpotent_nonlinearity_is_exact_once_order_reaches_degree(degree, order):
    m = random_maps.nilpotent_map(2, 1, degree=degree, eta=0.2, seed=15)
    exact = cm.exact_trajectory(m.F, m.u0, 30)
    approx = cm.carleman_trajectory(m.F, m.u0, 30, order)
    scale = np.max(np.abs(exact))
    assert np.max(np.abs(approx - exact)) < 1e-12 * max(scale, 1.0)
    # one order below the degree is not exact
    low = cm.carleman_trajectory(m.F, m.u0, 30, degree - 1)
    assert np.max(np.abs(low - exact)) > 1e-6


def test_sparse_and_dense_inputs_agree():
    m = random_maps.random_sparse_map(4, degree=3, row_nnz=2, gradient=True, seed=16)
    dense_F = [f if f is None or not sp.issparse(f) else f.toarray() for f in m.F]
    C1, b1 = cm.carleman_matrix(m.F, 3)
    C2, b2 = cm.carleman_matrix(dense_F, 3)
    assert abs(C1 - C2).max() < 1e-15 and np.allclose(b1, b2)
    assert np.allclose(cm.exact_trajectory(m.F, m.u0, 4), cm.exact_trajectory(dense_F, m.u0, 4))


def test_dissipative_error_falls_with_order():
    m = random_maps.random_map(3, "dissipative", eta=0.1, u0_norm=0.3, seed=17)
    exact = cm.exact_trajectory(m.F, m.u0, 20)[-1]
    orders = [1, 2, 3, 4]
    errors = [np.linalg.norm(cm.carleman_trajectory(m.F, m.u0, 20, N)[-1] - exact) for N in orders]
    assert all(e2 < 0.5 * e1 for e1, e2 in itertools.pairwise(errors))
    assert [cm.carleman_matrix(m.F, N)[0].shape[0] for N in orders] == [3, 12, 39, 120]


def test_discrete_and_first_order_differ_at_second_order_in_eta():
    m = random_maps.random_map(3, "dissipative", eta=0.1, degree=3, gradient=0.2, seed=18)
    small = cm.variant_difference(m.with_eta(1e-3).F, m.u0, 5, 3)
    half = cm.variant_difference(m.with_eta(5e-4).F, m.u0, 5, 3)
    for key in ("matrix_fro", "one_step", "matrix_b"):
        assert small[key] / half[key] == pytest.approx(4.0, rel=0.01)
    # row 1 is the same in both variants
    Cd, _ = cm.carleman_matrix(m.F, 3, "discrete")
    Cf, _ = cm.carleman_matrix(m.F, 3, "first_order")
    assert np.allclose(Cd[:3].toarray(), Cf[:3].toarray())


def test_lift_and_errors():
    u = np.array([1.0, 2.0])
    assert np.allclose(cm.lift(u, 2), [1, 2, 1, 2, 2, 4])
    F = [None, np.zeros((2, 2))]
    with pytest.raises(ValueError, match="variant"):
        cm.carleman_matrix(F, 2, variant="continuous")
    with pytest.raises(ValueError, match="order"):
        cm.carleman_matrix(F, 0)
    with pytest.raises(ValueError, match="shape"):
        cm.carleman_matrix([None, np.zeros((2, 2)), np.zeros((2, 3))], 2)


def test_kron_csr_matches_scipy_kron():
    for (m, n), (p, q), seed in [((5, 7), (3, 4), 1), ((1, 6), (4, 1), 2), ((6, 1), (2, 9), 3)]:
        A = sp.random(m, n, density=0.4, random_state=seed, format="csr")
        B = sp.random(p, q, density=0.5, random_state=seed + 10, format="csr")
        K = cm._kron_csr(A, B)
        assert K.shape == (m * p, n * q)
        assert abs(K - sp.kron(A, B)).max() == 0.0
        # written in canonical form: column indices increase within every row
        assert all(np.all(np.diff(K.indices[a:b]) > 0) for a, b in itertools.pairwise(K.indptr))
