"""Sampling tomography: 1/√N error, sign recovery, norm estimate, KP sample counts, top-k."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qtrain.quantum.circuits.tomography import (
    TomographyResult,
    keep_top_k,
    samples_for_precision,
    tomography,
    tomography_error,
)


def _unit(d: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal(d)
    return x / np.linalg.norm(x)


def test_samples_for_precision_matches_kerenidis_prakash() -> None:
    assert samples_for_precision(64, 0.1) == math.ceil(36 * 64 * math.log(64) / 0.01)
    assert samples_for_precision(64, 0.1, norm="linf") == math.ceil(36 * math.log(64) / 0.01)
    assert samples_for_precision(1, 0.5) > 0
    with pytest.raises(ValueError):
        samples_for_precision(8, 0.1, norm="l1")


def test_error_falls_like_inverse_square_root_of_samples() -> None:
    rng = np.random.default_rng(0)
    u = _unit(16, 1)
    ns = np.array([1_000, 10_000, 100_000, 1_000_000])
    errors = [
        np.mean([tomography_error(u, tomography(u, int(n), rng)) for _ in range(30)]) for n in ns
    ]
    slope = np.polyfit(np.log(ns), np.log(errors), 1)[0]
    assert -0.6 < slope < -0.4
    # observed error ≈ √(d/(4N)) (notes/quantum.md), far below the KP bound
    assert errors[-1] == pytest.approx(math.sqrt(16 / (4 * ns[-1])), rel=0.5)


def test_signs_right_for_entries_well_above_inverse_sqrt_samples() -> None:
    rng = np.random.default_rng(2)
    samples = 20_000
    u = _unit(32, 3)
    big = np.abs(u) > 5 / math.sqrt(samples)
    assert big.sum() >= 20
    for _ in range(20):
        est = tomography(u, samples, rng)
        assert np.all(np.sign(est[big]) == np.sign(u[big]))


def test_without_sign_stage_only_magnitudes() -> None:
    u = _unit(8, 4)
    est = tomography(u, 10_000, np.random.default_rng(5), signs=False)
    assert np.all(est >= 0)
    assert np.allclose(est, np.abs(u), atol=0.05)


def test_seeded_and_scaled_by_true_norm() -> None:
    x = 3.0 * _unit(10, 6)
    a = tomography(x, 5_000, np.random.default_rng(7))
    b = tomography(x, 5_000, np.random.default_rng(7))
    assert np.array_equal(a, b)
    assert np.linalg.norm(a) == pytest.approx(3.0)  # ‖√(n_i/N)‖ = 1 exactly


def test_norm_from_bernoulli_success_probability() -> None:
    x = 2.0 * _unit(10, 8)
    p, m = 0.2, 40_000
    res = tomography(
        x,
        10_000,
        np.random.default_rng(9),
        success_probability=p,
        norm_samples=m,
        return_result=True,
    )
    assert isinstance(res, TomographyResult)
    # ‖x̂‖ = ‖x‖·√(p̂/p); relative error ≈ ½·√((1−p)/(m p))
    sigma = 0.5 * math.sqrt((1 - p) / (m * p))
    assert abs(res.norm_estimate / 2.0 - 1) < 5 * sigma
    assert res.total_samples == 2 * 10_000 + m
    assert res.magnitude_counts.sum() == 10_000 and res.sign_counts is not None


def test_kp_sample_counts_meet_their_bounds() -> None:
    rng = np.random.default_rng(10)
    u = _unit(8, 11)
    delta = 0.1
    n_l2 = samples_for_precision(8, delta, norm="l2")
    n_inf = samples_for_precision(8, delta, norm="linf")
    for _ in range(5):
        assert tomography_error(u, tomography(u, n_l2, rng)) <= math.sqrt(7) * delta
        assert tomography_error(u, tomography(u, n_inf, rng), norm="linf") <= delta


def test_top_k_sparse_readout() -> None:
    u = np.array([0.1, -0.7, 0.05, 0.6, -0.3, 0.2])
    u = u / np.linalg.norm(u)
    est = tomography(u, 200_000, np.random.default_rng(12), top_k=2)
    assert np.count_nonzero(est) == 2
    assert set(np.flatnonzero(est)) == {1, 3}
    assert np.array_equal(keep_top_k(np.array([1.0, -3.0, 2.0]), 2), [0.0, -3.0, 2.0])
    assert np.array_equal(keep_top_k(np.array([1.0, 2.0]), 5), [1.0, 2.0])


def test_rejects_complex_and_zero() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(TypeError):
        tomography(np.array([1.0, 1j]), 10, rng)
    with pytest.raises(ValueError):
        tomography(np.zeros(3), 10, rng)
