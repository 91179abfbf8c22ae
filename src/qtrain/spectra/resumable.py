"""Papyan's Lanczos density, resumable run by run (the ``spectrum`` rules of the workflow).

:func:`resumable_spectral_density` computes exactly what
:func:`qtrain.spectra.lanczos.spectral_density` computes (same start vectors, bounds, kernel and
grid) but saves the Lanczos coefficients ``(alpha, beta)`` of every finished run (the bounds run
and each probe) to ``state_dir`` as soon as it ends. A killed job started again loads the finished
runs and computes only the missing ones, so at most one run's HVPs are lost. A run file records
the settings that made it, including the operator's identity (for the workflow: the digest of its
config and of its input files' content, :func:`qtrain.run.resume.resume_key`), and is deleted and
recomputed when they differ; an unreadable one is set aside (``*.corrupt``) and recomputed.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from qtrain.run.files import UnreadableFileError, atomic_write, load_arrays, remove_temporaries
from qtrain.run.progress import Progress
from qtrain.run.resume import discard_resume_file, discard_stale_resume_file
from qtrain.spectra.lanczos import (
    DensitySettings,
    MatVec,
    SpectralDensity,
    density_from_quadratures,
    gauss_quadrature,
    lanczos_tridiagonal,
)

__all__ = ["assemble_density", "resumable_spectral_density"]

log = logging.getLogger(__name__)


def assemble_density(
    bounds_run: tuple[np.ndarray, np.ndarray] | None,
    probe_runs: list[tuple[np.ndarray, np.ndarray]],
    settings: DensitySettings,
    meta: Mapping[str, Any] | None = None,
) -> SpectralDensity:
    """The density of :func:`~qtrain.spectra.lanczos.spectral_density` from raw runs.

    ``bounds_run``: the ``(alpha, beta)`` of the bounds run (``None``: bounds from the probes);
    ``probe_runs``: one ``(alpha, beta)`` per probe; ``settings``: the recipe's, its steps
    already capped at the dimension (:meth:`DensitySettings.for_dim`).
    """
    bounds = None
    if bounds_run is not None:
        b_nodes, _ = gauss_quadrature(*bounds_run)
        bounds = (float(b_nodes.min()), float(b_nodes.max()))
    return density_from_quadratures(
        [gauss_quadrature(alpha, beta) for alpha, beta in probe_runs],
        settings,
        bounds=bounds,
        meta=meta,
    )


def _load_run(path: Path, settings: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray] | None:
    """A finished run saved at ``path`` under ``settings``; None (recompute) if there is none,
    it is unreadable (set aside) or was made for another operator or settings (deleted)."""
    remove_temporaries(path)  # left by a writer killed mid-save
    if not path.exists():
        return None
    try:
        data = load_arrays(path, keys=("alpha", "beta", "settings"))
        saved = json.loads(str(data["settings"]))
    except (UnreadableFileError, ValueError) as err:  # a damaged file: recompute it
        discard_resume_file(path, err)
        return None
    expected = json.loads(json.dumps(dict(settings), sort_keys=True))
    if not discard_stale_resume_file(path, saved.get("operator"), expected["operator"]):
        return None
    if saved != expected:
        log.warning("%s was made with other settings (%s); recomputing", path, saved)
        path.unlink(missing_ok=True)
        return None
    return data["alpha"], data["beta"]


def _save_run(path: Path, alpha: np.ndarray, beta: np.ndarray, settings: Mapping) -> None:
    with atomic_write(path, "wb") as handle:
        np.savez(
            handle,
            alpha=alpha,
            beta=beta,
            settings=np.array(json.dumps(dict(settings), sort_keys=True)),
        )


def resumable_spectral_density(
    matvec: MatVec,
    dim: int,
    settings: DensitySettings | None = None,
    *,
    state_dir: str | Path,
    device: torch.device | str | None = None,
    progress: bool = False,
    operator_id: str | Mapping[str, Any] = "",
) -> SpectralDensity:
    """:func:`~qtrain.spectra.lanczos.spectral_density` (estimated bounds), resumable.

    Finished runs are kept in ``state_dir`` as ``bounds.npz`` and ``probe_<p>.npz`` (alpha,
    beta and the settings, including ``operator_id``: what names the operator, e.g. the
    :func:`qtrain.run.resume.resume_key` of the job's config and input files, so runs of another
    operator are never reused). ``meta["resumed_runs"]`` counts the runs loaded instead of
    computed. ``progress``: one :class:`qtrain.run.progress.Progress` over all HVPs of the runs.
    """
    settings = (settings or DensitySettings()).for_dim(dim)
    state_dir = Path(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    steps, probes, bounds_steps = settings.steps, settings.probes, settings.bounds_steps
    seeds = settings.seeds()
    opts = dict(reorthogonalize=settings.reorthogonalize, device=device, dtype=settings.dtype)
    common = {
        "dim": int(dim),
        "reorthogonalize": bool(settings.reorthogonalize),
        "dtype": str(settings.dtype),
        "operator": operator_id,
    }
    t0 = time.perf_counter()
    resumed = 0
    bar = None
    if progress:
        total = (min(bounds_steps, dim) if bounds_steps is not None else 0) + probes * steps
        bar = Progress(total=total, desc="Lanczos", unit="HVP")
        inner = matvec

        def matvec(vector):  # counts the HVPs for the progress line
            out = inner(vector)
            bar.update(1)
            return out

    def run(name: str, iters: int, run_seed: int) -> tuple[np.ndarray, np.ndarray]:
        nonlocal resumed
        path = state_dir / f"{name}.npz"
        run_settings = {**common, "iters": int(iters), "seed": int(run_seed)}
        cached = _load_run(path, run_settings)
        if cached is not None:
            resumed += 1
            if bar is not None:
                bar.update(min(iters, dim))
            log.info("%s: loaded %d finished Lanczos steps from %s", name, cached[0].size, path)
            return cached
        tic = time.perf_counter()
        alpha, beta = lanczos_tridiagonal(matvec, dim, iters, run_seed, **opts)
        _save_run(path, alpha, beta, run_settings)
        log.info(
            "%s: %d Lanczos steps in %.1f s, saved", name, alpha.size, time.perf_counter() - tic
        )
        return alpha, beta

    bounds_run = run("bounds", bounds_steps, seeds[0]) if bounds_steps is not None else None
    probe_runs = [run(f"probe_{p}", steps, seeds[p + 1]) for p in range(probes)]
    if bar is not None:
        bar.close()
    meta = settings.meta(dim, bounds_given=False) | {
        "resumed_runs": resumed,
        "seconds": time.perf_counter() - t0,
    }
    density = assemble_density(bounds_run, probe_runs, settings, meta)
    log.info(
        "spectral density: dim=%d, %d probe(s) x %d steps, bounds [%.6g, %.6g], %d run(s) "
        "resumed, %.3g s",
        dim,
        probes,
        steps,
        density.lower,
        density.upper,
        resumed,
        meta["seconds"],
    )
    return density
