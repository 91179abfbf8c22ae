"""Small statistics the stages and claims share: fits (slopes with their standard errors and
confidence half-widths), replicate noise, rank correlations with intervals, number formatting.

NumPy/SciPy only. A *replicate estimate* is one independent measurement of a quantity (one
training seed × one Lanczos probe, say); the noise a verdict is judged against is the half-width
of a two-sided confidence interval for their mean at :data:`NOISE_LEVEL` (SPEC §3): Student's t
with k − 1 degrees of freedom below :data:`BOOTSTRAP_MIN` replicates, an expanded percentile
bootstrap of the mean from there on. Never 2 × SE at small k: with k = 2 that interval covers
70%, not 95%.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "BOOTSTRAP_MIN",
    "FIT_LEVEL",
    "NOISE_LEVEL",
    "Estimate",
    "fmt",
    "geometric_factor",
    "linear_fit",
    "loglog_fit",
    "loglog_fit_with_error",
    "loglog_slope",
    "replicate_estimate",
    "signed",
    "slope_half_width",
    "spearman",
    "spearman_interval",
    "t_multiplier",
]

FIT_LEVEL = 0.95
"""Confidence level of the half-widths that serve as the noise of fitted slopes (C6-C8, C10)."""


NOISE_LEVEL = 0.95
"""Default confidence level of the noise of replicate estimates (config ``noise.level``)."""

BOOTSTRAP_MIN = 8
"""From this many replicates on, the noise is a bootstrap interval instead of Student's t."""


@dataclass(frozen=True)
class Estimate:
    """The mean of ``count`` replicate estimates and its noise (``nan`` when ``count < 2``).

    ``noise`` is the half-width of a two-sided ``level`` confidence interval for the mean;
    ``method`` says how it was made (``"t(k-1)"``, ``"bootstrap"``, ``"not measured"``).
    """

    mean: float
    noise: float
    count: int
    spread: float  # sample standard deviation of the estimates (nan when count < 2)
    method: str = "not measured"
    level: float = NOISE_LEVEL

    def describe(self, digits: int = 3) -> str:
        """``"mean ± noise (k estimates, t 95%)"``, or ``"mean (1 estimate: noise not
        measured)"``."""
        if self.count < 2:
            return f"{fmt(self.mean, digits)} (1 estimate: noise not measured)"
        return (
            f"{fmt(self.mean, digits)} ± {fmt(self.noise, digits)} ({self.count} estimates, "
            f"{self.method} {self.level:.0%})"
        )


def t_multiplier(count: int, level: float = NOISE_LEVEL) -> float:
    """Student's t quantile for a two-sided ``level`` interval of a mean of ``count`` values
    (``count − 1`` degrees of freedom): 12.7 for 2, 4.30 for 3, 2.78 for 5 at 95%; inf below 2."""
    if count < 2:
        return math.inf
    from scipy.stats import t

    return float(t.ppf(0.5 + level / 2, count - 1))


def _bootstrap_half_width(
    arr: np.ndarray, level: float, resamples: int = 4000, seed: int = 0
) -> float:
    """Half-width (the larger side) of the expanded percentile bootstrap interval of the mean
    (Hesterberg 2015): the percentile level is widened so that, for normal data, it matches
    the t interval with k − 1 degrees of freedom; the plain percentile interval is too narrow
    at small k (it covered 89% instead of 95% at k = 8 in tests/test_stats.py)."""
    from scipy.stats import norm

    k = arr.size
    expanded = 2 * norm.cdf(t_multiplier(k, level) * math.sqrt(k / (k - 1))) - 1
    rng = np.random.default_rng(seed)
    means = arr[rng.integers(0, k, (resamples, k))].mean(axis=1)
    low, high = np.quantile(means, [0.5 - expanded / 2, 0.5 + expanded / 2])
    mean = float(arr.mean())
    return float(max(high - mean, mean - low))


def replicate_estimate(
    values: Sequence[float], level: float = NOISE_LEVEL, bootstrap_min: int = BOOTSTRAP_MIN
) -> Estimate:
    """Mean and noise of replicate estimates over the values that are not NaN.

    ``noise`` is the half-width of a two-sided ``level`` interval for the mean: Student's t with
    k − 1 degrees of freedom (``t × sd / √k``) for k < ``bootstrap_min``, a seeded expanded
    percentile bootstrap of the mean for k ≥ ``bootstrap_min``; nan for k < 2 (one estimate
    cannot measure its own noise, so it can never decide a verdict). Infinite values are kept in
    the mean (an overflowed growth is infinite) but make the noise infinite.
    """
    arr = np.asarray(list(values), dtype=float)
    arr = arr[~np.isnan(arr)]
    k = int(arr.size)
    if k == 0:
        return Estimate(math.nan, math.nan, 0, math.nan, level=level)
    mean = float(np.mean(arr))
    if k < 2:
        return Estimate(mean, math.nan, k, math.nan, level=level)
    if not np.isfinite(arr).all():
        return Estimate(mean, math.inf, k, math.inf, "t(k-1)", level)
    sd = float(np.std(arr, ddof=1))
    if k >= bootstrap_min:
        return Estimate(mean, _bootstrap_half_width(arr, level), k, sd, "bootstrap", level)
    return Estimate(mean, t_multiplier(k, level) * sd / math.sqrt(k), k, sd, "t(k-1)", level)


