"""The studies behind figS4, figS5 and figS7 as small tables (SPEC §1.5, 1.6, 1.8; claims C9, C10,
C12).

Raw sweeps (one row per system and setting) and the fit tables built from them (the raw rows plus
the fitted numbers; written by the quantum stage's fit rules, read by figures and claims alike):

- figS4: HHL on discrete-Carleman block systems of random polynomial maps, per clock size;
- figS5: tomography error against samples, per dimension, with fitted log-log slopes;
- figS7: quantum-trained against classical GD (per-step records, per-run summaries).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from qtrain.quantum.carleman.linear_system import block_system, condition_number, solve_block_system
from qtrain.quantum.carleman.linearization import carleman_matrix, lift
from qtrain.quantum.carleman.polymaps import nonlinearity_ratio, spectral_radius
from qtrain.quantum.carleman.random_maps import random_map
from qtrain.quantum.circuits.hhl import solve
from qtrain.quantum.circuits.tomography import samples_for_precision, tomography
from qtrain.run.progress import Progress
from qtrain.stats import loglog_fit

__all__ = [
    "BOOTSTRAP_SAMPLES",
    "bootstrap_slope",
    "carleman_block_system",
    "hhl_fits",
    "hhl_sweep",
    "tomography_fits",
    "tomography_sweep",
]

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- figS4: HHL


def carleman_block_system(
    kind: str,
    n: int,
    degree: int,
    order: int,
    steps: int,
    *,
    eta: float = 0.1,
    nonlinearity: float = 1.0,
    u0_norm: float = 0.3,
    seed: int = 0,
) -> tuple[Any, np.ndarray, dict[str, Any]]:
    """(L, rhs, info) of Eq. 6 for a random map
    (:func:`~qtrain.quantum.carleman.random_maps.random_map`) truncated at ``order`` over ``steps``
    steps; info has the sizes, R and ρ(I + F_1)."""
    m = random_map(
        n, kind, eta=eta, degree=degree, nonlinearity=nonlinearity, u0_norm=u0_norm, seed=seed
    )
    C, b = carleman_matrix(m, order)
    L, rhs = block_system(C, b, lift(m.u0, order), steps)
    info = {
        "system": f"{kind} n={n} q={degree} N={order} T={steps}",
        "kind": kind,
        "n": n,
        "degree": degree,
        "order": order,
        "steps": steps,
        "carleman_dim": C.shape[0],
        "system_dim": L.shape[0],
        "R": nonlinearity_ratio(m, m.u0),
        "spectral_radius": spectral_radius(m),
    }
    return L, rhs, info


def hhl_sweep(
    systems: Sequence[Mapping[str, Any]],
    clock_qubits: Sequence[int],
    *,
    eta: float,
    nonlinearity: float,
    u0_norm: float,
    seed: int,
    count_max_system_qubits: int,
) -> pd.DataFrame:
    """HHL (qiskit Statevector) on each block system for each clock size: fidelity, success
    probability, qubits, depth and CX (counted up to ``count_max_system_qubits`` system qubits),
    and the relative error of the recovered final weights u(T) against forward substitution."""
    rows = []
    for spec in Progress(systems, desc="HHL block systems", unit="system"):
        L, rhs, info = carleman_block_system(
            spec["kind"],
            spec["n"],
            spec["degree"],
            spec["order"],
            spec["steps"],
            eta=eta,
            nonlinearity=nonlinearity,
            u0_norm=u0_norm,
            seed=seed,
        )
        block, n, steps = info["carleman_dim"], info["n"], info["steps"]
        Y = solve_block_system(L, rhs, block, "forward")
        u_exact = Y[steps, :n]
        kappa = condition_number(L, "exact")["kappa"]
        dense = L.toarray()
        for nc in clock_qubits:
            t0 = time.perf_counter()
            res = solve(
                dense,
                rhs,
                int(nc),
                count_gates=None,
                max_count_system_qubits=count_max_system_qubits,
            )
            u_hhl = np.asarray(res.solution, dtype=float).reshape(-1, block)[steps, :n]
            row = {
                **info,
                **res.summary(),
                "kappa_L": kappa,
                "infidelity": 1.0 - res.fidelity,
                "final_weights_error": float(
                    np.linalg.norm(u_hhl - u_exact) / np.linalg.norm(u_exact)
                ),
                "final_share": float(np.sum(Y[steps:] ** 2) / np.sum(Y**2)),
                "seconds": time.perf_counter() - t0,
            }
            rows.append(row)
            log.info(
                "%s, %d clock qubits: %d qubits, fidelity %.6f, p %.3g, depth %s, %.2fs",
                info["system"],
                nc,
                res.num_qubits,
                res.fidelity,
                res.success_probability,
                res.depth,
                row["seconds"],
            )
    return pd.DataFrame(rows)


def hhl_fits(raw: pd.DataFrame) -> pd.DataFrame:
    """The HHL sweep with, per system, the best fidelity, the fidelity at the largest clock and
    the fitted log-linear slope of the infidelity against clock qubits (decades per qubit)."""
    table = raw.copy()
    for name, group in table.groupby("system", sort=False):
        g = group.sort_values("num_clock")
        keep = g["infidelity"] > 0
        slope = (
            float(np.polyfit(g["num_clock"][keep], np.log10(g["infidelity"][keep]), 1)[0])
            if keep.sum() >= 2
            else math.nan
        )
        mask = table["system"] == name
        table.loc[mask, "fidelity_at_max_clock"] = float(g["fidelity"].iloc[-1])
        table.loc[mask, "infidelity_at_min_clock"] = float(g["infidelity"].iloc[0])
        table.loc[mask, "max_fidelity"] = float(g["fidelity"].max())
        table.loc[mask, "log10_infidelity_per_clock_qubit"] = slope
    return table


# --------------------------------------------------------------------------- figS5: tomography


def tomography_sweep(
    dimensions: Sequence[int], samples: Sequence[int], repeats: int, seed: int
) -> pd.DataFrame:
    """Relative ℓ2 error of simulated tomography (magnitudes + Hadamard-test signs) of random
    Gaussian vectors, for every dimension d, sample count N and repeat; with the observed-error
    model √(d/(4N)) and the Kerenidis-Prakash bound √7·δ for N = 36·d·ln d/δ²."""
    rows = []
    for d in dimensions:
        for r in range(repeats):
            rng = np.random.default_rng([seed, int(d), r])
            x = rng.standard_normal(int(d))
            for N in samples:
                est = tomography(x, int(N), rng)
                delta = math.sqrt(36 * d * math.log(max(d, 2)) / N)
                rows.append(
                    {
                        "d": int(d),
                        "samples": int(N),
                        "repeat": r,
                        "relative_error": float(np.linalg.norm(est - x) / np.linalg.norm(x)),
                        "model_error": math.sqrt(d / (4 * N)),
                        "kp_bound": math.sqrt(7) * delta,
                    }
                )
        log.info(
            "tomography: d = %d done (%d sample counts x %d repeats)", d, len(samples), repeats
        )
    return pd.DataFrame(rows)


#: Bootstrap resamples of the tomography slope (claim C10's noise).
BOOTSTRAP_SAMPLES = 2000


def bootstrap_slope(
    errors: np.ndarray, samples: Sequence[float], resamples: int, rng: np.random.Generator
) -> np.ndarray:
    """Log-log slopes of the mean error against ``samples`` for ``resamples`` bootstrap draws of
    the rows of ``errors`` (repeats × sample counts): each draw resamples whole random vectors
    with replacement, so a vector's errors at every N stay together."""
    errors = np.asarray(errors, dtype=float)
    x = np.log(np.asarray(samples, dtype=float))
    picks = rng.integers(0, errors.shape[0], size=(resamples, errors.shape[0]))
    y = np.log(errors[picks].mean(axis=1))  # (resamples, len(samples))
    xc = x - x.mean()
    return ((y - y.mean(axis=1, keepdims=True)) @ xc) / float(xc @ xc)


