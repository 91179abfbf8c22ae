"""Random polynomial GD maps with controlled spectra and nonlinearity (the Carleman studies'
toy maps, SPEC §1.3) and test cases: :func:`random_map`, :func:`random_sparse_map`,
:func:`nilpotent_map`."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from qtrain.quantum.carleman.polymaps import PolyMap, kron_power, operator_norm

__all__ = ["MAP_KINDS", "nilpotent_map", "random_map", "random_sparse_map"]

MAP_KINDS = ("dissipative", "almost_dissipative", "almost_dissipative_coupled", "divergent")


def _random_orthogonal(n: int, rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def _symmetric_tensor(n: int, order: int, rng: np.random.Generator) -> np.ndarray:
    """A random fully symmetric tensor with ``order`` indices of size n."""
    tensor = rng.standard_normal((n,) * order)
    perms = list(itertools.permutations(range(order)))
    return sum(np.transpose(tensor, p) for p in perms) / len(perms)


def random_map(
    n: int,
    kind: str = "dissipative",
    *,
    eta: float = 0.1,
    degree: int = 2,
    curvature: tuple[float, float] = (2.0, 6.0),
    negative_curvature: float = 1.0,
    nonlinearity: float | Sequence[float] = 1.0,
    gradient: float = 0.0,
    u0_norm: float = 0.3,
    seed: int = 0,
) -> PolyMap:
    """A GD map of a random polynomial loss with a controlled spectrum and nonlinearity.

    F_1 = −η·H with H = Q diag(λ) Qᵀ, λ uniform in ``curvature``; F_l = −η·G_l (l ≥ 2) with G_l
    a random fully symmetric (l+1)-tensor (a derivative of a scalar loss) of spectral norm
    ``nonlinearity`` (one value, or one per l = 2..degree); F_0 = −η·g with ‖g‖ = ``gradient``.
    ``kind`` sets the spectrum of I + F_1:

    - ``dissipative``: all λ > 0 (needs η·max λ < 2 for |1 − ηλ| < 1);
    - ``almost_dissipative``: one flat mode v (λ = 0, eigenvalue exactly 1) along which the loss
      is flat (every G_l(v, …, v) = 0, as for a continuous symmetry);
    - ``almost_dissipative_coupled``: the same flat mode, but the nonlinearity acts along it
      (G_l(v, …, v) ≠ 0), which couples the eigenvalue-1 modes of the Carleman matrix;
    - ``divergent``: one mode of negative curvature −``negative_curvature`` (eigenvalue > 1).
    """
    if kind not in MAP_KINDS:
        raise ValueError(f"kind must be one of {MAP_KINDS}, got {kind!r}")
    if degree < 1:
        raise ValueError("degree must be at least 1")
    rng = np.random.default_rng(seed)
    lo, hi = curvature
    lam = rng.uniform(lo, hi, size=n)
    if kind.startswith("almost_dissipative"):
        lam[0] = 0.0
    elif kind == "divergent":
        lam[0] = -abs(negative_curvature)
    q = _random_orthogonal(n, rng)
    hessian = (q * lam) @ q.T
    flat = q[:, 0]
    strengths = (
        [float(nonlinearity)] * max(degree - 1, 0)
        if np.isscalar(nonlinearity)
        else [float(x) for x in nonlinearity]
    )
    if len(strengths) < degree - 1:
        raise ValueError(f"need {degree - 1} nonlinearity values, got {len(strengths)}")
    F: list = [None] * (degree + 1)
    g = rng.standard_normal(n)
    if gradient > 0:
        F[0] = -eta * gradient * g / np.linalg.norm(g)
    F[1] = -eta * hessian
    for ell in range(2, degree + 1):
        tensor = _symmetric_tensor(n, ell + 1, rng)
        if kind == "almost_dissipative":
            along = tensor
            for _ in range(ell + 1):
                along = along @ flat
            outer = kron_power(flat, ell + 1).reshape((n,) * (ell + 1))
            tensor = tensor - along * outer
        elif kind == "almost_dissipative_coupled":
            along = tensor
            for _ in range(ell + 1):
                along = along @ flat
            outer = kron_power(flat, ell + 1).reshape((n,) * (ell + 1))
            tensor = tensor + (1.0 - along) * outer  # make the coupling G_l(v, …, v) = 1
        mat = tensor.reshape(n, n**ell)
        mat = mat * (strengths[ell - 2] / operator_norm(mat))
        F[ell] = -eta * mat
    direction = rng.standard_normal(n)
    u0 = u0_norm * direction / np.linalg.norm(direction)
    info = {
        "kind": kind,
        "n": n,
        "degree": degree,
        "curvature_min": float(lam.min()),
        "curvature_max": float(lam.max()),
        "seed": seed,
    }
    return PolyMap(F=F, eta=float(eta), u0=u0, name=kind, info=info)


def random_sparse_map(
    n: int,
    degree: int = 3,
    *,
    row_nnz: int = 3,
    eta: float = 0.1,
    curvature: tuple[float, float] = (0.5, 1.5),
    scale: float = 0.5,
    gradient: bool = False,
    seed: int = 0,
) -> PolyMap:
    """A sparse map for scaling studies: each F_l (l ≥ 1) has ``row_nnz`` random non-zeros per
    row (F_1 = −η(D + sparse symmetric part), D diagonal in ``curvature``), all CSR."""
    rng = np.random.default_rng(seed)

    def sparse_rows(cols: int, magnitude: float) -> sp.csr_matrix:
        k = min(row_nnz, cols)
        indices = np.concatenate(
            [np.sort(rng.choice(cols, size=k, replace=False)) for _ in range(n)]
        )
        data = rng.uniform(-magnitude, magnitude, size=n * k)
        indptr = np.arange(0, n * k + 1, k)
        return sp.csr_matrix((data, indices, indptr), shape=(n, cols))

    F: list = [None] * (degree + 1)
    if gradient:
        F[0] = -eta * rng.standard_normal(n) / np.sqrt(n)
    off = sparse_rows(n, scale / max(row_nnz, 1))
    off = 0.5 * (off + off.T)
    diag = sp.diags(rng.uniform(*curvature, size=n))
    F[1] = (-eta * (diag + off)).tocsr()
    for ell in range(2, degree + 1):
        F[ell] = (-eta * sparse_rows(n**ell, scale)).tocsr()
    u0 = rng.standard_normal(n)
    u0 *= 0.1 / np.linalg.norm(u0)
    info = {"n": n, "degree": degree, "row_nnz": row_nnz, "seed": seed}
    return PolyMap(F=F, eta=float(eta), u0=u0, name="sparse", info=info)


def nilpotent_map(
    n_driver: int,
    n_driven: int,
    degree: int = 2,
    *,
    eta: float = 0.1,
    gradient: bool = True,
    seed: int = 0,
) -> PolyMap:
    """A triangular map x' = A x + c, z' = B z + D x + Σ_l G_l x^{⊗l}: the nonlinearity reads only
    the linear block x and writes only into z, so the Carleman truncation at order ≥ ``degree``
    is exact for every number of steps (a test case)."""
    rng = np.random.default_rng(seed)
    a, m = n_driver, n_driven
    n = a + m
    F: list = [None] * (degree + 1)
    if gradient:
        F[0] = np.concatenate([rng.standard_normal(a), rng.standard_normal(m)]) * eta
    f1 = np.zeros((n, n))
    f1[:a, :a] = rng.standard_normal((a, a)) * eta
    f1[a:, a:] = rng.standard_normal((m, m)) * eta
    f1[a:, :a] = rng.standard_normal((m, a)) * eta
    F[1] = f1
    for ell in range(2, degree + 1):
        tensor = np.zeros((n,) + (n,) * ell)
        block = rng.standard_normal((m,) + (a,) * ell) * eta
        tensor[(slice(a, n),) + (slice(0, a),) * ell] = block
        F[ell] = tensor.reshape(n, n**ell)
    u0 = 0.5 * rng.standard_normal(n)
    return PolyMap(F=F, eta=float(eta), u0=u0, name="nilpotent", info={"n": n, "degree": degree})
