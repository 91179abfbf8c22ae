"""Lanczos quadrature and Papyan's spectral-density recipe (SPEC §2.5).

:func:`lanczos` runs ``iters`` Lanczos steps of a symmetric operator from one start vector and
returns the Gauss quadrature of its spectral measure: the Ritz values (nodes) and the squared
first components of the tridiagonal's eigenvectors (weights, summing to 1). For a start vector
``v`` the quadrature reproduces the moments ``v^T A^k v`` for ``k ≤ 2·iters − 1``; for a
Gaussian ``v`` their expectation is ``tr(A^k)/dim``, so averaged over probes they estimate the
spectral density. α, β and the tridiagonal eigenproblem are float64 (``eigh_tridiagonal``).

:func:`spectral_density` is the recipe of Papyan (2019) that the authors used: a short Lanczos
run (64 steps) estimates the spectral bounds, widened by a 5% margin of their width; then
``steps = M`` Lanczos steps per probe without reorthogonalization (memory O(dim)); the density
on a grid of 1024 points is ``ρ(x) = Σ_i w_i N(x; θ_i, σ²)`` (a mixture of Gaussians, which
integrates to 1) with::

    σ = (upper − lower) / 2 · s,   s = (2 / (M − 1)) / sqrt(8 ln κ),   κ = 1.25,

i.e. ``s`` is σ in units of the half-range of the bounds: the Gaussian's full width at 1/κ of
its peak equals the spacing ``2/(M − 1)`` of M points on [−1, 1]. The raw nodes and weights are
kept (:class:`SpectralDensity`), so a plot can smooth them with any other kernel.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from scipy.linalg import eigh_tridiagonal
from torch import Tensor

from qtrain.run.files import atomic_write
from qtrain.spectra.density import load_spectrum

__all__ = [
    "DensitySettings",
    "LanczosDivergenceError",
    "SpectralDensity",
    "density_from_quadratures",
    "gauss_quadrature",
    "gaussian_density",
    "lanczos",
    "lanczos_tridiagonal",
    "papyan_sigma",
    "probe_seeds",
    "spectral_density",
    "start_vector",
]

log = logging.getLogger(__name__)

MatVec = Callable[[Tensor], Any]
"""``matvec(v) -> A v`` on 1-D tensors (a torch tensor or array of the same length back)."""


class LanczosDivergenceError(RuntimeError):
    """The operator returned NaN or inf (or the recurrence overflowed) during Lanczos."""


def start_vector(
    dim: int,
    seed: int,
    *,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float64,
) -> Tensor:
    """The unit start vector for ``seed``: standard Gaussian from ``torch.Generator().manual_seed``
    on the CPU in float64, normalized, then moved to ``device``/``dtype`` (device-independent)."""
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    v = torch.randn(dim, generator=gen, dtype=torch.float64)
    v /= torch.linalg.vector_norm(v)
    return v.to(device=device, dtype=dtype)


def probe_seeds(seed: int, count: int) -> list[int]:
    """``count`` independent seeds derived from ``seed`` (numpy ``SeedSequence``)."""
    return [int(s) for s in np.random.SeedSequence(int(seed)).generate_state(count, np.uint32)]


def _apply(matvec: MatVec, v: Tensor) -> Tensor:
    w = matvec(v)
    w = torch.as_tensor(w)
    return w.to(device=v.device, dtype=v.dtype).reshape(-1)


def lanczos_tridiagonal(
    matvec: MatVec,
    dim: int,
    iters: int,
    seed: int = 0,
    *,
    v0: Tensor | np.ndarray | None = None,
    reorthogonalize: bool = False,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float64,
    breakdown_tol: float = 1e-10,
    progress: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Lanczos coefficients ``(alpha, beta)`` (float64, lengths k and k − 1, k ≤ iters).

    The start vector is ``v0`` (normalized here) or :func:`start_vector` ``(dim, seed)``.
    Lanczos vectors live on ``device`` in ``dtype`` (float64 by default); ``matvec`` receives
    them and may return any float dtype. ``reorthogonalize`` keeps all vectors (O(dim·iters)
    memory) and orthogonalizes each new one against them twice (full reorthogonalization).
    The run stops early, exactly, when ``beta_j ≤ breakdown_tol ·`` (norm estimate): the Krylov
    space is invariant. Raises :class:`LanczosDivergenceError` naming the iteration where the
    operator returns NaN/inf.
    """
    if dim < 1 or iters < 1:
        raise ValueError(f"dim and iters must be positive, got dim={dim}, iters={iters}")
    iters = min(int(iters), int(dim))
    if v0 is None:
        v = start_vector(dim, seed, device=device, dtype=dtype)
    else:
        v = torch.as_tensor(v0).to(device=device, dtype=dtype).reshape(-1).clone()
        if v.shape != (dim,):
            raise ValueError(f"v0 has length {v.shape[0]}, expected dim={dim}")
        norm = torch.linalg.vector_norm(v)
        if not torch.isfinite(norm) or norm == 0:
            raise ValueError("v0 must be a finite, non-zero vector")
        v /= norm
    basis = torch.empty((iters, dim), device=v.device, dtype=dtype) if reorthogonalize else None
    alphas: list[float] = []
    betas: list[float] = []
    v_prev: Tensor | None = None
    beta = 0.0
    norm_est = 0.0
    steps = range(iters)
    if progress:
        from qtrain.run.progress import Progress

        steps = Progress(steps, desc="lanczos", unit="iteration")
    t0 = time.perf_counter()
    for j in steps:
        if basis is not None:
            basis[j] = v
        w = _apply(matvec, v)
        if not bool(torch.isfinite(w).all()):
            raise LanczosDivergenceError(
                f"the operator returned NaN or inf at Lanczos iteration {j} (0-based) of {iters}"
            )
        alpha = float(torch.dot(w, v).double())
        w = w - alpha * v  # out of place: never write into what matvec returned
        if v_prev is not None:
            w = w.sub_(v_prev, alpha=beta)
        if basis is not None:
            for _ in range(2):
                q = basis[: j + 1]
                w = w.sub_(q.T @ (q @ w))
        beta_next = float(torch.linalg.vector_norm(w).double())
        if not (math.isfinite(alpha) and math.isfinite(beta_next)):
            raise LanczosDivergenceError(
                f"the Lanczos recurrence overflowed at iteration {j} (0-based) of {iters}: "
                f"alpha={alpha}, beta={beta_next}"
            )
        alphas.append(alpha)
        norm_est = max(norm_est, abs(alpha) + beta + beta_next)
        if j == iters - 1:
            break
        if beta_next <= breakdown_tol * norm_est:
            log.info("lanczos: invariant subspace after %d steps (beta=%.3g)", j + 1, beta_next)
            break
        betas.append(beta_next)
        v_prev, v = v, w.div_(beta_next)
        beta = beta_next
    elapsed = time.perf_counter() - t0
    log.info(
        "lanczos: %d steps in %.3g s (%.3g s/step), reorthogonalize=%s",
        len(alphas),
        elapsed,
        elapsed / len(alphas),
        reorthogonalize,
    )
    return np.asarray(alphas, dtype=np.float64), np.asarray(betas, dtype=np.float64)


