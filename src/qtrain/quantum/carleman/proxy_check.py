"""Does the error proxy predict the true Carleman error? (claim C13, small polynomial models)

The digits quadratic network of :func:`qtrain.quantum.carleman.digits.digits_quadratic_network`
(f(x) = vᵀx + c + (wᵀx)², mean squared error on standardized PCA features of sklearn's digits)
has an exactly polynomial GD map. Gradient descent runs from θ_0 in windows of W steps; at each
window start θ̄ (the "uploaded" weights) the exact map around θ̄ is linearized by the discrete
Carleman embedding at each order N, and the truncated trajectory is compared with the exact one
(u(0) = 0, F_0 = −η∇L(θ̄)). The error proxy of Eq. 7-8 (:mod:`qtrain.spectra.error_proxy`) is
evaluated from the exact Hessian spectrum at θ̄ (eigenvalues of −F_1/η, equal weights).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from qtrain.quantum.carleman.digits import digits_features, quadratic_network_map
from qtrain.quantum.carleman.linearization import carleman_trajectory, exact_trajectory
from qtrain.quantum.carleman.polymaps import spectral_radius
from qtrain.run.config import from_section
from qtrain.spectra.error_proxy import error_proxy_curve, mode_masses
from qtrain.spectra.proxy_vs_truth import proxy_parameters

__all__ = ["ProxyCheckSettings", "proxy_check_table", "proxy_vs_carleman"]

log = logging.getLogger(__name__)


def proxy_vs_carleman(
    *,
    n_features: int = 3,
    lr_scales: Sequence[float] = (0.5, 1.0, 1.8),
    windows: int = 3,
    window_steps: int = 10,
    orders: Sequence[int] = (1, 2),
    init_scale: float = 0.5,
    cutoff: float = 0.4,
    conventions: Sequence[str] = ("multiplier", "eigenvalue", "lr_scaled"),
    seed: int = 0,
) -> pd.DataFrame:
    """One row per learning-rate scale, window, order N and step t = 1..W: the true Carleman
    error ‖u_N(t) − u(t)‖, ‖u(t)‖, the proxy E(t) and the mass N_c beyond the cut-off per
    convention (``multiplier``: |λ| > c with multiplier |1 − ηλ|; ``eigenvalue``: a = −λ;
    ``lr_scaled``: a = −ηλ, cut-off on ηλ; :func:`~qtrain.spectra.proxy_vs_truth.proxy_parameters`)
    from the exact Hessian spectrum at the window start, and the trivial predictors ``eta_t`` =
    η·t and ``eta_t_lambda`` = η·t·λ_max that claim C13 must beat.

    η = ``lr_scale`` / λ_max(H(θ_0)). A window whose exact trajectory overflows ends the run of
    that learning rate (its rows hold NaN errors).
    """
    X, y = digits_features(n_features, seed)
    n = 2 * n_features + 1
    rng = np.random.default_rng(seed)
    theta0 = init_scale * rng.standard_normal(n)
    h0 = -quadratic_network_map(X, y, theta0, 1.0).dense_term(1)
    lam_max0 = float(np.linalg.eigvalsh(0.5 * (h0 + h0.T))[-1])
    rows = []
    t = np.arange(window_steps + 1, dtype=float)
    for lr_scale in lr_scales:
        eta = float(lr_scale) / lam_max0
        theta = theta0.copy()
        for window in range(windows):
            F = quadratic_network_map(X, y, theta, eta)
            hess = -F.dense_term(1) / eta
            lam = np.linalg.eigvalsh(0.5 * (hess + hess.T))
            weights = np.full(n, 1.0 / n)
            proxies, masses = {}, {}
            for conv in conventions:
                scale, cut = proxy_parameters(conv, eta, cutoff)
                proxies[conv] = error_proxy_curve(lam, weights, t, cut, scale)
                masses[conv] = sum(mode_masses(lam, weights, cut, scale))
            u0 = np.zeros(n)
            exact = exact_trajectory(F, u0, window_steps)
            finite = bool(np.isfinite(exact).all())
            common = {
                "lr_scale": float(lr_scale),
                "eta": eta,
                "window": window,
                "start_step": window * window_steps,
                "lambda_min": float(lam[0]),
                "lambda_max": float(lam[-1]),
                "spectral_radius": float(spectral_radius(F)),
            }
            for order in orders:
                approx = carleman_trajectory(F, u0, window_steps, int(order), "discrete")
                with np.errstate(over="ignore", invalid="ignore"):
                    err = np.linalg.norm(approx - exact, axis=1)
                    norm_u = np.linalg.norm(exact, axis=1)
                for step in range(1, window_steps + 1):
                    row = {
                        **common,
                        "order": int(order),
                        "t": step,
                        "error": float(err[step]) if finite else math.nan,
                        "norm_u": float(norm_u[step]) if finite else math.nan,
                        "eta_t": eta * step,
                        "eta_t_lambda": eta * step * common["lambda_max"],
                    }
                    for conv in conventions:
                        row[f"proxy_{conv}"] = float(proxies[conv][step])
                        row[f"n_c_{conv}"] = masses[conv]
                    rows.append(row)
            log.info(
                "lr_scale %.3g window %d: lambda in [%.4g, %.4g], rho(I+F1) %.4f",
                lr_scale,
                window,
                lam[0],
                lam[-1],
                common["spectral_radius"],
            )
            if not finite:
                log.warning("lr_scale %.3g: GD overflowed in window %d", lr_scale, window)
                break
            theta = theta + exact[-1]
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class ProxyCheckSettings:
    """The ``proxy_check`` config section."""

    features: int
    lr_scales: tuple[float, ...]
    init_scale: float
    windows: int
    window_steps: int
    orders: tuple[int, ...]

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> ProxyCheckSettings:
        """The settings of a config section (lists become tuples)."""
        return from_section(cls, section)


def proxy_check_table(
    settings: ProxyCheckSettings, *, cutoff: float, conventions: Sequence[str], seed: int
) -> pd.DataFrame:
    """:func:`proxy_vs_carleman` with the settings of the ``proxy_check`` section."""
    keywords = asdict(settings)
    keywords["n_features"] = keywords.pop("features")
    return proxy_vs_carleman(**keywords, cutoff=cutoff, conventions=conventions, seed=seed)
