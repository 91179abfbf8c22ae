"""Gradient descent as a polynomial map u(t+1) = u(t) + Σ_l F_l u(t)^{⊗l} (SPEC §1.1, §1.3).

A map is a sequence ``F`` with ``F[0]`` of shape (n,) and ``F[l]`` of shape (n, n**l), dense or
scipy.sparse, ``None`` for absent terms. Tensor powers follow :func:`numpy.kron`, so index
(i_1, …, i_l) of u^{⊗l} is i_1·n^{l-1} + … + i_l and ``F[l]`` is a C-order reshape of an
(l+1)-way tensor. Every F_l carries one factor η (F_l = −η·∇^{l+1}L/l! for a loss L).

Contents: evaluation (:func:`kron_power`, :func:`poly_apply`, :func:`gd_step`), the dissipation
numbers (:func:`spectral_radius`, :func:`nonlinearity_ratio`), random maps with controlled
spectra and nonlinearity (:func:`random_map`, :func:`random_sparse_map`,
:func:`nilpotent_map`), exact maps of polynomial losses (:func:`quadratic_loss_map`,
:func:`quadratic_network_map`, :func:`digits_quadratic_network`), and Taylor maps of torch
losses (:func:`taylor_map`, :func:`torch_model_taylor_map`; torch is imported lazily).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import scipy.sparse as sp

__all__ = [
    "MAP_KINDS",
    "PolyMap",
    "degree",
    "digits_quadratic_network",
    "gd_step",
    "kron_power",
    "map_dimension",
    "nilpotent_map",
    "nonlinearity_ratio",
    "operator_norm",
    "poly_apply",
    "quadratic_loss_map",
    "quadratic_network_grad",
    "quadratic_network_loss",
    "quadratic_network_map",
    "random_map",
    "random_sparse_map",
    "spectral_radius",
    "symmetrize",
    "taylor_map",
    "torch_model_taylor_map",
]

MAP_KINDS = ("dissipative", "almost_dissipative", "almost_dissipative_coupled", "divergent")

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
        return map_dimension(self.F)

    @property
    def degree(self) -> int:
        return degree(self.F)

    def with_eta(self, eta: float) -> PolyMap:
        """The same loss at learning rate ``eta`` (every F_l rescaled by eta / self.eta)."""
        factor = eta / self.eta
        F = [None if f is None else f * factor for f in self.F]
        return replace(self, F=F, eta=float(eta))

    def step(self, u: np.ndarray) -> np.ndarray:
        return gd_step(self.F, u)


# --------------------------------------------------------------------------- evaluation


def map_dimension(F: Terms) -> int:
    """n, the length of u, read from the first present term."""
    for f in F:
        if f is not None:
            return int(f.shape[0])
    raise ValueError("the map has no terms")


def degree(F: Terms) -> int:
    """q, the largest l with a present F_l."""
    present = [ell for ell, f in enumerate(F) if f is not None]
    if not present:
        raise ValueError("the map has no terms")
    return max(present)


def kron_power(u: np.ndarray, ell: int) -> np.ndarray:
    """u^{⊗l} as a vector of length n**l (l = 0 gives [1.0])."""
    out = np.ones(1, dtype=np.result_type(u, float))
    for _ in range(ell):
        out = np.kron(out, u)
    return out


def poly_apply(F: Terms, u: np.ndarray) -> np.ndarray:
    """Σ_l F_l u^{⊗l} (the increment of one GD step)."""
    u = np.asarray(u, dtype=float)
    out = np.zeros(map_dimension(F))
    for ell, f in enumerate(F):
        if f is None:
            continue
        if ell == 0:
            out += np.asarray(f.toarray() if sp.issparse(f) else f, dtype=float).reshape(-1)
        else:
            out += np.asarray(f @ kron_power(u, ell)).reshape(-1)
    return out


def gd_step(F: Terms, u: np.ndarray) -> np.ndarray:
    """u + Σ_l F_l u^{⊗l}."""
    return np.asarray(u, dtype=float) + poly_apply(F, u)


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


def _linear_part(F: Terms) -> np.ndarray:
    n = map_dimension(F)
    f1 = F[1] if len(F) > 1 else None
    if f1 is None:
        return np.eye(n)
    return np.eye(n) + (f1.toarray() if sp.issparse(f1) else np.asarray(f1, dtype=float))


def spectral_radius(F: Terms) -> float:
    """ρ(I + F_1): < 1 dissipative, = 1 almost dissipative, > 1 divergent (SPEC §1.3)."""
    return float(np.max(np.abs(np.linalg.eigvals(_linear_part(F)))))


def nonlinearity_ratio(F: Terms, u_in: np.ndarray) -> float:
    """R = (Σ_{l≥2} ‖F_l‖‖u_in‖^{l−1} + ‖F_0‖/‖u_in‖) / (1 − ‖I + F_1‖), spectral norms.

    Returns ``inf`` when ‖I + F_1‖ ≥ 1 (the bound does not apply) or when u_in = 0 while
    F_0 ≠ 0.
    """
    radius = float(np.linalg.norm(u_in))
    numerator = 0.0
    for ell, f in enumerate(F):
        if f is None or ell == 1:
            continue
        norm = operator_norm(f if ell > 0 else _column(f))
        if ell == 0:
            if norm == 0.0:
                continue
            if radius == 0.0:
                return math.inf
            numerator += norm / radius
        else:
            numerator += norm * radius ** (ell - 1)
    denominator = 1.0 - float(np.linalg.norm(_linear_part(F), 2))
    if denominator <= 1e-12:  # ‖I + F_1‖ ≥ 1 up to rounding
        return math.inf
    return numerator / denominator


def _column(f0: Any) -> np.ndarray:
    dense = f0.toarray() if sp.issparse(f0) else np.asarray(f0, dtype=float)
    return dense.reshape(-1, 1)


# --------------------------------------------------------------------------- random maps


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


# ------------------------------------------------------------------- exact polynomial losses


def quadratic_loss_map(A: np.ndarray, b: np.ndarray, theta_bar: np.ndarray, eta: float) -> PolyMap:
    """GD on L(θ) = ½θᵀAθ − bᵀθ around θ̄: F_0 = −η(Aθ̄ − b), F_1 = −ηA (exact, q = 1)."""
    A = np.asarray(A, dtype=float)
    A = 0.5 * (A + A.T)
    F = [-eta * (A @ theta_bar - b), -eta * A]
    return PolyMap(F=F, eta=float(eta), name="quadratic", info={"n": A.shape[0]})


class _PolyBatch:
    """A batch of S scalar polynomials in u ∈ R^n: ``coef[d]`` of shape (S, n**d)."""

    def __init__(self, coef: list[np.ndarray], n: int) -> None:
        self.coef = coef
        self.n = n

    def __add__(self, other: _PolyBatch) -> _PolyBatch:
        size = max(len(self.coef), len(other.coef))
        coef = []
        for d in range(size):
            parts = [c.coef[d] for c in (self, other) if d < len(c.coef)]
            coef.append(sum(parts[1:], parts[0].copy()))
        return _PolyBatch(coef, self.n)

    def __mul__(self, other: _PolyBatch) -> _PolyBatch:
        coef: list[np.ndarray | None] = [None] * (len(self.coef) + len(other.coef) - 1)
        for d1, p in enumerate(self.coef):
            for d2, q in enumerate(other.coef):
                prod = (p[:, :, None] * q[:, None, :]).reshape(p.shape[0], -1)
                d = d1 + d2
                coef[d] = prod if coef[d] is None else coef[d] + prod
        return _PolyBatch([c for c in coef if c is not None], self.n)


def quadratic_network_loss(theta: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
    """L(θ) = (1/2S) Σ_s (vᵀx_s + c + (wᵀx_s)² − y_s)² with θ = (v, c, w), x_s ∈ R^p."""
    p = X.shape[1]
    v, c, w = theta[:p], theta[p], theta[p + 1 :]
    residual = X @ v + c + (X @ w) ** 2 - y
    return float(0.5 * np.mean(residual**2))


def quadratic_network_grad(theta: np.ndarray, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """∇L of :func:`quadratic_network_loss` (closed form)."""
    p = X.shape[1]
    v, c, w = theta[:p], theta[p], theta[p + 1 :]
    z = X @ w
    residual = X @ v + c + z**2 - y
    S = X.shape[0]
    return np.concatenate([X.T @ residual, [residual.sum()], 2.0 * X.T @ (residual * z)]) / S


def _quadratic_network_hessian(theta: np.ndarray, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    p = X.shape[1]
    v, c, w = theta[:p], theta[p], theta[p + 1 :]
    z = X @ w
    residual = X @ v + c + z**2 - y
    jac = np.concatenate([X, np.ones((len(y), 1)), 2.0 * z[:, None] * X], axis=1)
    h = jac.T @ jac
    h[p + 1 :, p + 1 :] += 2.0 * (X.T * residual) @ X
    return h / len(y)


def quadratic_network_map(
    X: np.ndarray, y: np.ndarray, theta_bar: np.ndarray, eta: float
) -> PolyMap:
    """The exact GD map of :func:`quadratic_network_loss` around θ̄: degree 3 (F_0 … F_3).

    The loss is a quartic polynomial in θ = (v, c, w), so the gradient is cubic and its
    expansion around θ̄ is exact (no truncation).
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    S, p = X.shape
    n = 2 * p + 1
    theta_bar = np.asarray(theta_bar, dtype=float)
    v, c, w = theta_bar[:p], theta_bar[p], theta_bar[p + 1 :]
    # z_s = wᵀx_s = z̄_s + (e_w ⊗ x_s)·u, linear in u
    z_lin = np.zeros((S, n))
    z_lin[:, p + 1 :] = X
    z = _PolyBatch([(X @ w)[:, None], z_lin], n)
    lin = np.zeros((S, n))
    lin[:, :p] = X
    lin[:, p] = 1.0
    residual = _PolyBatch([(X @ v + c - y)[:, None], lin], n) + z * z
    # ∂f/∂θ_a: x_s (v), 1 (c), 2 x_s z_s (w)
    rz = residual * z  # degree 3
    r_coef = residual.coef
    deg = max(len(r_coef), len(rz.coef))
    F: list = [None] * deg
    for d in range(deg):
        width = n**d
        block = np.zeros((n, width))
        if d < len(r_coef):
            block[:p] = X.T @ r_coef[d] / S
            block[p] = r_coef[d].sum(axis=0) / S
        if d < len(rz.coef):
            block[p + 1 :] = 2.0 * X.T @ rz.coef[d] / S
        F[d] = -eta * (block.reshape(n) if d == 0 else block)
    return PolyMap(F=F, eta=float(eta), name="quadratic_network", info={"n": n, "p": p, "S": S})


