"""Replicate noise (qtrain.stats): Student's t below 8 replicates, a bootstrap from 8 on, and the
calibration SPEC §3 asks for (true margin 0 gives "holds" in at most ~5% of trials)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qtrain.claims.core import HOLDS, INCONCLUSIVE, NOT_HOLDING, judge
from qtrain.stats import replicate_estimate, spearman_interval, t_multiplier


def test_t_multipliers_are_the_textbook_quantiles():
    assert t_multiplier(2) == pytest.approx(12.706, abs=1e-3)
    assert t_multiplier(3) == pytest.approx(4.303, abs=1e-3)
    assert t_multiplier(5) == pytest.approx(2.776, abs=1e-3)
    assert t_multiplier(1) == math.inf


def test_small_k_noise_is_the_t_interval():
    values = [1.0, 2.0, 4.0]
    est = replicate_estimate(values)
    sd = float(np.std(values, ddof=1))
    assert est.method == "t(k-1)"
    assert est.mean == pytest.approx(7 / 3)
    assert est.noise == pytest.approx(4.3027 * sd / math.sqrt(3), rel=1e-4)


def test_one_estimate_has_no_noise_and_never_decides():
    est = replicate_estimate([0.3, float("nan")])
    assert est.count == 1 and math.isnan(est.noise)
    assert judge(est.mean, est.noise) == INCONCLUSIVE
    assert "noise not measured" in est.describe()


def test_infinite_replicates_make_the_noise_infinite():
    est = replicate_estimate([1.0, math.inf, 2.0])
    assert est.noise == math.inf
    assert judge(est.mean, est.noise) == INCONCLUSIVE


def test_large_k_uses_a_bootstrap_close_to_t_for_normal_data():
    values = np.random.default_rng(3).normal(0.0, 1.0, 40)
    est = replicate_estimate(values)
    t_half = t_multiplier(40) * float(np.std(values, ddof=1)) / math.sqrt(40)
    assert est.method == "bootstrap"
    assert est.noise == pytest.approx(t_half, rel=0.15)


def _holds_rate(k: int, true_margin: float, trials: int, seed: int) -> float:
    rng = np.random.default_rng(seed)
    draws = rng.normal(true_margin, 1.0, (trials, k))
    return float(np.mean([judge(e.mean, e.noise) == HOLDS for e in map(replicate_estimate, draws)]))


@pytest.mark.parametrize(("k", "trials"), [(2, 4000), (3, 4000), (5, 4000), (8, 400), (12, 400)])
def test_calibration_true_margin_zero_holds_at_most_five_percent(k, trials):
    rate = _holds_rate(k, 0.0, trials, seed=k)
    # a two-sided 95% interval: 2.5% expected on the "holds" side; allow 3 binomial SE
    assert rate <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / trials)


@pytest.mark.parametrize(("k", "at_least"), [(3, 0.6), (5, 0.95)])
def test_calibration_three_sd_margin_is_found_at_the_presets_replicate_counts(k, at_least):
    assert _holds_rate(k, 3.0, 2000, seed=100 + k) >= at_least


def test_two_replicates_rarely_find_a_three_sd_margin():
    """Why the presets need >= 3 replicates: t(1) = 12.7 hides most real effects."""
    assert _holds_rate(2, 3.0, 4000, seed=7) < 0.35


def test_a_clear_negative_margin_does_not_hold():
    est = replicate_estimate([-5.0, -5.2, -4.9])
    assert judge(est.mean, est.noise) == NOT_HOLDING


def test_spearman_noise_is_a_percentile_half_width():
    x = np.arange(12.0)
    y = x + np.random.default_rng(0).normal(0, 2.0, 12)
    rho, noise, p_value, n = spearman_interval(x, y, level=0.95)
    assert n == 12 and 0 < rho <= 1 and 0 < p_value < 0.05
    _, narrower, _, _ = spearman_interval(x, y, level=0.5)
    assert 0 < narrower < noise
