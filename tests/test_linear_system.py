"""qtrain.quantum.carleman.linear_system against dense solves, explicit constructions and known
bounds."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from qtrain.quantum.carleman import linear_system as ls
from qtrain.quantum.carleman import linearization as cm
from qtrain.quantum.carleman import polymaps as pm
from qtrain.quantum.carleman import random_maps


def _system(seed=0, order=2, kind="dissipative", gradient=0.2):
    m = random_maps.random_map(2, kind, eta=0.1, gradient=gradient, u0_norm=0.3, seed=seed)
    C, b = cm.carleman_matrix(m.F, order)
    return m, C, b, cm.lift(m.u0, order)


def test_block_system_matches_explicit_dense_construction():
    _, C, b, y0 = _system()
    steps, padding, size = 3, 2, C.shape[0]
    L, rhs = ls.block_system(C, b, y0, steps, padding)
    blocks = steps + 1 + padding
    dense = np.eye(blocks * size)
    for t in range(blocks - 1):
        coupling = C.toarray() if t < steps else np.eye(size)
        dense[(t + 1) * size : (t + 2) * size, t * size : (t + 1) * size] = -coupling
    assert sp.issparse(L) and L.format == "csr"
    assert np.allclose(L.toarray(), dense)
    assert np.allclose(rhs, np.concatenate([y0, b, b, b, np.zeros(2 * size)]))


@pytest.mark.parametrize("padding", [0, 3])
def test_all_solvers_agree_with_the_carleman_iteration(padding):
    m, C, b, y0 = _system(seed=1)
    steps = 6
    L, rhs = ls.block_system(C, b, y0, steps, padding)
    reference = ls.carleman_iteration(C, b, y0, steps, padding)
    dense = np.linalg.solve(L.toarray(), rhs).reshape(reference.shape)
    forward = ls.solve_block_system(L, rhs, C.shape[0], "forward")
    direct = ls.solve_block_system(L, rhs, C.shape[0], "direct")
    for Y in (dense, forward, direct):
        assert np.allclose(Y, reference, rtol=1e-12, atol=1e-14)
    # the first level of the blocks is the Carleman trajectory; padded blocks repeat ŷ(T)
    traj = cm.carleman_trajectory(m.F, m.u0, steps, 2)
    assert np.allclose(forward[: steps + 1, :2], traj)
    assert np.allclose(forward[steps:], forward[steps])


def test_forward_substitution_refuses_a_non_triangular_matrix():
    L = sp.csr_matrix(np.array([[1.0, 1.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="triangular"):
        ls.solve_block_system(L, np.ones(2), 1, "forward")


def test_sparsity_counts():
    L = sp.csr_matrix(np.array([[1.0, 0, 2.0], [0, 0, 3.0], [4.0, 0, 5.0]]))
    assert ls.sparsity(L) == {"nnz": 5, "max_row_nnz": 2, "max_col_nnz": 3}
    _, C, b, y0 = _system()
    L, _ = ls.block_system(C, b, y0, 4)
    s = ls.sparsity(L)
    # block rows t ≥ 1 hold an identity entry plus a row of C (different block columns)
    assert s["max_row_nnz"] == np.diff(C.indptr).max() + 1
    assert s["max_col_nnz"] == np.diff(C.tocsc().indptr).max() + 1


def test_condition_number_exact_and_estimate_agree_with_numpy():
    _, C, b, y0 = _system(seed=2, kind="almost_dissipative", gradient=0.0)
    L, _ = ls.block_system(C, b, y0, 20)
    dense_kappa = np.linalg.cond(L.toarray())
    exact = ls.condition_number(L, "exact")
    estimate = ls.condition_number(L, "estimate")
    assert exact["kappa"] == pytest.approx(dense_kappa, rel=1e-10)
    assert estimate["kappa"] == pytest.approx(dense_kappa, rel=1e-6)
    assert exact["norm"] == pytest.approx(np.linalg.norm(L.toarray(), 2), rel=1e-10)
    assert ls.condition_number(L, "auto", exact_max_dim=10)["kappa_method"] == "estimate"


def test_kappa_bounded_when_contracting_and_linear_when_marginal():
    # contraction ‖C‖ = c < 1: κ ≤ (1 + c)/(1 − c) for every T (notes/quantum.md)
    c = 0.6
    C = sp.csr_matrix(np.diag([c, 0.3]))
    for steps in (4, 32, 128):
        L, _ = ls.block_system(C, np.zeros(2), np.ones(2), steps)
        assert ls.condition_number(L)["kappa"] <= (1 + c) / (1 - c) + 1e-9
    # marginal C = 1: L⁻¹ is the lower-triangular ones matrix, (T+1)/√3 ≲ κ ≤ 2(T+1)
    one = sp.csr_matrix(np.ones((1, 1)))
    kappas = []
    for steps in (16, 64):
        L, _ = ls.block_system(one, np.zeros(1), np.ones(1), steps)
        kappa = ls.condition_number(L)["kappa"]
        assert (steps + 1) / np.sqrt(3) <= kappa <= 2 * (steps + 1)
        kappas.append(kappa)
    assert kappas[1] / kappas[0] == pytest.approx(4.0, rel=0.1)


def test_final_share_and_padding():
    Y = np.array([[3.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    out = ls.final_share(Y, 2, n=1)
    assert out["final_share"] == pytest.approx(2.0 / 12.0)
    assert out["final_level1_share"] == pytest.approx(1.0 / 12.0)
    m, C, b, y0 = _system(seed=3)
    plain = ls.system_diagnostics(C, b, y0, 8, 0, F=m.F, u0=m.u0)
    padded = ls.system_diagnostics(C, b, y0, 8, 8, F=m.F, u0=m.u0)
    assert padded["final_share"] > plain["final_share"]
    assert padded["dimension"] == 17 * C.shape[0] and plain["dimension"] == 9 * C.shape[0]
    assert plain["spectral_radius"] == pytest.approx(pm.spectral_radius(m.F))
    assert plain["R"] == pytest.approx(pm.nonlinearity_ratio(m.F, m.u0))
    for key in ("nnz", "max_row_nnz", "max_col_nnz", "norm", "kappa", "kappa_method"):
        assert key in plain


def test_condition_sweep_rows():
    m = random_maps.random_map(2, "dissipative", eta=0.1, seed=4)
    rows = ls.condition_sweep(m.F, m.u0, 2, [1, 4], padding="T")
    assert [r["steps"] for r in rows] == [1, 4] and [r["padding"] for r in rows] == [1, 4]
    assert all(r["kappa"] >= 1 for r in rows)