def digits_quadratic_network(
    n_features: int = 3,
    *,
    eta: float | None = None,
    lr_scale: float = 1.0,
    init_scale: float = 0.5,
    n_samples: int | None = None,
    expansion: str = "minimum",
    start_radius: float | None = None,
    train_steps: int = 20000,
    seed: int = 0,
) -> PolyMap:
    """A real learning problem with an exactly polynomial GD map: f(x) = vᵀx + c + (wᵀx)² on the
    first ``n_features`` standardized PCA features of sklearn's digits, target +1 for digits
    0-4 and −1 for 5-9, mean squared error (n = 2·n_features + 1 parameters).

    θ_0 ~ N(0, init_scale²). ``expansion="init"`` expands around θ̄ = θ_0 (u_0 = 0, F_0 ≠ 0: the
    uploaded weights); ``"minimum"`` around the end point θ* of ``train_steps`` classical GD
    steps from θ_0 (u_0 = θ_0 − θ*, F_0 ≈ 0). With ``start_radius`` (``"minimum"`` only), the
    run starts instead at distance ``start_radius`` from θ* in a seeded random direction (a
    window late in training). η defaults to ``lr_scale`` / λ_max(H(θ*)).
    """
    from sklearn.datasets import load_digits
    from sklearn.decomposition import PCA

    digits = load_digits()
    rng = np.random.default_rng(seed)
    index = np.arange(len(digits.target))
    if n_samples is not None and n_samples < len(index):
        index = np.sort(rng.choice(index, size=n_samples, replace=False))
    features = PCA(n_components=n_features, random_state=seed).fit_transform(digits.data[index])
    X = features / features.std(axis=0)
    y = np.where(digits.target[index] < 5, 1.0, -1.0)
    n = 2 * n_features + 1
    theta0 = init_scale * rng.standard_normal(n)

    def hessian_max(theta: np.ndarray) -> float:
        h = _quadratic_network_hessian(theta, X, y)
        return float(np.linalg.eigvalsh(h)[-1])

    def grad(theta: np.ndarray) -> np.ndarray:
        return quadratic_network_grad(theta, X, y)

    # find θ* by GD at a safe step (0.5/λ_max, halved whenever the loss would increase)
    theta = theta0.copy()
    loss = quadratic_network_loss(theta, X, y)
    step = 0.5 / max(hessian_max(theta), 1e-12)
    for i in range(train_steps):
        trial = theta - step * grad(theta)
        trial_loss = quadratic_network_loss(trial, X, y)
        if not trial_loss <= loss:
            step *= 0.5
            continue
        theta, loss = trial, trial_loss
        if i % 200 == 199:
            step = max(step, 0.5 / max(hessian_max(theta), 1e-12))
    theta_star = theta
    lam_max = hessian_max(theta_star)
    if eta is None:
        eta = lr_scale / lam_max
    if expansion == "minimum":
        bar, u0 = theta_star, theta0 - theta_star
        if start_radius is not None:
            direction = rng.standard_normal(n)
            u0 = start_radius * direction / np.linalg.norm(direction)
    elif expansion == "init":
        bar, u0 = theta0, np.zeros(n)
    else:
        raise ValueError(f"expansion must be 'minimum' or 'init', got {expansion!r}")
    base = quadratic_network_map(X, y, bar, float(eta))
    info = {
        "n": n,
        "n_features": n_features,
        "samples": len(y),
        "expansion": expansion,
        "start_radius": start_radius,
        "lambda_max_at_minimum": lam_max,
        "loss_init": quadratic_network_loss(theta0, X, y),
        "loss_minimum": quadratic_network_loss(theta_star, X, y),
        "grad_norm_minimum": float(np.linalg.norm(grad(theta_star))),
        "seed": seed,
    }
    return PolyMap(F=base.F, eta=float(eta), u0=u0, name="digits_quadratic_net", info=info)


