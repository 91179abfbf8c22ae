"""The error proxy of Eq. 7-8 and the dissipative / divergent mode masses (SPEC §2.5).

With Hessian eigenvalues λ (here: the Ritz nodes of a Lanczos quadrature with weights w),
``a = −scale·λ`` (``scale = 1`` by default; ``scale = η`` for the ``lr_scaled`` option) and a
cut-off ``c`` (0.4)::

    E(t) = (1/N_c) Σ_{|a_i| > c} w_i |1 + a_i|^t,     N_c = Σ_{|a_i| > c} w_i,

the quadrature of ``(1/N_c) ∫_{|a|>c} ρ(a) |1 + a|^t da``. The inequalities are strict. When no
weight lies beyond the cut-off (``N_c = 0``) E is undefined: the functions return NaN by default
(``on_empty="nan"``) or raise ``ValueError`` (``on_empty="raise"``). Values that overflow float64
are returned as ``inf``. Dissipative mass: ``Σ w_i`` over ``a_i < −c``; divergent mass: over
``a_i > c`` (fractions of the total weight when the weights sum to 1).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "error_proxy",
    "error_proxy_curve",
    "log_error_proxy_curve",
    "mode_masses",
    "proxy_coordinates",
]

OnEmpty = Literal["nan", "raise"]


def proxy_coordinates(
    nodes: ArrayLike, weights: ArrayLike, scale: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Validated float64 ``(a, w)`` with ``a = −scale·nodes``."""
    lam = np.asarray(nodes, dtype=np.float64).reshape(-1)
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    if lam.shape != w.shape:
        raise ValueError(f"nodes and weights differ in length: {lam.size} and {w.size}")
    if not (np.isfinite(lam).all() and np.isfinite(w).all()):
        raise ValueError("nodes and weights must be finite")
    if (w < 0).any():
        raise ValueError("weights must be non-negative")
    if not np.isfinite(scale) or scale <= 0:
        raise ValueError(f"scale must be positive and finite, got {scale}")
    return -scale * lam, w


def error_proxy_curve(
    nodes: ArrayLike,
    weights: ArrayLike,
    ts: ArrayLike,
    cutoff: float = 0.4,
    scale: float = 1.0,
    *,
    on_empty: OnEmpty = "nan",
) -> np.ndarray:
    """E(t) (Eq. 7-8) for every t in ``ts`` at once; same shape as ``ts``."""
    if on_empty not in ("nan", "raise"):
        raise ValueError(f"on_empty must be 'nan' or 'raise', got {on_empty!r}")
    if cutoff < 0:
        raise ValueError(f"cutoff must be non-negative, got {cutoff}")
    a, w = proxy_coordinates(nodes, weights, scale)
    t = np.asarray(ts, dtype=np.float64)
    sel = np.abs(a) > cutoff
    n_c = float(w[sel].sum())
    if n_c == 0.0:
        if on_empty == "raise":
            raise ValueError(
                f"no spectral weight beyond the cut-off |a| > {cutoff} (scale={scale}): "
                f"the error proxy is undefined"
            )
        return np.full(t.shape, np.nan)
    base = np.abs(1.0 + a[sel])
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        powers = np.power(base[None, :], t.reshape(-1, 1))  # 0**0 = 1
        values = powers @ w[sel] / n_c
    return values.reshape(t.shape)


def log_error_proxy_curve(
    nodes: ArrayLike,
    weights: ArrayLike,
    ts: ArrayLike,
    cutoff: float = 0.4,
    scale: float = 1.0,
) -> np.ndarray:
    """ln E(t) for every t in ``ts``, computed in log space (a log-sum-exp), so it stays finite
    where E(t) overflows float64; NaN when ``N_c = 0`` (E undefined)."""
    from scipy.special import logsumexp

    if cutoff < 0:
        raise ValueError(f"cutoff must be non-negative, got {cutoff}")
    a, w = proxy_coordinates(nodes, weights, scale)
    t = np.asarray(ts, dtype=np.float64)
    sel = (np.abs(a) > cutoff) & (w > 0)
    if not sel.any():
        return np.full(t.shape, np.nan)
    with np.errstate(divide="ignore"):
        log_base = np.log(np.abs(1.0 + a[sel]))  # -inf where a = -1 exactly
    log_w = np.log(w[sel])
    with np.errstate(invalid="ignore"):
        terms = t.reshape(-1, 1) * log_base[None, :]
    terms = np.where(t.reshape(-1, 1) == 0, 0.0, terms)  # 0**0 = 1
    values = logsumexp(terms + log_w[None, :], axis=1) - logsumexp(log_w)
    return values.reshape(t.shape)


def error_proxy(
    nodes: ArrayLike,
    weights: ArrayLike,
    t: float,
    cutoff: float = 0.4,
    scale: float = 1.0,
    *,
    on_empty: OnEmpty = "nan",
) -> float:
    """E(t) of Eq. 7-8 at one t (module docstring); NaN (or an error) when ``N_c = 0``."""
    return float(error_proxy_curve(nodes, weights, t, cutoff, scale, on_empty=on_empty))


def mode_masses(
    nodes: ArrayLike, weights: ArrayLike, cutoff: float = 0.4, scale: float = 1.0
) -> tuple[float, float]:
    """``(dissipative, divergent)``: the weight with ``a < −cutoff`` and with ``a > cutoff``."""
    if cutoff < 0:
        raise ValueError(f"cutoff must be non-negative, got {cutoff}")
    a, w = proxy_coordinates(nodes, weights, scale)
    return float(w[a < -cutoff].sum()), float(w[a > cutoff].sum())
