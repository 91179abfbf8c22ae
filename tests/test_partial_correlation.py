"""qtrain.stats' partial rank correlations and the detectable correlation (claim C13), against
brute force (residuals of explicit regressions), SciPy and hand calculations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import pearsonr, rankdata, spearmanr

from qtrain.stats import detectable_correlation, partial_spearman, partial_spearman_interval


def _brute_partial(x, y, zs) -> float:
    """Pearson correlation of rank residuals, by explicit normal equations."""
    rx, ry = rankdata(x), rankdata(y)
    design = np.column_stack([np.ones(len(x)), *[rankdata(z) for z in zs]])
    hat = design @ np.linalg.inv(design.T @ design) @ design.T
    return float(pearsonr(rx - hat @ rx, ry - hat @ ry).statistic)


def test_partial_spearman_matches_brute_force_and_the_closed_form():
    rng = np.random.default_rng(0)
    z = rng.normal(size=40)
    x = z + rng.normal(size=40)
    y = z + 0.5 * x + rng.normal(size=40)
    assert partial_spearman(x, y, [z]) == pytest.approx(_brute_partial(x, y, [z]), abs=1e-12)
    # one covariate: the textbook formula on Spearman correlations
    rxy, rxz, ryz = (spearmanr(a, b).statistic for a, b in ((x, y), (x, z), (y, z)))
    closed = (rxy - rxz * ryz) / math.sqrt((1 - rxz**2) * (1 - ryz**2))
    assert partial_spearman(x, y, [z]) == pytest.approx(closed, abs=1e-12)
    # two covariates, with ties in one of them
    w = np.round(rng.normal(size=40))
    assert partial_spearman(x, y, [z, w]) == pytest.approx(_brute_partial(x, y, [z, w]), abs=1e-12)
    # no covariate: plain Spearman
    assert partial_spearman(x, y, []) == pytest.approx(spearmanr(x, y).statistic, abs=1e-12)


def test_a_predictor_that_is_only_the_covariate_carries_nothing_beyond_it():
    z = np.arange(1.0, 21.0)
    truth = z**2 + np.sin(z)  # a monotone function of z
    proxy = np.exp(z / 5)  # also a monotone function of z: nothing left beyond it
    assert spearmanr(proxy, truth).statistic == pytest.approx(1.0)  # raw: perfect
    assert math.isnan(partial_spearman(proxy, truth, [z]))
    rho, noise, _, n = partial_spearman_interval(proxy, truth, [z])
    assert math.isnan(rho) and math.isnan(noise) and n == 20


def test_partial_interval_finds_information_beyond_the_covariate_and_its_absence():
    rng = np.random.default_rng(1)
    z = rng.uniform(0, 1, 36)
    signal = rng.normal(size=36)
    truth = 3 * z + signal
    informative = 3 * z + signal + 0.3 * rng.normal(size=36)
    rho, noise, p, n = partial_spearman_interval(informative, truth, [z])
    assert n == 36 and rho > 0.8 and 0 < noise < 0.2 and p < 1e-6
    blind = 3 * z + rng.normal(size=36)  # z plus noise unrelated to the truth's own part
    rho, noise, p, _ = partial_spearman_interval(blind, truth, [z])
    assert abs(rho) < noise and p > 0.05  # nothing beyond z
    # NaN cases are dropped pairwise
    truth_nan = truth.copy()
    truth_nan[:5] = np.nan
    assert partial_spearman_interval(informative, truth_nan, [z])[3] == 31


def test_detectable_correlation_by_hand():
    # r_c = t_c / sqrt(dof + t_c^2); t(0.95, 18) = 1.7341, t(0.95, 8) = 1.8595
    assert detectable_correlation(20) == pytest.approx(1.7341 / math.sqrt(18 + 1.7341**2), abs=1e-4)
    assert detectable_correlation(20) == pytest.approx(0.378, abs=5e-4)  # printed tables
    assert detectable_correlation(10) == pytest.approx(0.549, abs=5e-4)
    # one controlled covariate costs one degree of freedom: n = 21 with one = n = 20 with none
    assert detectable_correlation(21, controlled=1) == pytest.approx(detectable_correlation(20))
    assert detectable_correlation(9, controlled=2) > detectable_correlation(9)
    assert math.isnan(detectable_correlation(3, controlled=1))
    # it is the correlation whose one-sided p-value is exactly alpha
    r = detectable_correlation(30, alpha=0.05)
    from scipy.stats import t

    assert t.sf(r * math.sqrt(28 / (1 - r**2)), 28) == pytest.approx(0.05, abs=1e-9)


def test_batched_bootstrap_partials_equal_the_one_at_a_time_ones():
    from qtrain.stats import _batched_partials

    rng = np.random.default_rng(0)
    x, z = rng.normal(size=30), rng.normal(size=30)
    y, w = x + rng.normal(size=30), np.round(rng.normal(size=30))  # w has ties
    idx = rng.integers(0, 30, (50, 30))
    batched = _batched_partials(np.column_stack([x, y, z, w])[idx])
    single = [partial_spearman(x[i], y[i], [z[i], w[i]]) for i in idx]
    assert np.allclose(batched, single, atol=1e-12)
    # too few cases for two covariates: undefined
    assert np.isnan(_batched_partials(np.column_stack([x, y, z, w])[None, :4])).all()


def test_no_covariate_is_spearman_with_scipys_p_value():
    rng = np.random.default_rng(2)
    x = rng.normal(size=25)
    y = x + rng.normal(size=25)
    rho, noise, p, n = partial_spearman_interval(x, y, [])
    ref = spearmanr(x, y, alternative="greater")
    assert rho == pytest.approx(ref.statistic, abs=1e-12)
    assert p == pytest.approx(ref.pvalue, rel=1e-9)
    assert n == 25 and 0 < noise < 0.5