def tomography_fits(
    raw: pd.DataFrame,
    fit_min_ratio: float,
    *,
    bootstrap: int = BOOTSTRAP_SAMPLES,
    seed: int = 0,
    level: float = 0.95,
) -> pd.DataFrame:
    """Mean and spread of the error per (d, N), the fitted log-log slope and prefactor per d over
    N ≥ ``fit_min_ratio``·d (the asymptotic regime), the slope's ``level`` percentile interval
    from ``bootstrap`` resamples of the random vectors (``slope_ci_low``, ``slope_ci_high``,
    ``slope_se`` = the resamples' standard deviation), and the samples each fit needs for a
    relative error ε = 0.1 and 0.01 beside the Kerenidis-Prakash count for δ = ε/√7."""
    grouped = (
        raw.groupby(["d", "samples"], sort=True)
        .agg(
            mean_error=("relative_error", "mean"),
            std_error=("relative_error", "std"),
            repeats=("relative_error", "size"),
            model_error=("model_error", "first"),
            kp_bound=("kp_bound", "first"),
        )
        .reset_index()
    )
    rng = np.random.default_rng([seed, 5])
    for d, group in grouped.groupby("d"):
        fit = group[group["samples"] >= fit_min_ratio * d]
        slope, intercept = loglog_fit(fit["samples"], fit["mean_error"])
        mask = grouped["d"] == d
        grouped.loc[mask, "slope"] = slope
        grouped.loc[mask, "prefactor"] = math.exp(intercept) if np.isfinite(intercept) else math.nan
        grouped.loc[mask, "fit_min_samples"] = fit_min_ratio * d
        grouped.loc[mask, "fit_points"] = len(fit)
        lo = hi = se = math.nan
        if len(fit) >= 2 and bootstrap > 0:
            wide = raw[(raw["d"] == d) & raw["samples"].isin(fit["samples"])].pivot(
                index="repeat", columns="samples", values="relative_error"
            )
            wide = wide[sorted(wide.columns)].dropna()
            slopes = bootstrap_slope(wide.to_numpy(), list(wide.columns), bootstrap, rng)
            lo, hi = (float(q) for q in np.quantile(slopes, [(1 - level) / 2, (1 + level) / 2]))
            se = float(np.std(slopes, ddof=1))
        grouped.loc[mask, "slope_ci_low"] = lo
        grouped.loc[mask, "slope_ci_high"] = hi
        grouped.loc[mask, "slope_se"] = se
        grouped.loc[mask, "bootstrap_resamples"] = bootstrap
        for eps in (0.1, 0.01):
            needed = (eps / math.exp(intercept)) ** (1 / slope) if slope < 0 else math.nan
            grouped.loc[mask, f"samples_for_eps{eps:g}"] = needed
            grouped.loc[mask, f"kp_samples_for_eps{eps:g}"] = samples_for_precision(
                int(d), eps / math.sqrt(7)
            )
    return grouped