def _finite_ranks(arr: np.ndarray) -> np.ndarray:
    """``arr`` with ±inf replaced by values beyond its finite range (rank order kept)."""
    arr = arr.copy()
    fin = arr[np.isfinite(arr)]
    lo, hi = (float(fin.min()), float(fin.max())) if fin.size else (0.0, 0.0)
    arr[np.isposinf(arr)] = hi + abs(hi) + 1.0
    arr[np.isneginf(arr)] = lo - abs(lo) - 1.0
    return arr


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman rank correlation over the pairs where neither is NaN (inf ranks at the ends);
    NaN with fewer than 3 pairs or a constant side."""
    from scipy.stats import spearmanr

    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    keep = ~(np.isnan(x) | np.isnan(y))
    if keep.sum() < 3:
        return math.nan
    xs, ys = _finite_ranks(x[keep]), _finite_ranks(y[keep])
    if np.unique(xs).size < 2 or np.unique(ys).size < 2:
        return math.nan
    return float(spearmanr(xs, ys).statistic)


def spearman_interval(
    x: Sequence[float],
    y: Sequence[float],
    level: float = NOISE_LEVEL,
    resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float, float, int]:
    """Spearman ρ with its noise and one-sided p-value: ``(rho, noise, p_value, n)``.

    ``noise`` is the half-width (the larger side) of the two-sided ``level`` percentile
    bootstrap interval of ρ (pairs resampled with replacement, seeded; resamples with a constant
    side are dropped); ``p_value`` is the permutation-free asymptotic p-value of ρ > 0 from
    SciPy. NaN where ρ is undefined.
    """
    from scipy.stats import spearmanr

    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    keep = ~(np.isnan(x) | np.isnan(y))
    xs, ys = _finite_ranks(x[keep]), _finite_ranks(y[keep])
    n = int(xs.size)
    rho = spearman(xs, ys)
    if not math.isfinite(rho):
        return math.nan, math.nan, math.nan, n
    p_value = float(spearmanr(xs, ys, alternative="greater").pvalue)
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(resamples):
        idx = rng.integers(0, n, n)
        r = spearman(xs[idx], ys[idx])
        if math.isfinite(r):
            draws.append(r)
    if len(draws) < 2:
        return rho, math.nan, p_value, n
    low, high = np.quantile(draws, [0.5 - level / 2, 0.5 + level / 2])
    return rho, float(max(high - rho, rho - low)), p_value, n


def fmt(x: float, digits: int = 3) -> str:
    """A number for a table cell: ``nan``, ``inf`` or ``digits`` significant figures."""
    if isinstance(x, (float, np.floating)) and math.isnan(x):
        return "nan"
    if isinstance(x, (float, np.floating)) and math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:.{digits}g}"


def signed(x: float, digits: int = 3) -> str:
    """A margin with its sign (``+inf``/``-inf``/``nan`` spelled out)."""
    return "nan" if x != x else f"{x:+.{digits}g}"


# --------------------------------------------------------------------------- fits


def loglog_fit(x: Sequence[float], y: Sequence[float]) -> tuple[float, float]:
    """(slope, intercept) of ln y = slope·ln x + intercept over the finite, positive pairs
    (nan, nan with fewer than two)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    if keep.sum() < 2:
        return math.nan, math.nan
    slope, intercept = np.polyfit(np.log(x[keep]), np.log(y[keep]), 1)
    return float(slope), float(intercept)


def loglog_slope(x: Sequence[float], y: Sequence[float]) -> float:
    """Least-squares slope of log y against log x over the finite, positive pairs (nan if < 2)."""
    return loglog_fit(x, y)[0]