def gauss_quadrature(alpha: np.ndarray, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nodes (Ritz values, ascending) and weights (squared first eigenvector components)."""
    alpha = np.asarray(alpha, dtype=np.float64)
    beta = np.asarray(beta, dtype=np.float64)
    if alpha.size == 1:
        return alpha.copy(), np.ones(1)
    nodes, vecs = eigh_tridiagonal(alpha, beta)
    weights = vecs[0, :] ** 2
    return nodes, weights / weights.sum()


def lanczos(
    matvec: MatVec,
    dim: int,
    iters: int,
    seed: int = 0,
    **kwargs: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """Gauss quadrature ``(nodes, weights)`` (float64) of ``iters`` Lanczos steps from ``seed``.

    Keyword arguments go to :func:`lanczos_tridiagonal` (``v0``, ``reorthogonalize``, ``device``,
    ``dtype``, ``breakdown_tol``, ``progress``).
    """
    return gauss_quadrature(*lanczos_tridiagonal(matvec, dim, iters, seed, **kwargs))


def papyan_sigma(steps: int, kappa: float = 1.25) -> float:
    """Papyan's Gaussian width in units of the half-range: ``(2/(M − 1)) / sqrt(8 ln κ)``."""
    if steps < 2:
        raise ValueError(f"steps must be at least 2, got {steps}")
    if kappa <= 1:
        raise ValueError(f"kappa must exceed 1, got {kappa}")
    return (2.0 / (steps - 1)) / math.sqrt(8.0 * math.log(kappa))


def gaussian_density(
    nodes: np.ndarray, weights: np.ndarray, grid: np.ndarray, sigma: float
) -> np.ndarray:
    """``ρ(x) = Σ_i w_i N(x; θ_i, σ²)`` on ``grid`` (integrates to Σ w_i)."""
    nodes = np.asarray(nodes, dtype=np.float64).reshape(-1)
    weights = np.asarray(weights, dtype=np.float64).reshape(-1)
    grid = np.asarray(grid, dtype=np.float64)
    if sigma <= 0:
        raise ValueError(f"sigma must be positive, got {sigma}")
    density = np.zeros_like(grid)
    norm = 1.0 / (sigma * math.sqrt(2.0 * math.pi))
    for start in range(0, nodes.size, 512):
        z = (grid[:, None] - nodes[None, start : start + 512]) / sigma
        density += np.exp(-0.5 * z * z) @ weights[start : start + 512]
    return density * norm


@dataclass
class SpectralDensity:
    """Raw Lanczos quadrature (all probes) and its smoothed density on a grid.

    ``nodes``/``weights``/``probe`` are flat: probe ``p``'s Ritz values and weights divided by
    the number of probes, so ``weights`` sums to 1 and ``(nodes, weights)`` is the averaged
    quadrature (feed it to :mod:`qtrain.spectra.error_proxy`). ``sigma`` is in eigenvalue units.
    """

    nodes: np.ndarray
    weights: np.ndarray
    probe: np.ndarray
    grid: np.ndarray
    density: np.ndarray
    lower: float
    upper: float
    sigma: float
    steps: int
    kappa: float
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def probes(self) -> int:
        """Number of probes (start vectors)."""
        return int(self.probe.max()) + 1 if self.probe.size else 0

    def smooth(self, grid: np.ndarray | None = None, sigma: float | None = None) -> np.ndarray:
        """The Gaussian-smoothed density on ``grid`` with ``sigma`` (defaults: the stored ones)."""
        return gaussian_density(
            self.nodes,
            self.weights,
            self.grid if grid is None else grid,
            self.sigma if sigma is None else sigma,
        )

    def save(self, path: str | os.PathLike) -> None:
        """Write all fields to an ``.npz`` file, atomically."""
        arrays = {
            f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "meta"
        }
        with atomic_write(path, "wb") as handle:
            np.savez(handle, meta=np.array(json.dumps(self.meta, sort_keys=True)), **arrays)

    @classmethod
    def load(cls, path: str | os.PathLike) -> SpectralDensity:
        """Read a file written by :meth:`save` (a damaged one raises
        :class:`qtrain.run.files.UnreadableFileError` naming it)."""
        names = [f.name for f in dataclasses.fields(cls)]
        stored = load_spectrum(path, keys=names)
        return cls(**{name: stored[name] for name in names})


@dataclass(frozen=True)
class DensitySettings:
    """The settings of Papyan's recipe (module docstring) that make a density: ``steps``
    Lanczos steps per probe, ``probes`` start vectors from ``seed`` (:func:`probe_seeds`), a
    ``bounds_steps``-step bounds run (``None``: bounds from the probes), the ``margin`` that
    widens the bounds, the kernel's ``kappa``, ``grid_points`` grid points, and the Lanczos
    vectors' ``reorthogonalize`` and ``dtype``. Raises ``ValueError`` for fewer than one probe
    or two grid points."""

    steps: int = 256
    probes: int = 1
    seed: int = 0
    bounds_steps: int | None = 64
    margin: float = 0.05
    kappa: float = 1.25
    grid_points: int = 1024
    reorthogonalize: bool = False
    dtype: torch.dtype = torch.float64

    def __post_init__(self) -> None:
        if self.probes < 1:
            raise ValueError(f"probes must be at least 1, got {self.probes}")
        if self.grid_points < 2:
            raise ValueError(f"grid_points must be at least 2, got {self.grid_points}")

    def for_dim(self, dim: int) -> DensitySettings:
        """These settings with ``steps`` capped at ``dim`` (Lanczos takes at most ``dim``)."""
        return dataclasses.replace(self, steps=min(int(self.steps), int(dim)))

    def seeds(self) -> list[int]:
        """The start vectors' seeds: the bounds run's first, then one per probe."""
        return probe_seeds(self.seed, self.probes + 1)

    def meta(self, dim: int, *, bounds_given: bool) -> dict[str, Any]:
        """The settings record saved with a density (``SpectralDensity.meta``)."""
        seeds = self.seeds()
        return {
            "recipe": "Papyan 2019 stochastic Lanczos quadrature",
            "kernel": "gaussian; sigma = (upper-lower)/2 * (2/(steps-1))/sqrt(8 ln kappa)",
            "probes": self.probes,
            "seed": int(self.seed),
            "probe_seeds": list(seeds[1:]),
            "bounds_seed": seeds[0],
            "bounds_steps": self.bounds_steps,
            "bounds_given": bounds_given,
            "margin": self.margin,
            "reorthogonalize": self.reorthogonalize,
            "dim": int(dim),
            "lanczos_dtype": str(self.dtype).replace("torch.", ""),
        }


def spectral_density(
    matvec: MatVec,
    dim: int,
    settings: DensitySettings | None = None,
    *,
    bounds: tuple[float, float] | None = None,
    device: torch.device | str | None = None,
    progress: bool = False,
) -> SpectralDensity:
    """Papyan's stochastic Lanczos density of a symmetric operator (module docstring) under
    ``settings`` (default: :class:`DensitySettings` ``()``), its Lanczos vectors on ``device``.

    Spectral bounds: ``bounds`` if given, else the extreme Ritz values of a ``bounds_steps``-step
    run (from its own start vector), else (``bounds_steps=None``) the extreme Ritz values of the
    main runs; widened by ``margin`` times their width, and further (by the same margin) if a
    main-run Ritz value falls outside. Start vectors: :func:`start_vector` with the seeds
    :meth:`DensitySettings.seeds`: the first for the bounds run, one per probe after.
    """
    settings = (settings or DensitySettings()).for_dim(dim)
    seeds = settings.seeds()
    opts = dict(
        reorthogonalize=settings.reorthogonalize,
        device=device,
        dtype=settings.dtype,
        progress=progress,
    )
    t0 = time.perf_counter()

    lo = hi = None
    if bounds is not None:
        lo, hi = float(bounds[0]), float(bounds[1])
        if not lo < hi:
            raise ValueError(f"bounds must satisfy lower < upper, got {bounds}")
    elif settings.bounds_steps is not None:
        b_nodes, _ = lanczos(matvec, dim, settings.bounds_steps, seeds[0], **opts)
        lo, hi = float(b_nodes.min()), float(b_nodes.max())

    quadratures = [
        lanczos(matvec, dim, settings.steps, seeds[p + 1], **opts) for p in range(settings.probes)
    ]
    result = density_from_quadratures(
        quadratures,
        settings,
        bounds=(lo, hi) if lo is not None else None,
        widen=bounds is None,
        meta=settings.meta(dim, bounds_given=bounds is not None),
    )
    result.meta["seconds"] = time.perf_counter() - t0
    log.info(
        "spectral_density: dim=%d, %d probe(s) x %d steps, bounds [%.6g, %.6g], sigma=%.4g, %.3g s",
        dim,
        settings.probes,
        settings.steps,
        result.lower,
        result.upper,
        result.sigma,
        result.meta["seconds"],
    )
    return result


def density_from_quadratures(
    quadratures: list[tuple[np.ndarray, np.ndarray]],
    settings: DensitySettings,
    *,
    bounds: tuple[float, float] | None = None,
    widen: bool = True,
    meta: Mapping[str, Any] | None = None,
) -> SpectralDensity:
    """Papyan's smoothed density from the Gauss quadratures ``(nodes, weights)`` of the probes.

    ``bounds``: the spectral bounds (``None``: the extreme Ritz values of the probes), widened by
    ``settings.margin`` times their width when ``widen``; either way widened further if a Ritz
    value falls outside. Probe weights are averaged; ``settings.steps`` (already capped at the
    dimension) and ``settings.kappa`` set the kernel width (:func:`papyan_sigma`), and the grid
    has ``settings.grid_points`` points.
    """
    if not quadratures:
        raise ValueError("at least one probe run is needed")
    steps, margin, kappa = settings.steps, settings.margin, settings.kappa
    probes = len(quadratures)
    nodes = np.concatenate([q[0] for q in quadratures])
    weights = np.concatenate([q[1] / probes for q in quadratures])
    probe = np.concatenate(
        [np.full(q[0].size, p, dtype=np.int64) for p, q in enumerate(quadratures)]
    )
    lo, hi = bounds if bounds is not None else (float(nodes.min()), float(nodes.max()))
    width = hi - lo
    if width <= 0:
        width = max(abs(hi), abs(lo), 1.0)
    lower, upper = (lo - margin * width, hi + margin * width) if widen else (lo, hi)
    if nodes.min() < lower or nodes.max() > upper:
        log.info(
            "Ritz values [%.6g, %.6g] outside the bounds [%.6g, %.6g]; widening",
            nodes.min(),
            nodes.max(),
            lower,
            upper,
        )
        lower = min(lower, float(nodes.min()) - margin * width)
        upper = max(upper, float(nodes.max()) + margin * width)
    sigma = papyan_sigma(steps, kappa) * (upper - lower) / 2.0
    grid = np.linspace(lower, upper, settings.grid_points)
    return SpectralDensity(
        nodes=nodes,
        weights=weights,
        probe=probe,
        grid=grid,
        density=gaussian_density(nodes, weights, grid, sigma),
        lower=float(lower),
        upper=float(upper),
        sigma=float(sigma),
        steps=int(steps),
        kappa=float(kappa),
        meta=dict(meta or {}),
    )
