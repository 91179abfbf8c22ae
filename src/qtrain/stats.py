"""Small statistics the claims share: replicate noise, rank correlations with intervals.

NumPy/SciPy only. A *replicate estimate* is one independent measurement of a quantity (one
training seed × one Lanczos probe, say); the noise a verdict is judged against is ``coverage``
standard errors of their mean (SPEC §3: a margin inside the noise is inconclusive).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Estimate", "fmt", "replicate_estimate", "spearman", "spearman_interval"]


@dataclass(frozen=True)
class Estimate:
    """The mean of ``count`` replicate estimates and its noise (``nan`` when ``count < 2``)."""

    mean: float
    noise: float
    count: int
    spread: float  # sample standard deviation of the estimates (nan when count < 2)

    def describe(self, digits: int = 3) -> str:
        """``"mean ± noise (k estimates)"``, or ``"mean (1 estimate: noise not measured)"``."""
        if self.count < 2:
            return f"{fmt(self.mean, digits)} (1 estimate: noise not measured)"
        return f"{fmt(self.mean, digits)} ± {fmt(self.noise, digits)} ({self.count} estimates)"


def replicate_estimate(values: Sequence[float], coverage: float = 2.0) -> Estimate:
    """Mean and noise of replicate estimates: ``noise = coverage × sd / √k`` over the finite
    values (``sd`` the sample standard deviation). Infinite values are kept in the mean (an
    overflowed growth is infinite) but make the noise infinite; no finite value gives nan."""
    arr = np.asarray(list(values), dtype=float)
    arr = arr[~np.isnan(arr)]
    k = int(arr.size)
    if k == 0:
        return Estimate(math.nan, math.nan, 0, math.nan)
    mean = float(np.mean(arr))
    if k < 2:
        return Estimate(mean, math.nan, k, math.nan)
    if not np.isfinite(arr).all():
        return Estimate(mean, math.inf, k, math.inf)
    sd = float(np.std(arr, ddof=1))
    return Estimate(mean, coverage * sd / math.sqrt(k), k, sd)


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
    coverage: float = 2.0,
    resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float, float, int]:
    """Spearman ρ with its noise and one-sided p-value: ``(rho, noise, p_value, n)``.

    ``noise`` is ``coverage`` × the bootstrap standard deviation of ρ (pairs resampled with
    replacement, seeded; resamples with a constant side are dropped); ``p_value`` is the
    permutation-free asymptotic p-value of ρ > 0 from SciPy. NaN where ρ is undefined.
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
    noise = coverage * float(np.std(draws, ddof=1)) if len(draws) >= 2 else math.nan
    return rho, noise, p_value, n


def fmt(x: float, digits: int = 3) -> str:
    """A number for a table cell: ``nan``, ``inf`` or ``digits`` significant figures."""
    if isinstance(x, (float, np.floating)) and math.isnan(x):
        return "nan"
    if isinstance(x, (float, np.floating)) and math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:.{digits}g}"