def linear_fit(x: Sequence[float], y: Sequence[float]) -> tuple[float, float, float, int]:
    """Least-squares line through the finite pairs: (slope, intercept, standard error of the
    slope from the residuals, degrees of freedom = points − 2).

    Fewer than two points (or one x value): nan slope; exactly two: the standard error is inf
    (a line through two points says nothing about its own spread).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    dof = max(int(x.size) - 2, 0)
    sxx = float(np.sum((x - x.mean()) ** 2)) if x.size else 0.0
    if x.size < 2 or sxx == 0:
        return float("nan"), float("nan"), float("nan"), dof
    slope = float(np.sum((x - x.mean()) * (y - y.mean())) / sxx)
    intercept = float(y.mean() - slope * x.mean())
    if dof == 0:
        return slope, intercept, float("inf"), dof
    residuals = y - (slope * x + intercept)
    se = float(np.sqrt(np.sum(residuals**2) / dof / sxx))
    return slope, intercept, se, dof


def loglog_fit_with_error(
    x: Sequence[float], y: Sequence[float], base: float = 10.0
) -> tuple[float, float, float, int]:
    """:func:`linear_fit` of log y against log x (logarithms to ``base``) over the finite,
    positive pairs."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    scale = np.log(base)
    return linear_fit(np.log(x[keep]) / scale, np.log(y[keep]) / scale)


def slope_half_width(se: float, dof: int, level: float = FIT_LEVEL) -> float:
    """Half-width of the two-sided ``level`` confidence interval of a fitted slope: Student's t
    quantile for ``dof`` degrees of freedom times the standard error ``se`` (inf when ``dof``
    < 1 or ``se`` is not finite: the fit cannot tell its own spread)."""
    if dof is None or not dof >= 1 or not math.isfinite(se):
        return float("inf")
    from scipy.stats import t

    return float(t.ppf(0.5 + level / 2, int(dof)) * se)


def geometric_factor(orders: Sequence[float], errors: Sequence[float]) -> float:
    """exp of the least-squares slope of log(error) against N: the mean factor per order.

    nan when fewer than two errors are finite and positive (e.g. the exact map overflowed).
    """
    orders = np.asarray(orders, dtype=float)
    errors = np.asarray(errors, dtype=float)
    keep = np.isfinite(errors) & (errors > 0)
    if keep.sum() < 2 or keep.sum() < len(errors):
        return float("nan")
    return float(np.exp(np.polyfit(orders[keep], np.log(errors[keep]), 1)[0]))


# --------------------------------------------------------------------------- partial correlations
# Claim C13: does a predictor (the error proxy) rank a target (the true linearization error)
# beyond what trivial predictors (eta*T, eta*T*lambda_max) already explain? Spearman partial
# correlations on ranks, their bootstrap noise, and the smallest correlation a run of n settings
# could have detected.

__all__ += [
    "detectable_correlation",
    "partial_spearman",
    "partial_spearman_interval",
    "rank_residual_share",
]


def _rank(values: np.ndarray) -> np.ndarray:
    """Average ranks (ties share their mean rank) of finite-ranked values."""
    from scipy.stats import rankdata

    return rankdata(_finite_ranks(values))


def _residual(target: np.ndarray, covariates: np.ndarray) -> np.ndarray:
    """``target`` minus its least-squares fit on an intercept and ``covariates`` (columns)."""
    design = np.column_stack([np.ones(target.size), covariates])
    coef, *_ = np.linalg.lstsq(design, target, rcond=None)
    return target - design @ coef


def partial_spearman(
    x: Sequence[float], y: Sequence[float], covariates: Sequence[Sequence[float]]
) -> float:
    """Spearman partial correlation of ``x`` and ``y`` controlling for ``covariates`` (one
    sequence per covariate, each as long as ``x``): the Pearson correlation of the ranks of x
    and of y after each is regressed (least squares, with an intercept) on the covariates'
    ranks. Pairs with a NaN anywhere are dropped; NaN with fewer than ``3 + len(covariates)``
    of them, or when x or y is (in rank) a function of the covariates (nothing is left beyond
    them)."""
    x, y, z = _partial_inputs(x, y, covariates)
    return _partial_from_ranks(x, y, z)


