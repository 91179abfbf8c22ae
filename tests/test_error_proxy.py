"""Error proxy (Eq. 7-8) and mode masses against hand-computed values and a brute-force loop."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qtrain.spectra.error_proxy import (
    convention,
    error_proxy,
    error_proxy_curve,
    growth_rates,
    largest_divergent_multiplier,
    log_error_proxy_curve,
    mode_masses,
)

# eigenvalues λ and weights; a = −λ = [1, −0.1, −0.5, −2, 0.4]
NODES = np.array([-1.0, 0.1, 0.5, 2.0, -0.4])
WEIGHTS = np.array([0.1, 0.2, 0.3, 0.3, 0.1])


def brute_force(nodes, weights, t, cutoff, scale):
    num = den = 0.0
    for lam, w in zip(nodes, weights, strict=True):
        a = -scale * lam
        if abs(a) > cutoff:
            num += w * abs(1 + a) ** t
            den += w
    return num / den


def test_hand_computed_values() -> None:
    # selected (|a| > 0.4, strict): a = 1 (w 0.1), −0.5 (0.3), −2 (0.3); N_c = 0.7
    assert error_proxy(NODES, WEIGHTS, 0) == pytest.approx(1.0)
    assert error_proxy(NODES, WEIGHTS, 1) == pytest.approx((0.2 + 0.15 + 0.3) / 0.7)
    assert error_proxy(NODES, WEIGHTS, 3) == pytest.approx((0.8 + 0.3 * 0.125 + 0.3) / 0.7)
    assert mode_masses(NODES, WEIGHTS) == pytest.approx((0.6, 0.1))


def test_lr_scaled_option() -> None:
    eta = 0.25  # a = −0.25 λ = [0.25, −0.025, −0.125, −0.5, 0.1]: only a = −0.5 is beyond 0.4
    assert error_proxy(NODES, WEIGHTS, 4, scale=eta) == pytest.approx(0.5**4)
    assert mode_masses(NODES, WEIGHTS, 0.4, scale=eta) == pytest.approx((0.3, 0.0))
    assert error_proxy(NODES, WEIGHTS, 2, cutoff=0.1, scale=eta) == pytest.approx(
        (0.1 * 1.25**2 + 0.3 * 0.875**2 + 0.3 * 0.5**2) / 0.7
    )


def test_against_brute_force_and_vectorized_curve() -> None:
    rng = np.random.default_rng(0)
    nodes = rng.normal(0.0, 1.5, 200)
    weights = rng.uniform(0, 1, 200)
    weights /= weights.sum()
    ts = np.arange(0, 60)
    curve = error_proxy_curve(nodes, weights, ts, 0.4, 0.7)
    assert curve.shape == ts.shape
    for t in (0, 1, 7, 59):
        expected = brute_force(nodes, weights, t, 0.4, 0.7)
        assert curve[t] == pytest.approx(expected, rel=1e-12)
        assert error_proxy(nodes, weights, t, 0.4, 0.7) == pytest.approx(expected, rel=1e-12)
    dis, div = mode_masses(nodes, weights, 0.4, 0.7)
    a = -0.7 * nodes
    assert dis == pytest.approx(weights[a < -0.4].sum()) and div == pytest.approx(
        weights[a > 0.4].sum()
    )
    assert error_proxy_curve(nodes, weights, ts.reshape(6, 10)).shape == (6, 10)


def test_falls_then_grows_when_divergent_modes_exist() -> None:
    # mostly gently dissipative modes (|1+a| = 0.5) and a little divergent mass (|1+a| = 1.5)
    nodes, weights = np.array([0.5, -0.5]), np.array([0.95, 0.05])
    curve = error_proxy_curve(nodes, weights, np.arange(40))
    t_min = int(np.argmin(curve))
    assert 0 < t_min < 39
    assert curve[-1] > curve[t_min]
    growth = math.log(curve[-1] / curve[-2])
    assert growth == pytest.approx(math.log(1.5), rel=1e-3)


def test_cutoff_boundary_is_strict_and_empty_is_nan_or_error() -> None:
    nodes, weights = np.array([-0.4, 0.4, 0.1]), np.array([0.3, 0.3, 0.4])
    assert mode_masses(nodes, weights, 0.4) == (0.0, 0.0)
    assert math.isnan(error_proxy(nodes, weights, 3, 0.4))
    assert np.isnan(error_proxy_curve(nodes, weights, [0, 1, 2])).all()
    with pytest.raises(ValueError, match="undefined"):
        error_proxy(nodes, weights, 3, 0.4, on_empty="raise")


def test_overflow_is_inf_and_bad_input_is_reported() -> None:
    assert error_proxy([-10.0], [1.0], 1000) == math.inf
    with pytest.raises(ValueError, match="length"):
        error_proxy([1.0, 2.0], [1.0], 1)
    with pytest.raises(ValueError, match="finite"):
        mode_masses([np.nan], [1.0])
    with pytest.raises(ValueError, match="scale"):
        error_proxy([1.0], [1.0], 1, scale=0.0)


# ------------------------------------------------------------- the multiplier convention

# η = 0.05, c = 0.4: |λ| > 0.4 enter; multipliers |1 − ηλ| by hand
LAMS = np.array([-1.0, 0.1, 0.5, 2.0, 30.0, 50.0, -0.3])
W = np.array([0.1, 0.3, 0.1, 0.2, 0.1, 0.1, 0.1])
MULTIPLIERS = {-1.0: 1.05, 0.5: 0.975, 2.0: 0.9, 30.0: 0.5, 50.0: 1.5}  # 0.1, −0.3 cut off


def test_conventions_scale_cutoff_and_split() -> None:
    def parameters(name):
        p = convention(name, 0.05, 0.4)
        return p.scale, p.cutoff, p.split

    assert parameters("multiplier") == (0.05, pytest.approx(0.02), "multiplier")  # |λ| > 0.4
    assert parameters("eigenvalue") == (1.0, 0.4, "sign")
    assert parameters("lr_scaled") == (0.05, 0.4, "sign")  # |λ| > 8
    with pytest.raises(ValueError, match="convention must be one of"):
        convention("a = -lambda", 0.05, 0.4)
    with pytest.raises(ValueError, match="split"):
        mode_masses(LAMS, W, 0.4, 1.0, split="magnitude")


def test_multiplier_masses_and_proxy_by_hand() -> None:
    p = convention("multiplier", 0.05, 0.4)
    # dissipative: multiplier < 1 (λ = 0.5, 2, 30); divergent: > 1 (λ = −1, and 50: ηλ > 2)
    assert mode_masses(LAMS, W, p.cutoff, p.scale, p.split) == pytest.approx((0.4, 0.2))
    # by sign (the printed split) λ = 50 would count as dissipative
    assert mode_masses(LAMS, W, p.cutoff, p.scale, "sign") == pytest.approx((0.5, 0.1))
    assert largest_divergent_multiplier(LAMS, W, p.cutoff, p.scale, p.split) == pytest.approx(1.5)
    assert math.isnan(largest_divergent_multiplier([2.0], [1.0], p.cutoff, p.scale, p.split))
    t = 7
    w_sel = {lam: w for lam, w in zip(LAMS, W, strict=True) if lam in MULTIPLIERS}
    expected = sum(w * MULTIPLIERS[lam] ** t for lam, w in w_sel.items()) / sum(w_sel.values())
    assert error_proxy(LAMS, W, t, p.cutoff, p.scale) == pytest.approx(expected)


def test_growth_rates_are_the_derivative_of_ln_e() -> None:
    p = convention("multiplier", 0.05, 0.4)
    ts = np.array([0.0, 3.0, 20.0, 80.0])
    rate, carried = growth_rates(LAMS, W, ts, p.cutoff, p.scale, p.split)
    h = 1e-5
    numeric = (
        log_error_proxy_curve(LAMS, W, ts + h, p.cutoff, p.scale)
        - log_error_proxy_curve(LAMS, W, ts - h, p.cutoff, p.scale)
    ) / (2 * h)
    np.testing.assert_allclose(rate, numeric, rtol=1e-5, atol=1e-8)
    # under the multiplier split every growing mode is divergent: all growth is carried
    np.testing.assert_allclose(carried, rate)
    assert rate[0] < 0 < rate[-1]  # falls at first, grows once the divergent modes dominate
    assert rate[-1] == pytest.approx(math.log(1.5), rel=1e-3)


def test_growth_of_modes_called_dissipative_is_not_carried() -> None:
    # a = −λ: λ = 3 grows (|1 − 3| = 2) but the sign split calls it dissipative; λ = −0.5 is
    # divergent (1.5). Late on, E grows like 2^t, carried by the λ = 3 mode, not a divergent one.
    nodes, weights = np.array([3.0, -0.5]), np.array([0.5, 0.5])
    rate, carried = growth_rates(nodes, weights, [0.0, 60.0], 0.4, 1.0, "sign")
    assert rate[1] == pytest.approx(math.log(2.0), rel=1e-6)
    share = 0.75**60 / (1 + 0.75**60)  # the divergent mode's share of E(60)
    assert carried[1] == pytest.approx(share * math.log(1.5)) and carried[1] < 1e-7
    # at t = 0 both hold half of E: only the divergent mode's ln 1.5 counts
    assert carried[0] == pytest.approx(0.5 * math.log(1.5))
    assert rate[0] == pytest.approx(0.5 * math.log(1.5) + 0.5 * math.log(2.0))
    assert np.isnan(growth_rates([0.1], [1.0], [1.0], 0.4)[0]).all()  # N_c = 0
