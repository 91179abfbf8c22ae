"""Lanczos quadrature and Papyan's density against operators with known spectra."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from qtrain.spectra.lanczos import (
    DensitySettings,
    LanczosDivergenceError,
    SpectralDensity,
    gauss_quadrature,
    gaussian_density,
    lanczos,
    lanczos_tridiagonal,
    papyan_sigma,
    spectral_density,
    start_vector,
)

pytestmark = pytest.mark.usefixtures("one_thread")


def known_spectrum(n: int = 300) -> torch.Tensor:
    """A bulk in [−0.5, 2], three positive outliers and one negative outlier."""
    rng = np.random.default_rng(0)
    bulk = rng.uniform(-0.5, 2.0, n - 4)
    return torch.tensor(np.concatenate([bulk, [5.0, 8.0, 12.0, -3.0]]))


def diag_op(d: torch.Tensor):
    return lambda v: d * v


def moments(x: np.ndarray, w: np.ndarray, kmax: int) -> np.ndarray:
    return np.array([np.sum(w * x**k) for k in range(kmax + 1)])


@pytest.mark.parametrize(("reorth", "iters", "rtol"), [(True, 12, 1e-10), (False, 8, 1e-8)])
def test_quadrature_reproduces_moments(reorth: bool, iters: int, rtol: float) -> None:
    d = known_spectrum()
    n = d.numel()
    nodes, weights = lanczos(diag_op(d), n, iters, seed=3, reorthogonalize=reorth)
    assert nodes.dtype == weights.dtype == np.float64
    assert nodes.shape == weights.shape == (iters,)
    assert weights.sum() == pytest.approx(1.0, abs=1e-13)
    v0 = start_vector(n, 3).numpy()
    exact = moments(d.numpy(), v0**2, 2 * iters - 1)  # v0^T D^k v0
    scale = moments(np.abs(d.numpy()), v0**2, 2 * iters - 1)
    np.testing.assert_array_less(
        np.abs(moments(nodes, weights, 2 * iters - 1) - exact), rtol * scale
    )


@pytest.mark.parametrize("reorth", [True, False])
def test_extreme_ritz_values_are_the_extreme_eigenvalues(reorth: bool) -> None:
    d = known_spectrum()
    nodes, _ = lanczos(diag_op(d), d.numel(), 40, seed=0, reorthogonalize=reorth)
    assert nodes.max() == pytest.approx(12.0, rel=1e-10)
    assert nodes.min() == pytest.approx(-3.0, rel=1e-10)
    assert np.all(np.diff(nodes) >= 0)


def test_invariant_subspace_gives_exact_quadrature() -> None:
    values = torch.tensor([-1.0, 0.5, 2.0, 3.0], dtype=torch.float64)
    d = values.repeat(10)
    v0 = start_vector(40, 7).numpy()
    alpha, beta = lanczos_tridiagonal(diag_op(d), 40, 15, seed=7)
    assert alpha.size == 4 and beta.size == 3  # stopped at the breakdown
    nodes, weights = gauss_quadrature(alpha, beta)
    np.testing.assert_allclose(nodes, values.numpy(), atol=1e-12)
    expected = [(v0[d.numpy() == val] ** 2).sum() for val in values.numpy()]
    np.testing.assert_allclose(weights, expected, atol=1e-12)


def test_iterations_capped_at_dim_and_v0_and_numpy_matvec() -> None:
    d = np.array([3.0, -2.0, 0.5, 1.0, 7.0])
    v = np.ones(5)
    nodes, weights = lanczos(lambda t: d * t.numpy(), 5, 50, v0=v, reorthogonalize=True)
    np.testing.assert_allclose(nodes, np.sort(d), atol=1e-12)
    np.testing.assert_allclose(weights, np.full(5, 0.2), atol=1e-12)
    # the default start vector is the documented one
    a1 = lanczos_tridiagonal(lambda t: torch.from_numpy(d) * t, 5, 3, seed=11)
    a2 = lanczos_tridiagonal(lambda t: torch.from_numpy(d) * t, 5, 3, v0=start_vector(5, 11))
    np.testing.assert_allclose(a1[0], a2[0], rtol=1e-14)
    sv = start_vector(5, 11)
    assert sv.dtype == torch.float64 and float(sv.norm()) == pytest.approx(1.0)


def test_float32_operator_keeps_float64_recurrence() -> None:
    d = known_spectrum().float()
    nodes, _ = lanczos(lambda v: d * v.float(), d.numel(), 30, seed=0)
    assert nodes.dtype == np.float64
    assert nodes.max() == pytest.approx(12.0, rel=1e-5)


def test_non_finite_operator_names_the_iteration() -> None:
    d = known_spectrum()
    calls = {"n": 0}

    def bad(v: torch.Tensor) -> torch.Tensor:
        calls["n"] += 1
        out = d * v
        if calls["n"] == 3:
            out[0] = float("nan")
        return out

    with pytest.raises(LanczosDivergenceError, match="iteration 2"):
        lanczos(bad, d.numel(), 10)


def test_papyan_sigma_is_the_kappa_width() -> None:
    s = papyan_sigma(256, 1.25)
    assert s == pytest.approx((2 / 255) / math.sqrt(8 * math.log(1.25)), rel=1e-15)
    assert s == pytest.approx(0.0058702, rel=1e-4)
    # the Gaussian falls to 1/κ of its peak half a grid spacing (1/(M − 1)) from its centre
    assert math.exp(-0.5 * (1 / 255) ** 2 / s**2) == pytest.approx(1 / 1.25, rel=1e-12)


def test_spectral_density_recipe(tmp_path) -> None:
    d = known_spectrum()
    n = d.numel()
    settings = DensitySettings(steps=30, probes=3, seed=5, bounds_steps=16)
    sd = spectral_density(diag_op(d), n, settings)
    assert sd.grid.shape == sd.density.shape == (1024,)
    assert sd.nodes.shape == sd.weights.shape == sd.probe.shape == (90,)
    assert sd.probes == 3
    assert sd.weights.sum() == pytest.approx(1.0, abs=1e-12)
    for p in range(3):
        assert sd.weights[sd.probe == p].sum() == pytest.approx(1 / 3, abs=1e-12)
    assert sd.lower < -3.0 and sd.upper > 12.0
    assert sd.grid[0] == sd.lower and sd.grid[-1] == sd.upper
    assert sd.sigma == pytest.approx(papyan_sigma(30, 1.25) * (sd.upper - sd.lower) / 2)
    # the density is the Gaussian mixture: its integral over the grid is the mixture's mass there
    inside = sum(
        w
        * 0.5
        * (
            math.erf((sd.upper - t) / (sd.sigma * math.sqrt(2)))
            - math.erf((sd.lower - t) / (sd.sigma * math.sqrt(2)))
        )
        for t, w in zip(sd.nodes, sd.weights, strict=True)
    )
    assert np.trapezoid(sd.density, sd.grid) == pytest.approx(inside, abs=1e-6)
    assert inside == pytest.approx(1.0, abs=1e-3)
    # the averaged quadrature estimates tr(D)/n and tr(D²)/n (3 probes of a 300-dim sphere)
    dn = d.numpy()
    for k, spread in ((1, dn.std()), (2, (dn**2).std())):
        est = np.sum(sd.weights * sd.nodes**k)
        assert abs(est - np.mean(dn**k)) < 5 * spread * math.sqrt(2 / (3 * n))
    # raw nodes and weights survive a save/load; smoothing is reproducible from them
    path = tmp_path / "spectrum.npz"
    sd.save(path)
    back = SpectralDensity.load(path)
    np.testing.assert_array_equal(back.nodes, sd.nodes)
    np.testing.assert_array_equal(back.weights, sd.weights)
    np.testing.assert_array_equal(back.probe, sd.probe)
    assert back.sigma == sd.sigma and back.steps == 30 and back.meta == sd.meta
    np.testing.assert_allclose(back.smooth(), sd.density)


def test_spectral_density_bounds_options() -> None:
    d = known_spectrum()
    settings = DensitySettings(steps=20, grid_points=64)
    given = spectral_density(diag_op(d), d.numel(), settings, bounds=(-4.0, 13.0))
    assert (given.lower, given.upper) == (-4.0, 13.0) and given.grid.shape == (64,)
    auto = spectral_density(diag_op(d), d.numel(), DensitySettings(steps=20, bounds_steps=None))
    width = auto.nodes.max() - auto.nodes.min()
    assert auto.lower == pytest.approx(auto.nodes.min() - 0.05 * width)
    assert auto.upper == pytest.approx(auto.nodes.max() + 0.05 * width)


@pytest.mark.parametrize(
    ("bad", "message"),
    [({"probes": 0}, "probes must be at least 1"), ({"grid_points": 1}, "grid_points must be")],
)
def test_density_settings_refuse_what_makes_no_density(bad, message) -> None:
    with pytest.raises(ValueError, match=message):
        DensitySettings(**bad)
    assert DensitySettings(steps=500).for_dim(40).steps == 40


def test_gaussian_density_against_direct_sum() -> None:
    nodes = np.array([0.0, 1.0, 4.0])
    weights = np.array([0.2, 0.5, 0.3])
    grid = np.linspace(-1, 5, 7)
    sigma = 0.7
    direct = [
        sum(
            w * math.exp(-((x - t) ** 2) / (2 * sigma**2)) / (sigma * math.sqrt(2 * math.pi))
            for t, w in zip(nodes, weights, strict=True)
        )
        for x in grid
    ]
    np.testing.assert_allclose(gaussian_density(nodes, weights, grid, sigma), direct, rtol=1e-13)