def _partial_inputs(
    x: Sequence[float], y: Sequence[float], covariates: Sequence[Sequence[float]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ranks of the complete cases: (x, y, covariates as columns)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    z = np.asarray(covariates, dtype=float).reshape(-1, x.size).T  # (n, k)
    keep = ~(np.isnan(x) | np.isnan(y) | np.isnan(z).any(axis=1))
    x, y, z = x[keep], y[keep], z[keep]
    if x.size == 0:
        return x, y, z
    return _rank(x), _rank(y), np.column_stack([_rank(c) for c in z.T]) if z.shape[1] else z


def _partial_from_ranks(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> float:
    """Pearson correlation of the residuals of rank vectors x, y on rank columns z."""
    if x.size < 3 + z.shape[1]:
        return math.nan
    rx, ry = _residual(x, z), _residual(y, z)
    sx, sy = float(np.sqrt(np.sum(rx**2))), float(np.sqrt(np.sum(ry**2)))
    scale = 1e-9 * math.sqrt(x.size) * x.size  # ranks are O(n): below this is rounding
    if sx <= scale or sy <= scale:
        return math.nan
    return float(np.clip(np.sum(rx * ry) / (sx * sy), -1.0, 1.0))


def partial_spearman_interval(
    x: Sequence[float],
    y: Sequence[float],
    covariates: Sequence[Sequence[float]],
    level: float = NOISE_LEVEL,
    resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float, float, int]:
    """:func:`partial_spearman` with its noise and one-sided p-value: ``(rho, noise, p_value,
    n)``. ``noise`` is the half-width (the larger side) of the two-sided ``level`` percentile
    bootstrap interval (complete cases resampled with replacement, ranks recomputed per
    resample, seeded; undefined resamples dropped); ``p_value`` the one-sided p-value of
    ρ > 0 from Student's t with n − 2 − k degrees of freedom (k covariates). NaN where ρ is
    undefined."""
    from scipy.stats import t

    xr, yr, zr = _partial_inputs(x, y, covariates)
    n, k = int(xr.size), int(zr.shape[1]) if zr.ndim == 2 else 0
    rho = _partial_from_ranks(xr, yr, zr)
    if not math.isfinite(rho):
        return math.nan, math.nan, math.nan, n
    dof = n - 2 - k
    p_value = (
        float(t.sf(rho * math.sqrt(dof / max(1.0 - rho**2, 1e-300)), dof)) if dof > 0 else math.nan
    )
    # resample the complete cases (ranks are recomputed within each resample)
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    z = np.asarray(covariates, dtype=float).reshape(-1, x.size).T
    keep = ~(np.isnan(x) | np.isnan(y) | np.isnan(z).any(axis=1))
    data = np.column_stack([_finite_ranks(c) for c in (x[keep], y[keep], *z[keep].T)])
    idx = np.random.default_rng(seed).integers(0, n, (resamples, n))
    draws = _batched_partials(data[idx])
    draws = draws[np.isfinite(draws)]
    if draws.size < 2:
        return rho, math.nan, p_value, n
    low, high = np.quantile(draws, [0.5 - level / 2, 0.5 + level / 2])
    return rho, float(max(high - rho, rho - low)), p_value, n


def _batched_partials(samples: np.ndarray) -> np.ndarray:
    """:func:`partial_spearman` of each resample (array (B, n, 2 + k): x, y, covariates), at
    once: ranks along n, rank residuals on an intercept and the covariates' ranks by the normal
    equations (pseudo-inverse: tied or collinear covariates are fine), NaN where undefined."""
    from scipy.stats import rankdata

    count, n, width = samples.shape
    ranks = rankdata(samples, axis=1)
    design = np.concatenate([np.ones((count, n, 1)), ranks[:, :, 2:]], axis=2)
    gram = np.einsum("bni,bnj->bij", design, design)
    hat = design @ np.linalg.pinv(gram) @ design.transpose(0, 2, 1)
    resid = ranks[:, :, :2] - hat @ ranks[:, :, :2]
    sx = np.sqrt(np.sum(resid[:, :, 0] ** 2, axis=1))
    sy = np.sqrt(np.sum(resid[:, :, 1] ** 2, axis=1))
    scale = 1e-9 * math.sqrt(n) * n
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.sum(resid[:, :, 0] * resid[:, :, 1], axis=1) / (sx * sy)
    out[(sx <= scale) | (sy <= scale)] = np.nan
    if n < width + 1:  # fewer than 3 + k cases
        out[:] = np.nan
    return np.clip(out, -1.0, 1.0)


def detectable_correlation(n: int, alpha: float = 0.05, controlled: int = 0) -> float:
    """The smallest (partial) correlation a one-sided test at level ``alpha`` detects with
    ``n`` pairs and ``controlled`` covariates: r_c = t_c / √(dof + t_c²), t_c the 1 − alpha
    quantile of Student's t with dof = n − 2 − controlled (0.378 for n = 20, none controlled;
    the t approximation SciPy also uses for Spearman's ρ). NaN when dof < 1."""
    from scipy.stats import t

    dof = int(n) - 2 - int(controlled)
    if dof < 1:
        return math.nan
    t_c = float(t.ppf(1.0 - alpha, dof))
    return t_c / math.sqrt(dof + t_c**2)


def rank_residual_share(x: Sequence[float], covariates: Sequence[Sequence[float]]) -> float:
    """The share of the rank variance of ``x`` left after regressing its ranks on the
    covariates' ranks (1 − R²; complete cases): 0 when x is, in rank, a linear function of the
    covariates (e.g. a monotone function of one of them), so it carries nothing beyond them. NaN
    with fewer than two complete cases or a constant x."""
    x = np.asarray(x, dtype=float)
    xr, _, zr = _partial_inputs(x, x, covariates)
    if xr.size < 2:
        return math.nan
    total = float(np.sum((xr - xr.mean()) ** 2))
    if total == 0:
        return math.nan
    return float(np.sum(_residual(xr, zr) ** 2) / total)
