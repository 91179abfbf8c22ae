"""The digits problems: sklearn's 8×8 digits through a standardized PCA, the quadratic network
f(x) = vᵀx + c + (wᵀx)² on them, and its exact polynomial GD map (SPEC §1.3, §1.8).

One loader for every use: :func:`digits_features` (all ten digits, +1 for 0-4 and −1 for 5-9:
the Carleman studies and the proxy check) and :func:`digits_problem` (two digit classes with a
held-out split: the quantum-trained model, :class:`DigitsProblem`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from qtrain.quantum.carleman.polymaps import PolyMap, quadratic_loss_map

__all__ = [
    "MODELS",
    "DigitsProblem",
    "digits_features",
    "digits_problem",
    "digits_quadratic_network",
    "initial_weights",
    "quadratic_network_grad",
    "quadratic_network_hessian",
    "quadratic_network_loss",
    "quadratic_network_map",
]

MODELS = ("quadratic", "linear")


def _digits():
    from sklearn.datasets import load_digits

    return load_digits()


def digits_features(
    n_features: int,
    seed: int = 0,
    *,
    n_samples: int | None = None,
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The inputs and ±1 targets of the digits quadratic network: ``n_features`` PCA features
    (seeded) scaled to unit standard deviation, +1 for digits 0-4 and −1 for 5-9. With
    ``n_samples``, a sorted random subset of that many images drawn from ``rng``."""
    from sklearn.decomposition import PCA

    digits = _digits()
    index = np.arange(len(digits.target))
    if n_samples is not None and n_samples < len(index):
        rng = rng if rng is not None else np.random.default_rng(seed)
        index = np.sort(rng.choice(index, size=n_samples, replace=False))
    features = PCA(n_components=n_features, random_state=seed).fit_transform(digits.data[index])
    return features / features.std(axis=0), np.where(digits.target[index] < 5, 1.0, -1.0)


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


def quadratic_network_hessian(theta: np.ndarray, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The Hessian of :func:`quadratic_network_loss` (closed form)."""
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
    rng = np.random.default_rng(seed)
    X, y = digits_features(n_features, seed, n_samples=n_samples, rng=rng)
    n = 2 * n_features + 1
    theta0 = init_scale * rng.standard_normal(n)

    def hessian_max(theta: np.ndarray) -> float:
        h = quadratic_network_hessian(theta, X, y)
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


@dataclass(frozen=True)
class DigitsProblem:
    """Training and test data of the binary digits task and the model's loss, gradient and map."""

    X_train: np.ndarray = field(repr=False)
    y_train: np.ndarray = field(repr=False)
    X_test: np.ndarray = field(repr=False)
    y_test: np.ndarray = field(repr=False)
    model: str = "quadratic"
    classes: tuple[int, int] = (3, 8)

    @property
    def p(self) -> int:
        """Number of input features."""
        return int(self.X_train.shape[1])

    @property
    def n(self) -> int:
        """Number of parameters."""
        return 2 * self.p + 1 if self.model == "quadratic" else self.p + 1

    @property
    def degree(self) -> int:
        """Degree q of the GD map (3 for the quadratic network, 1 for the linear model)."""
        return 3 if self.model == "quadratic" else 1

    def _split(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        if split == "train":
            return self.X_train, self.y_train
        if split == "test":
            return self.X_test, self.y_test
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")

    def predict(self, theta: np.ndarray, split: str = "train") -> np.ndarray:
        """f(x) on every sample of ``split``."""
        X, _ = self._split(split)
        p = self.p
        out = X @ theta[:p] + theta[p]
        if self.model == "quadratic":
            out = out + (X @ theta[p + 1 :]) ** 2
        return out

    def loss(self, theta: np.ndarray, split: str = "train") -> float:
        """Mean squared error / 2."""
        X, y = self._split(split)
        if self.model == "quadratic":
            return quadratic_network_loss(np.asarray(theta, dtype=float), X, y)
        return float(0.5 * np.mean((self.predict(theta, split) - y) ** 2))

    def accuracy(self, theta: np.ndarray, split: str = "train") -> float:
        """Share of samples with sign(f(x)) equal to the ±1 label."""
        _, y = self._split(split)
        return float(np.mean(np.where(self.predict(theta, split) >= 0, 1.0, -1.0) == y))

    def grad(self, theta: np.ndarray) -> np.ndarray:
        """∇L on the training split (closed form)."""
        theta = np.asarray(theta, dtype=float)
        if self.model == "quadratic":
            return quadratic_network_grad(theta, self.X_train, self.y_train)
        A, b = self._normal_equations()
        return A @ theta - b

    def _normal_equations(self) -> tuple[np.ndarray, np.ndarray]:
        Xt = np.hstack([self.X_train, np.ones((len(self.y_train), 1))])
        S = len(self.y_train)
        return Xt.T @ Xt / S, Xt.T @ self.y_train / S

    def gd_map(self, theta_bar: np.ndarray, eta: float) -> PolyMap:
        """The exact GD map around θ̄: terms F_0 … F_q (every F_l carries one η)."""
        theta_bar = np.asarray(theta_bar, dtype=float)
        if self.model == "quadratic":
            return quadratic_network_map(self.X_train, self.y_train, theta_bar, eta)
        A, b = self._normal_equations()
        return quadratic_loss_map(A, b, theta_bar, eta)

    def hessian(self, theta: np.ndarray) -> np.ndarray:
        """H(θ) = −F_1/η of the map around θ."""
        return -self.gd_map(theta, 1.0).dense_term(1)


def digits_problem(
    features: int = 2,
    classes: Sequence[int] = (3, 8),
    model: str = "quadratic",
    test_fraction: float = 0.2,
    seed: int = 0,
) -> DigitsProblem:
    """The binary digits task: ``classes[0]`` → +1, ``classes[1]`` → −1, stratified seeded split,
    PCA (fitted on the training split) to ``features`` components, standardized with the
    training split's mean and standard deviation."""
    from sklearn.decomposition import PCA
    from sklearn.model_selection import train_test_split

    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}, got {model!r}")
    a, b = (int(c) for c in classes)
    if a == b or not (0 <= a <= 9 and 0 <= b <= 9):
        raise ValueError(f"classes must be two different digits, got {classes}")
    digits = _digits()
    keep = np.isin(digits.target, (a, b))
    data = digits.data[keep]
    y = np.where(digits.target[keep] == a, 1.0, -1.0)
    X_tr, X_te, y_tr, y_te = train_test_split(
        data, y, test_size=test_fraction, random_state=seed, stratify=y
    )
    pca = PCA(n_components=features, random_state=seed).fit(X_tr)
    Z_tr, Z_te = pca.transform(X_tr), pca.transform(X_te)
    mean, std = Z_tr.mean(axis=0), Z_tr.std(axis=0)
    return DigitsProblem(
        X_train=(Z_tr - mean) / std,
        y_train=y_tr,
        X_test=(Z_te - mean) / std,
        y_test=y_te,
        model=model,
        classes=(a, b),
    )


def initial_weights(problem: DigitsProblem, init_scale: float, seed: int) -> np.ndarray:
    """θ(0) ~ N(0, init_scale²), seeded."""
    return init_scale * np.random.default_rng(seed).standard_normal(problem.n)
