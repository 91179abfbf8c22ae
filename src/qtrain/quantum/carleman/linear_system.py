"""The block linear system of paper Eq. 6 (SPEC §1.4): T+1 Carleman steps stacked into L Y = B.

L = I − Σ_{t<T} |t+1⟩⟨t| ⊗ C (identity blocks on the diagonal, −C below), B = (ŷ_in, b, …, b),
Y = (ŷ(0), …, ŷ(T)). Optional identity padding (ref. 30) appends P steps ŷ(t+1) = ŷ(t) after T,
which raises the weight of the final blocks in ‖Y‖ (the post-selection success probability).

Solvers: forward substitution (the reference), a sparse direct LU, and the plain Carleman
iteration (:func:`carleman_iteration`). Diagnostics: dimension, sparsity, ‖L‖₂, κ(L) (exact
singular values when small, ARPACK estimates on L and on L⁻¹ through a sparse LU when large),
the final blocks' share, and the dissipation numbers R and ρ(I + F_1) of SPEC §1.3.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.linalg
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from qtrain.quantum.carleman.linearization import carleman_matrix, lift
from qtrain.quantum.carleman.polymaps import (
    PolyMap,
    Terms,
    as_polymap,
    nonlinearity_ratio,
    spectral_radius,
)

__all__ = [
    "block_system",
    "carleman_iteration",
    "condition_number",
    "condition_sweep",
    "final_share",
    "solve_block_system",
    "sparsity",
    "system_diagnostics",
]

log = logging.getLogger(__name__)


def block_system(
    C: sp.spmatrix, b: np.ndarray, y0: np.ndarray, steps: int, padding: int = 0
) -> tuple[sp.csr_matrix, np.ndarray]:
    """(L, rhs) of Eq. 6 for ``steps`` = T Carleman steps and ``padding`` identity steps.

    L has (T + 1 + padding) diagonal identity blocks of size Δ, −C on the first T subdiagonal
    blocks and −I on the padding ones; rhs = (y0, b × T, 0 × padding).
    """
    if steps < 0 or padding < 0:
        raise ValueError("steps and padding must be non-negative")
    C = sp.csr_matrix(C)
    size = C.shape[0]
    if C.shape != (size, size) or np.shape(b) != (size,) or np.shape(y0) != (size,):
        raise ValueError(
            f"C {C.shape}, b {np.shape(b)} and y0 {np.shape(y0)} must agree in dimension"
        )
    blocks = steps + 1 + padding
    coupled = np.zeros(blocks - 1)
    coupled[:steps] = 1.0
    sub_c = sp.diags(coupled, -1, shape=(blocks, blocks), format="csr")
    sub_i = sp.diags(1.0 - coupled, -1, shape=(blocks, blocks), format="csr")
    L = sp.identity(blocks * size, format="csr") - sp.kron(sub_c, C, format="csr")
    if padding:
        L = L - sp.kron(sub_i, sp.identity(size), format="csr")
    L = L.tocsr()
    L.eliminate_zeros()
    rhs = np.concatenate(
        [np.asarray(y0, dtype=float)]
        + [np.asarray(b, dtype=float)] * steps
        + [np.zeros(size)] * padding
    )
    return L, rhs


def solve_block_system(
    L: sp.spmatrix, rhs: np.ndarray, block_size: int, method: str = "forward"
) -> np.ndarray:
    """All blocks of Y, shape (blocks, Δ).

    ``forward``: block forward substitution (L must be unit block lower triangular);
    ``direct``: sparse LU (scipy.sparse.linalg.spsolve).
    """
    L = sp.csr_matrix(L)
    total = L.shape[0]
    if total % block_size:
        raise ValueError(f"dimension {total} is not a multiple of the block size {block_size}")
    blocks = total // block_size
    if method == "direct":
        return np.asarray(spla.spsolve(L.tocsc(), rhs)).reshape(blocks, block_size)
    if method != "forward":
        raise ValueError(f"method must be 'forward' or 'direct', got {method!r}")
    Y = np.zeros(total)
    for t in range(blocks):
        rows = slice(t * block_size, (t + 1) * block_size)
        strip = L[rows]
        diagonal = strip[:, rows]
        if (diagonal - sp.identity(block_size)).count_nonzero() or strip[
            :, (t + 1) * block_size :
        ].count_nonzero():
            raise ValueError("forward substitution needs a unit block lower-triangular L")
        Y[rows] = rhs[rows] - strip @ Y  # Y's block t is still zero here
    return Y.reshape(blocks, block_size)


def carleman_iteration(
    C: sp.spmatrix, b: np.ndarray, y0: np.ndarray, steps: int, padding: int = 0
) -> np.ndarray:
    """ŷ(t+1) = C ŷ(t) + b for t < T, then ``padding`` copies of ŷ(T): shape (blocks, Δ)."""
    out = [np.asarray(y0, dtype=float)]
    for _ in range(steps):
        out.append(C @ out[-1] + b)
    out.extend([out[-1]] * padding)
    return np.vstack(out)


def sparsity(L: sp.spmatrix) -> dict[str, int]:
    """nnz and the maximum non-zeros per row and per column."""
    csr = sp.csr_matrix(L)
    csr.eliminate_zeros()
    csc = csr.tocsc()
    return {
        "nnz": int(csr.nnz),
        "max_row_nnz": int(np.diff(csr.indptr).max(initial=0)),
        "max_col_nnz": int(np.diff(csc.indptr).max(initial=0)),
    }


def condition_number(
    L: sp.spmatrix, method: str = "auto", exact_max_dim: int = 1000
) -> dict[str, Any]:
    """κ(L) = σ_max/σ_min and ‖L‖₂.

    ``exact``: all singular values of the dense matrix (scipy.linalg.svdvals). ``estimate``:
    σ_max by ARPACK (scipy.sparse.linalg.svds, k=1) on L and σ_min = 1/‖L⁻¹‖₂ with ‖L⁻¹‖₂ by
    ARPACK on L⁻¹ applied through a sparse LU (splu). ``auto``: exact up to ``exact_max_dim``.
    """
    L = sp.csr_matrix(L)
    dim = L.shape[0]
    if method == "auto":
        method = "exact" if dim <= exact_max_dim else "estimate"
    if method == "exact":
        sv = scipy.linalg.svdvals(L.toarray())
        smax, smin = float(sv[0]), float(sv[-1])
    elif method == "estimate":
        smax = float(_largest_singular_value(spla.aslinearoperator(L)))
        lu = spla.splu(L.tocsc())
        inverse = spla.LinearOperator(
            L.shape, matvec=lu.solve, rmatvec=lambda x: lu.solve(x, trans="T"), dtype=float
        )
        smin = 1.0 / float(_largest_singular_value(inverse))
    else:
        raise ValueError(f"method must be 'auto', 'exact' or 'estimate', got {method!r}")
    kappa = smax / smin if smin > 0 else math.inf
    return {"kappa": kappa, "norm": smax, "sigma_min": smin, "kappa_method": method}


def _largest_singular_value(op: spla.LinearOperator) -> float:
    """ARPACK (implicitly restarted Lanczos on opᵀop) with a wide Krylov space: the top of the
    spectrum of L is clustered (padding, eigenvalues near 1 of C), where a narrow one stalls."""
    dim = min(op.shape)
    v0 = np.random.default_rng(0).standard_normal(dim)
    ncv = min(dim - 1, 40)
    values = spla.svds(
        op,
        k=1,
        ncv=ncv,
        which="LM",
        return_singular_vectors=False,
        v0=v0,
        tol=1e-8,
        maxiter=20 * dim,
    )
    return float(values[0])


def final_share(Y: np.ndarray, steps: int, n: int | None = None) -> dict[str, float]:
    """Weight of the blocks t ≥ T in ‖Y‖²: the chance that measuring the time register lands on
    the answer (``final_share``); with ``n``, also the weight of the first Carleman level of
    those blocks, where u(T) lives (``final_level1_share``)."""
    total = float(np.sum(Y**2))
    out = {"final_share": float(np.sum(Y[steps:] ** 2)) / total if total > 0 else math.nan}
    if n is not None:
        level1 = float(np.sum(Y[steps:, :n] ** 2))
        out["final_level1_share"] = level1 / total if total > 0 else math.nan
    return out


def system_diagnostics(
    C: sp.spmatrix,
    b: np.ndarray,
    y0: np.ndarray,
    steps: int,
    padding: int = 0,
    *,
    F: PolyMap | Terms | None = None,
    u0: np.ndarray | None = None,
    kappa_method: str = "auto",
    exact_max_dim: int = 1000,
) -> dict[str, Any]:
    """Dimension, sparsity, ‖L‖₂, κ(L) (and how it was obtained), the final blocks' share of
    ‖Y‖² (with and without the first level only), and, when the map ``F`` and ``u0`` are given,
    R and ρ(I + F_1)."""
    L, rhs = block_system(C, b, y0, steps, padding)
    size = C.shape[0]
    Y = solve_block_system(L, rhs, size, "forward")
    out: dict[str, Any] = {
        "steps": steps,
        "padding": padding,
        "block_size": size,
        "dimension": L.shape[0],
        **sparsity(L),
        **condition_number(L, kappa_method, exact_max_dim),
        **final_share(Y, steps, as_polymap(F).n if F is not None else None),
    }
    if F is not None:
        out["spectral_radius"] = spectral_radius(F)
        out["R"] = nonlinearity_ratio(F, u0) if u0 is not None else math.nan
    return out


def condition_sweep(
    F: PolyMap | Terms,
    u0: np.ndarray,
    order: int,
    steps_list: Sequence[int],
    padding: str | int = 0,
    variant: str = "discrete",
    **kwargs: Any,
) -> list[dict[str, Any]]:
    """:func:`system_diagnostics` for each T in ``steps_list``; ``padding="T"`` pads T steps."""
    C, b = carleman_matrix(F, order, variant)
    y0 = lift(u0, order)
    rows = []
    for steps in steps_list:
        pad = steps if padding == "T" else int(padding)
        row = system_diagnostics(C, b, y0, steps, pad, F=F, u0=u0, **kwargs)
        row["order"] = order
        rows.append(row)
        log.info(
            "T=%d padding=%d: dim %d, kappa %.4g (%s), final share %.3g",
            steps,
            pad,
            row["dimension"],
            row["kappa"],
            row["kappa_method"],
            row["final_share"],
        )
    return rows