# --------------------------------------------------------------------------- Taylor maps (torch)


def taylor_map(
    loss: Callable[[Any], Any],
    theta_bar: np.ndarray,
    eta: float,
    order: int = 3,
    *,
    max_entries: int = 50_000_000,
) -> PolyMap:
    """F_0 … F_order of the GD map of a torch loss around θ̄ by automatic differentiation:
    F_0 = −η∇L, F_1 = −ηH, F_l = −(η/l!)·mat(∇^{l+1}L).

    ``loss`` maps a float64 torch vector of length n to a scalar. The term F_l has n^{l+1}
    entries; a term above ``max_entries`` raises (lower ``order`` for large n).
    """
    import torch
    from torch.func import grad, jacrev

    theta = torch.as_tensor(np.asarray(theta_bar, dtype=float), dtype=torch.float64)
    n = theta.numel()
    for ell in range(1, order + 1):
        if n ** (ell + 1) > max_entries:
            raise ValueError(
                f"F_{ell} would have n^{ell + 1} = {n ** (ell + 1):,} entries (> {max_entries:,}); "
                f"use order ≤ {ell - 1} for n = {n}"
            )
    derivative = grad(loss)
    F: list = [-eta * derivative(theta).detach().numpy().copy()]
    for ell in range(1, order + 1):
        derivative = jacrev(derivative)
        tensor = derivative(theta).detach().numpy()
        F.append(-(eta / math.factorial(ell)) * tensor.reshape(n, n**ell))
    return PolyMap(
        F=F, eta=float(eta), u0=np.zeros(n), name="taylor", info={"n": n, "order": order}
    )


