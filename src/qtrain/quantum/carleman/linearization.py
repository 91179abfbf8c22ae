"""Discrete Carleman linearization of a polynomial map (SPEC §1.2, paper Eq. 5).

With M_1 = I + F_1 and M_l = F_l (l ≠ 1), u' = Σ_l M_l u^{⊗l} and y_j = u^{⊗j} obey
y_j' = Σ_k C_{j,k} y_k with C_{j,k} = Σ_{l_1+…+l_j=k} M_{l_1} ⊗ … ⊗ M_{l_j}; the all-zero
combination is the constant b_j = F_0^{⊗j}. Truncating at order N keeps y_1 … y_N
(Δ = Σ_{j≤N} n^j) and drops every coupling to k > N: ŷ(t+1) = C ŷ(t) + b.

Every function takes the map as a :class:`~qtrain.quantum.carleman.polymaps.PolyMap` (or a raw list
of terms) and sees it only through its methods: size, degree, terms as CSR, the linear part.

``variant="discrete"`` builds the exact row expansion by a sparse recursion over j (row j's
blocks are row j−1's blocks ⊗ each M_c, orders above N dropped), never forming a dense n^N
object. ``variant="first_order"`` keeps only terms with at most one non-identity factor: the
forward-Euler step I + A of the continuous Carleman system dy/dt = A y + b of Liu et al.,
PNAS 118 (2021), whose blocks are Kronecker sums.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np
import scipy.sparse as sp

from qtrain.quantum.carleman.polymaps import PolyMap, Terms, as_polymap, kron_power

__all__ = [
    "VARIANTS",
    "block_offsets",
    "carleman_dimension",
    "carleman_matrix",
    "carleman_matrix_dense_reference",
    "carleman_trajectory",
    "exact_trajectory",
    "lift",
    "variant_difference",
]

VARIANTS = ("discrete", "first_order")


def carleman_dimension(n: int, order: int) -> int:
    """Δ = Σ_{j=1..order} n**j."""
    return sum(n**j for j in range(1, order + 1))


def block_offsets(n: int, order: int) -> list[int]:
    """Start index of block j (j = 1..order) in ŷ, plus the total Δ at the end."""
    offsets = [0]
    for j in range(1, order + 1):
        offsets.append(offsets[-1] + n**j)
    return offsets


def lift(u: np.ndarray, order: int) -> np.ndarray:
    """ŷ = (u, u^{⊗2}, …, u^{⊗order})."""
    u = np.asarray(u, dtype=float)
    return np.concatenate([kron_power(u, j) for j in range(1, order + 1)])


def _factors(m: PolyMap) -> dict[int, sp.csr_matrix]:
    """M_c as CSR matrices of shape (n, n**c): M_0 = F_0 as a column, M_1 = I + F_1."""
    M: dict[int, sp.csr_matrix] = {}
    for c in m.orders():
        if c == 1:
            continue
        mat = m.term(c)
        mat.eliminate_zeros()
        if mat.nnz:
            M[c] = mat
    M[1] = m.linear_part()
    return dict(sorted(M.items()))


def _kron_csr(A: sp.csr_matrix, B: sp.csr_matrix) -> sp.csr_matrix:
    """A ⊗ B for CSR matrices, written straight into CSR arrays (sorted indices, no duplicates,
    no COO intermediate): one vectorized pass per row of B."""
    A = A.tocsr()
    B = B.tocsr()
    A.sum_duplicates()
    B.sum_duplicates()
    (m, n_a), (p, q) = A.shape, B.shape
    shape = (m * p, n_a * q)
    count_a = np.diff(A.indptr)
    count_b = np.diff(B.indptr)
    indptr = np.zeros(m * p + 1, dtype=np.int64)
    np.cumsum(np.outer(count_a, count_b).ravel(), out=indptr[1:])
    total = int(indptr[-1])
    index_dtype = np.int32 if max(total, shape[1]) < np.iinfo(np.int32).max else np.int64
    indices = np.empty(total, dtype=index_dtype)
    data = np.empty(total, dtype=np.result_type(A.dtype, B.dtype))
    row_a = np.repeat(np.arange(m), count_a)
    local_a = np.arange(A.nnz) - A.indptr[row_a]
    col_a = A.indices.astype(index_dtype) * q
    for s in range(p):
        k = int(count_b[s])
        if k == 0 or A.nnz == 0:
            continue
        lo, hi = B.indptr[s], B.indptr[s + 1]
        start = indptr[row_a * p + s] + local_a * k
        dest = (start[:, None] + np.arange(k)).ravel()
        indices[dest] = (col_a[:, None] + B.indices[lo:hi].astype(index_dtype)).ravel()
        data[dest] = (A.data[:, None] * B.data[lo:hi]).ravel()
    return sp.csr_matrix((data, indices, indptr.astype(index_dtype)), shape=shape)


def _discrete_rows(M: dict[int, sp.csr_matrix], order: int) -> Iterator[dict[int, sp.csr_matrix]]:
    """Row j's blocks {k: C_{j,k}} (k = 0 is the constant column), j = 1 … order, by the
    recursion over j; only the previous row is kept."""
    row = {c: m for c, m in M.items() if c <= order}
    yield row
    for _ in range(2, order + 1):
        current: dict[int, sp.csr_matrix] = {}
        for k_prev, block in row.items():
            for c, factor in M.items():
                k = k_prev + c
                if k > order:
                    continue
                term = _kron_csr(block, factor)
                current[k] = term if k not in current else current[k] + term
                del term
        row = current
        yield row


def _first_order_rows(
    m: PolyMap, M: dict[int, sp.csr_matrix], n: int, order: int
) -> Iterator[dict[int, sp.csr_matrix]]:
    """Row j's blocks {k: …}: I on the diagonal plus Kronecker-sum placements of each F_l."""
    terms: dict[int, sp.csr_matrix] = {c: f for c, f in M.items() if c != 1}
    if m.has(1):
        terms[1] = m.term(1)
    for j in range(1, order + 1):
        row: dict[int, sp.csr_matrix] = {j: sp.identity(n**j, format="csr")}
        for ell, f in sorted(terms.items()):
            k = j + ell - 1
            if k > order:
                continue
            for i in range(1, j + 1):
                left = sp.identity(n ** (i - 1), format="csr")
                right = sp.identity(n ** (j - i), format="csr")
                term = sp.kron(sp.kron(left, f, format="csr"), right, format="csr")
                row[k] = term if k not in row else row[k] + term
        yield row


