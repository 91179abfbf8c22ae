"""Gradient descent as a polynomial map u(t+1) = u(t) + Σ_l F_l u(t)^{⊗l} (SPEC §1.1, §1.3).

:class:`PolyMap` is the one interface the Carleman, linear-system and proxy code take: its
size ``n``, ``degree``, each term as a CSR matrix (:meth:`PolyMap.term`), the linear part
I + F_1, term norms and products; algorithms see a map only through these methods (a raw list of
terms is accepted everywhere and wrapped by :func:`as_polymap`).

A map's terms are a sequence ``F`` with ``F[0]`` of shape (n,) and ``F[l]`` of shape
(n, n**l), dense or scipy.sparse, ``None`` for absent terms. Tensor powers follow
:func:`numpy.kron`, so index (i_1, …, i_l) of u^{⊗l} is i_1·n^{l-1} + … + i_l and ``F[l]`` is a
C-order reshape of an (l+1)-way tensor. Every F_l carries one factor η (F_l = −η·∇^{l+1}L/l!
for a loss L).

Contents: the map (:class:`PolyMap`, :func:`as_polymap`), evaluation (:func:`kron_power`,
:func:`poly_apply`, :func:`gd_step`, :func:`symmetrize`), the dissipation numbers
(:func:`spectral_radius`, :func:`nonlinearity_ratio`) and the exact map of a quadratic loss
(:func:`quadratic_loss_map`). Elsewhere: random maps (:mod:`qtrain.quantum.carleman.random_maps`),
the digits problems and their exact maps (:mod:`qtrain.quantum.carleman.digits`), Taylor maps of
torch losses (:mod:`qtrain.quantum.carleman.taylor`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import scipy.sparse as sp

__all__ = [
    "PolyMap",
    "Terms",
    "as_polymap",
    "degree",
    "gd_step",
    "kron_power",
    "map_dimension",
    "nonlinearity_ratio",
    "operator_norm",
    "poly_apply",
    "quadratic_loss_map",
    "spectral_radius",
    "symmetrize",
]

Terms = Sequence[Any]


@dataclass(frozen=True)
class PolyMap:
    """A polynomial GD map: terms ``F``, learning rate ``eta`` (carried by every F_l), a start
    point ``u0`` (relative to the expansion point) and descriptive ``info``."""

    F: list
    eta: float
    u0: np.ndarray | None = None
    name: str = "map"
    info: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        """n, the length of u, read from the first present term."""
        for f in self.F:
            if f is not None:
                return int(f.shape[0])
        raise ValueError("the map has no terms")

    @property
    def degree(self) -> int:
        """q, the largest l with a present F_l."""
        present = self.orders()
        if not present:
            raise ValueError("the map has no terms")
        return max(present)

    def orders(self) -> list[int]:
        """The l of every present term F_l, ascending."""
        return [ell for ell, f in enumerate(self.F) if f is not None]

    def has(self, ell: int) -> bool:
        """Whether F_l is present."""
        return ell < len(self.F) and self.F[ell] is not None

    def term(self, ell: int) -> sp.csr_matrix | None:
        """F_l as a float CSR matrix of shape (n, n**l), F_0 as an (n, 1) column; ``None`` when
        absent. ``ValueError`` when the stored term has another shape."""
        if not self.has(ell):
            return None
        f, n = self.F[ell], self.n
        if ell == 0:
            dense = f.toarray() if sp.issparse(f) else np.asarray(f, dtype=float)
            mat = sp.csr_matrix(dense.reshape(n, 1))
        else:
            mat = sp.csr_matrix(f, dtype=float)
        if mat.shape != (n, n**ell):
            raise ValueError(f"F[{ell}] has shape {mat.shape}, expected {(n, n**ell)}")
        return mat

    def dense_term(self, ell: int) -> np.ndarray | None:
        """F_l as a dense float array, (n,) for F_0 and (n, n**l) otherwise; ``None`` when
        absent."""
        if not self.has(ell):
            return None
        f = self.F[ell]
        dense = f.toarray() if sp.issparse(f) else np.asarray(f, dtype=float)
        return dense.reshape(-1) if ell == 0 else dense

    def linear_part(self) -> sp.csr_matrix:
        """M_1 = I + F_1 as a CSR matrix (the identity when F_1 is absent)."""
        n = self.n
        f1 = self.F[1] if self.has(1) else None
        part = sp.identity(n, format="csr") + (
            sp.csr_matrix(f1) if f1 is not None else sp.csr_matrix((n, n))
        )
        if part.shape != (n, n):
            raise ValueError(f"F[1] has shape {part.shape}, expected {(n, n)}")
        return part

    def linear_dense(self) -> np.ndarray:
        """I + F_1 as a dense array."""
        n = self.n
        if not self.has(1):
            return np.eye(n)
        return np.eye(n) + self.dense_term(1)

    def term_norm(self, ell: int) -> float:
        """Spectral norm of F_l (F_0 as a column; 0 when absent)."""
        if not self.has(ell):
            return 0.0
        if ell == 0:
            return operator_norm(self.dense_term(0).reshape(-1, 1))
        return operator_norm(self.F[ell])

    def apply_term(self, ell: int, x: np.ndarray | None) -> np.ndarray:
        """F_l x for a vector x of length n**l (F_0 itself for l = 0, x unused), as a vector."""
        if ell == 0:
            return self.dense_term(0)
        return np.asarray(self.F[ell] @ x).reshape(-1)

    def apply(self, u: np.ndarray) -> np.ndarray:
        """Σ_l F_l u^{⊗l} (the increment of one GD step)."""
        u = np.asarray(u, dtype=float)
        out = np.zeros(self.n)
        for ell in self.orders():
            out += self.apply_term(ell, kron_power(u, ell))
        return out

    def step(self, u: np.ndarray) -> np.ndarray:
        """u + Σ_l F_l u^{⊗l}."""
        return np.asarray(u, dtype=float) + self.apply(u)

    def with_eta(self, eta: float) -> PolyMap:
        """The same loss at learning rate ``eta`` (every F_l rescaled by eta / self.eta)."""
        factor = eta / self.eta
        F = [None if f is None else f * factor for f in self.F]
        return replace(self, F=F, eta=float(eta))


def as_polymap(m: PolyMap | Terms) -> PolyMap:
    """``m`` itself, or a raw list of terms as a :class:`PolyMap` (learning rate unknown)."""
    if isinstance(m, PolyMap):
        return m
    return PolyMap(F=list(m), eta=math.nan)


# --------------------------------------------------------------------------- evaluation


def map_dimension(m: PolyMap | Terms) -> int:
    """n, the length of u, read from the first present term."""
    return as_polymap(m).n


def degree(m: PolyMap | Terms) -> int:
    """q, the largest l with a present F_l."""
    return as_polymap(m).degree


def kron_power(u: np.ndarray, ell: int) -> np.ndarray:
    """u^{⊗l} as a vector of length n**l (l = 0 gives [1.0])."""
    out = np.ones(1, dtype=np.result_type(u, float))
    for _ in range(ell):
        out = np.kron(out, u)
    return out


def poly_apply(m: PolyMap | Terms, u: np.ndarray) -> np.ndarray:
    """Σ_l F_l u^{⊗l} (the increment of one GD step)."""
    return as_polymap(m).apply(u)


def gd_step(m: PolyMap | Terms, u: np.ndarray) -> np.ndarray:
    """u + Σ_l F_l u^{⊗l}."""
    return as_polymap(m).step(u)


def symmetrize(f: Any, ell: int) -> np.ndarray:
    """The (n, n**l) term averaged over the l! orders of its input indices (same action on
    u^{⊗l}); a canonical form for comparing terms."""
    dense = f.toarray() if sp.issparse(f) else np.asarray(f, dtype=float)
    n = dense.shape[0]
    if ell <= 1:
        return dense.reshape(n, n**ell).copy()
    tensor = dense.reshape((n,) + (n,) * ell)
    perms = list(itertools.permutations(range(1, ell + 1)))
    acc = np.zeros_like(tensor)
    for perm in perms:
        acc += np.transpose(tensor, (0, *perm))
    return (acc / len(perms)).reshape(n, n**ell)


# --------------------------------------------------------------------------- dissipation


def operator_norm(f: Any) -> float:
    """Spectral norm of an (n, m) term (F_0 as a column): √λ_max(f fᵀ), computed on n×n."""
    if f is None:
        return 0.0
    if sp.issparse(f):
        f = f.tocsr()
        gram = (f @ f.T).toarray()
    else:
        dense = np.asarray(f, dtype=float)
        dense = dense.reshape(dense.shape[0], -1)
        gram = dense @ dense.T
    return float(np.sqrt(max(np.linalg.eigvalsh(gram)[-1], 0.0)))


def spectral_radius(m: PolyMap | Terms) -> float:
    """ρ(I + F_1): < 1 dissipative, = 1 almost dissipative, > 1 divergent (SPEC §1.3)."""
    return float(np.max(np.abs(np.linalg.eigvals(as_polymap(m).linear_dense()))))


def nonlinearity_ratio(m: PolyMap | Terms, u_in: np.ndarray) -> float:
    """R = (Σ_{l≥2} ‖F_l‖‖u_in‖^{l−1} + ‖F_0‖/‖u_in‖) / (1 − ‖I + F_1‖), spectral norms.

    Returns ``inf`` when ‖I + F_1‖ ≥ 1 (the bound does not apply) or when u_in = 0 while
    F_0 ≠ 0.
    """
    m = as_polymap(m)
    radius = float(np.linalg.norm(u_in))
    numerator = 0.0
    for ell in m.orders():
        if ell == 1:
            continue
        norm = m.term_norm(ell)
        if ell == 0:
            if norm == 0.0:
                continue
            if radius == 0.0:
                return math.inf
            numerator += norm / radius
        else:
            numerator += norm * radius ** (ell - 1)
    denominator = 1.0 - float(np.linalg.norm(m.linear_dense(), 2))
    if denominator <= 1e-12:  # ‖I + F_1‖ ≥ 1 up to rounding
        return math.inf
    return numerator / denominator


# ------------------------------------------------------------------- exact polynomial losses


def quadratic_loss_map(A: np.ndarray, b: np.ndarray, theta_bar: np.ndarray, eta: float) -> PolyMap:
    """GD on L(θ) = ½θᵀAθ − bᵀθ around θ̄: F_0 = −η(Aθ̄ − b), F_1 = −ηA (exact, q = 1)."""
    A = np.asarray(A, dtype=float)
    A = 0.5 * (A + A.T)
    F = [-eta * (A @ theta_bar - b), -eta * A]
    return PolyMap(F=F, eta=float(eta), name="quadratic", info={"n": A.shape[0]})