def torch_model_taylor_map(
    model: Any,
    inputs: Any,
    targets: Any,
    eta: float,
    order: int = 2,
    loss: str = "mse",
    **kwargs: Any,
) -> PolyMap:
    """:func:`taylor_map` of a small torch model's mean loss (``"mse"`` or ``"cross_entropy"``)
    on fixed ``inputs``/``targets``, around its current parameters (flattened in
    ``named_parameters`` order; the model is evaluated in float64)."""
    import torch
    from torch.func import functional_call

    model = model.double()
    names = [name for name, _ in model.named_parameters()]
    shapes = [p.shape for _, p in model.named_parameters()]
    sizes = [p.numel() for _, p in model.named_parameters()]
    theta0 = torch.cat([p.detach().reshape(-1) for _, p in model.named_parameters()])
    inputs = torch.as_tensor(inputs, dtype=torch.float64)
    criterion = {
        "mse": torch.nn.functional.mse_loss,
        "cross_entropy": torch.nn.functional.cross_entropy,
    }[loss]
    if loss == "cross_entropy":
        targets = torch.as_tensor(targets, dtype=torch.long)
    else:
        targets = torch.as_tensor(targets, dtype=torch.float64)

    def flat_loss(theta: Any) -> Any:
        params = {
            name: chunk.reshape(shape)
            for name, chunk, shape in zip(names, torch.split(theta, sizes), shapes, strict=True)
        }
        return criterion(functional_call(model, params, (inputs,)), targets)

    out = taylor_map(flat_loss, theta0.numpy(), eta, order, **kwargs)
    return replace(out, name="torch_model", info={**out.info, "parameters": names})
