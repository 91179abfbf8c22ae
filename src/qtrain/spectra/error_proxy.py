"""The error proxy of Eq. 7-8, the dissipative / divergent mode masses and the growth rate of
E carried by divergent modes (SPEC §2.5).

With Hessian eigenvalues λ (here: the Ritz nodes of a Lanczos quadrature with weights w),
``a = −scale·λ`` (``scale = 1`` by default; ``scale = η`` for the multiplier and ``lr_scaled``
conventions) and a cut-off ``c``::

    E(t) = (1/N_c) Σ_{|a_i| > c} w_i |1 + a_i|^t,     N_c = Σ_{|a_i| > c} w_i,

the quadrature of ``(1/N_c) ∫_{|a|>c} ρ(a) |1 + a|^t da``; ``m_i = |1 + a_i|`` is mode i's
multiplier per step. The inequalities are strict. When no weight lies beyond the cut-off
(``N_c = 0``) E is undefined: the functions return NaN by default (``on_empty="nan"``) or raise
``ValueError`` (``on_empty="raise"``). Values that overflow float64 are returned as ``inf``.

Which modes beyond the cut-off are dissipative and which divergent (``split``):
``"multiplier"`` (the GD map's own modes, the convention that decides the claims): dissipative
iff ``m < 1``, divergent iff ``m > 1``; ``"sign"`` (the paper's printed figure): dissipative iff
``a < −c``, divergent iff ``a > c``. Masses are ``Σ w_i`` over each set (fractions of the total
weight when the weights sum to 1). :func:`convention` gives scale, cut-off and split of the three
named conventions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "CONVENTIONS",
    "DECIDING_CONVENTION",
    "SPLITS",
    "ProxyConvention",
    "convention",
    "error_proxy",
    "error_proxy_curve",
    "growth_rates",
    "largest_divergent_multiplier",
    "log_error_proxy_curve",
    "mode_masses",
    "proxy_coordinates",
]

OnEmpty = Literal["nan", "raise"]

CONVENTIONS = ("multiplier", "eigenvalue", "lr_scaled")
"""The conventions for a (SPEC §2.5): ``multiplier`` (a = −ηλ, modes with |λ| > c, split by
the multiplier |1 − ηλ|; it decides the claims), ``eigenvalue`` (a = −λ, as printed in the
paper) and ``lr_scaled`` (a = −ηλ with the cut-off c on ηλ, the authors' draft); the last two
split by the sign of a and are shown for comparison."""

DECIDING_CONVENTION = "multiplier"
"""The convention whose claim rows decide C2-C4 and C13 (SPEC §2.5)."""

SPLITS = ("multiplier", "sign")


@dataclass(frozen=True)
class ProxyConvention:
    """How one convention turns eigenvalues λ into Eq. 7-8's a: ``a = −scale·λ``, modes with
    ``|a| > cutoff`` enter, and ``split`` says which of them are dissipative (module
    docstring)."""

    name: str
    scale: float
    cutoff: float
    split: str


def convention(name: str, lr: float, cutoff: float) -> ProxyConvention:
    """The parameters of convention ``name`` at learning rate η = ``lr`` and cut-off c:
    ``multiplier``: scale η, cut-off c·η (i.e. |λ| > c), split by the multiplier;
    ``eigenvalue``: scale 1, cut-off c, split by sign; ``lr_scaled``: scale η, cut-off c (on
    ηλ), split by sign."""
    if name == "multiplier":
        return ProxyConvention(name, float(lr), float(cutoff) * float(lr), "multiplier")
    if name == "eigenvalue":
        return ProxyConvention(name, 1.0, float(cutoff), "sign")
    if name == "lr_scaled":
        return ProxyConvention(name, float(lr), float(cutoff), "sign")
    raise ValueError(f"convention must be one of {CONVENTIONS}, got {name!r}")


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


def _beyond_cutoff(
    nodes: ArrayLike, weights: ArrayLike, ts: ArrayLike, cutoff: float, scale: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(a, w, t, beyond)``: the validated coordinates (:func:`proxy_coordinates`), ``ts`` as
    float64 and the mask of the modes beyond the cut-off (``|a| > cutoff``)."""
    if cutoff < 0:
        raise ValueError(f"cutoff must be non-negative, got {cutoff}")
    a, w = proxy_coordinates(nodes, weights, scale)
    return a, w, np.asarray(ts, dtype=np.float64), np.abs(a) > cutoff


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
    a, w, t, sel = _beyond_cutoff(nodes, weights, ts, cutoff, scale)
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

    a, w, t, beyond = _beyond_cutoff(nodes, weights, ts, cutoff, scale)
    sel = beyond & (w > 0)
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


def _labels(a: np.ndarray, cutoff: float, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks (dissipative, divergent) of the modes beyond the cut-off under ``split``."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if cutoff < 0:
        raise ValueError(f"cutoff must be non-negative, got {cutoff}")
    beyond = np.abs(a) > cutoff
    if split == "sign":
        return beyond & (a < 0), beyond & (a > 0)
    multiplier = np.abs(1.0 + a)
    return beyond & (multiplier < 1.0), beyond & (multiplier > 1.0)


def mode_masses(
    nodes: ArrayLike,
    weights: ArrayLike,
    cutoff: float = 0.4,
    scale: float = 1.0,
    split: str = "sign",
) -> tuple[float, float]:
    """``(dissipative, divergent)`` weights beyond the cut-off: by sign (``a < −cutoff`` and
    ``a > cutoff``) or by multiplier (``|1 + a| < 1`` and ``> 1``), see the module docstring."""
    a, w = proxy_coordinates(nodes, weights, scale)
    dissipative, divergent = _labels(a, cutoff, split)
    return float(w[dissipative].sum()), float(w[divergent].sum())


def largest_divergent_multiplier(
    nodes: ArrayLike,
    weights: ArrayLike,
    cutoff: float = 0.4,
    scale: float = 1.0,
    split: str = "sign",
) -> float:
    """The largest multiplier ``|1 + a|`` among the modes with weight that ``split`` calls
    divergent (NaN when there is none)."""
    a, w = proxy_coordinates(nodes, weights, scale)
    _, divergent = _labels(a, cutoff, split)
    divergent &= w > 0
    return float(np.abs(1.0 + a[divergent]).max()) if divergent.any() else float("nan")


def growth_rates(
    nodes: ArrayLike,
    weights: ArrayLike,
    ts: ArrayLike,
    cutoff: float = 0.4,
    scale: float = 1.0,
    split: str = "sign",
) -> tuple[np.ndarray, np.ndarray]:
    """``(rate, divergent_rate)`` at every t in ``ts``: the growth rate of E per step and the
    part of it the divergent modes carry.

    ``rate = d ln E/dt = Σ_i s_i(t) ln m_i`` with ``s_i(t) = w_i m_i^t / Σ_j w_j m_j^t`` the
    share of E(t) held by mode i (modes beyond the cut-off). ``divergent_rate`` counts only the
    growth of modes ``split`` calls divergent: ``Σ_i s_i(t) ℓ_i`` with ``ℓ_i = ln m_i`` for a
    divergent mode and ``min(ln m_i, 0)`` for any other (their decay counts, their growth does
    not). Under the multiplier split every growing mode is divergent, so the two are equal;
    under the sign split a mode with ``a < −2`` grows (``m > 1``) while called dissipative, and
    its growth is not carried by divergent modes. NaN where ``N_c = 0``.
    """
    a, w, t, beyond = _beyond_cutoff(nodes, weights, ts, cutoff, scale)
    _, divergent = _labels(a, cutoff, split)
    sel = beyond & (w > 0)
    if not sel.any():
        nan = np.full(t.shape, np.nan)
        return nan, nan.copy()
    with np.errstate(divide="ignore"):
        log_m = np.log(np.abs(1.0 + a[sel]))
    log_m = np.maximum(log_m, np.log(np.finfo(np.float64).tiny))  # m = 0: decays at once
    carried = np.where(divergent[sel], log_m, np.minimum(log_m, 0.0))
    log_s = t.reshape(-1, 1) * log_m[None, :] + np.log(w[sel])[None, :]
    log_s -= log_s.max(axis=1, keepdims=True)
    share = np.exp(log_s)
    share /= share.sum(axis=1, keepdims=True)
    return (share @ log_m).reshape(t.shape), (share @ carried).reshape(t.shape)