def carleman_matrix(
    m: PolyMap | Terms, order: int, variant: str = "discrete"
) -> tuple[sp.csr_matrix, np.ndarray]:
    """(C, b) of the order-``order`` Carleman system ŷ(t+1) ≈ C ŷ(t) + b.

    C is a Δ×Δ CSR matrix, b a length-Δ vector (b_j = F_0^{⊗j} for ``discrete``; only b_1 = F_0
    for ``first_order``).
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    if order < 1:
        raise ValueError(f"order must be at least 1, got {order}")
    m = as_polymap(m)
    n = m.n
    M = _factors(m)
    rows = _discrete_rows(M, order) if variant == "discrete" else _first_order_rows(m, M, n, order)
    block_rows: list[list[sp.csr_matrix | None]] = []
    b_parts = []
    for j, row in enumerate(rows, start=1):
        block_rows.append([row.get(k) for k in range(1, order + 1)])
        const = row.get(0)
        b_parts.append(const.toarray().reshape(-1) if const is not None else np.zeros(n**j))
        del row  # the generator keeps it only until the next row is built
    C = _assemble(block_rows, [n**k for k in range(1, order + 1)])
    return C, np.concatenate(b_parts)


def _assemble(
    block_rows: list[list[sp.csr_matrix | None]], sizes: list[int], chunk: int = 1 << 16
) -> sp.csr_matrix:
    """The block matrix [[B_jk]] (block j×k of shape sizes[j]×sizes[k], None = zero) as CSR,
    written straight into its final arrays; each block is released once copied, and entries
    move in chunks of about ``chunk`` so that no transient array is as large as a block."""
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    dim = int(offsets[-1])
    counts = np.zeros(dim, dtype=np.int64)
    for j, blocks in enumerate(block_rows):
        for block in blocks:
            if block is not None:
                block.sum_duplicates()
                counts[offsets[j] : offsets[j + 1]] += np.diff(block.indptr)
    nnz = int(counts.sum())
    index_dtype = np.int32 if max(nnz, dim) < np.iinfo(np.int32).max else np.int64
    indptr = np.zeros(dim + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    del counts
    indices = np.empty(nnz, dtype=index_dtype)
    data = np.empty(nnz)
    for j, blocks in enumerate(block_rows):
        row0, nrows = int(offsets[j]), sizes[j]
        filled = indptr[row0 : row0 + nrows].copy()  # next free slot of each row
        for k in range(len(blocks)):
            block, blocks[k] = blocks[k], None
            if block is None or block.nnz == 0:
                continue
            bp = block.indptr
            r = 0
            while r < nrows:  # rows [r, stop) hold about `chunk` entries
                stop = int(np.searchsorted(bp, bp[r] + chunk, side="right"))
                stop = min(max(stop - 1, r + 1), nrows)
                lo, hi = int(bp[r]), int(bp[stop])
                if hi > lo:
                    local = np.repeat(np.arange(r, stop), np.diff(bp[r : stop + 1]))
                    dest = filled[local] + (np.arange(lo, hi) - bp[local])
                    indices[dest] = block.indices[lo:hi] + offsets[k]
                    data[dest] = block.data[lo:hi]
                filled[r:stop] += np.diff(bp[r : stop + 1])
                r = stop
            del block
    return sp.csr_matrix((data, indices, indptr.astype(index_dtype)), shape=(dim, dim))


def carleman_matrix_dense_reference(
    m: PolyMap | Terms, order: int
) -> tuple[np.ndarray, np.ndarray]:
    """The straightforward construction, for benchmarks and checks: every Kronecker term
    M_{l_1} ⊗ … ⊗ M_{l_j} formed separately and densely, summed into a dense C."""
    m = as_polymap(m)
    n, q = m.n, m.degree
    M = {c: f.toarray() for c, f in _factors(m).items()}
    offsets = block_offsets(n, order)
    C = np.zeros((offsets[-1], offsets[-1]))
    b = np.zeros(offsets[-1])
    for j in range(1, order + 1):
        for ls in itertools.product(range(q + 1), repeat=j):
            k = sum(ls)
            if k > order or any(c not in M for c in ls):
                continue
            term = np.ones((1, 1))
            for c in ls:
                term = np.kron(term, M[c])
            rows = slice(offsets[j - 1], offsets[j])
            if k == 0:
                b[rows] += term[:, 0]
            else:
                C[rows, offsets[k - 1] : offsets[k]] += term
    return C, b


def exact_trajectory(m: PolyMap | Terms, u0: np.ndarray, steps: int) -> np.ndarray:
    """The nonlinear map iterated: array (steps+1, n) with row t = u(t)."""
    m = as_polymap(m)
    u = np.asarray(u0, dtype=float).copy()
    out = np.empty((steps + 1, u.size))
    out[0] = u
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(steps):
            u = m.step(u)
            out[t + 1] = u
    return out


def carleman_trajectory(
    m: PolyMap | Terms,
    u0: np.ndarray,
    steps: int,
    order: int,
    variant: str = "discrete",
    *,
    system: tuple[sp.csr_matrix, np.ndarray] | None = None,
) -> np.ndarray:
    """First block of the truncated linear iteration ŷ(t+1) = C ŷ(t) + b: array (steps+1, n).

    ``system`` passes a prebuilt (C, b) to avoid rebuilding it.
    """
    C, b = system if system is not None else carleman_matrix(m, order, variant)
    u0 = np.asarray(u0, dtype=float)
    n = u0.size
    y = lift(u0, order)
    out = np.empty((steps + 1, n))
    out[0] = u0
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(steps):
            y = C @ y + b
            out[t + 1] = y[:n]
    return out


def variant_difference(
    m: PolyMap | Terms, u0: np.ndarray, steps: int, order: int
) -> dict[str, float]:
    """How far ``discrete`` and ``first_order`` are apart for one map.

    matrix_fro = ‖C_d − C_f‖_F, matrix_b = ‖b_d − b_f‖, one_step = ‖(C_d ŷ_0 + b_d) − (C_f ŷ_0 +
    b_f)‖ (the lifted state after one step from ŷ_0 = lift(u0)), trajectory_T = ‖u_d(T) − u_f(T)‖
    (first blocks after ``steps`` steps).
    """
    m = as_polymap(m)
    Cd, bd = carleman_matrix(m, order, "discrete")
    Cf, bf = carleman_matrix(m, order, "first_order")
    diff = (Cd - Cf).tocsr()
    y0 = lift(u0, order)
    one_step = (diff @ y0) + (bd - bf)
    ud = carleman_trajectory(m, u0, steps, order, "discrete", system=(Cd, bd))[-1]
    uf = carleman_trajectory(m, u0, steps, order, "first_order", system=(Cf, bf))[-1]
    return {
        "matrix_fro": float(np.sqrt(np.sum(diff.data**2))),
        "matrix_b": float(np.linalg.norm(bd - bf)),
        "one_step": float(np.linalg.norm(one_step)),
        "trajectory_T": float(np.linalg.norm(ud - uf)),
    }
