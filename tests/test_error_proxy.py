"""Error proxy (Eq. 7-8) and mode masses against hand-computed values and a brute-force loop."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qtrain.spectra.error_proxy import error_proxy, error_proxy_curve, mode_masses

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
