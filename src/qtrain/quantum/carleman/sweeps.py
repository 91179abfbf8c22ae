"""The Carleman studies behind figS1-figS3 as small tables (SPEC §1.2-1.4, claims C6-C8).

Raw sweeps (one row per map and setting) and the fit tables built from them (the raw rows plus
the fitted numbers): written by the Carleman stage's fit rules, read by the figures and by the
claims alike (``*_fits``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from qtrain.quantum.carleman.digits import digits_quadratic_network
from qtrain.quantum.carleman.linear_system import system_diagnostics
from qtrain.quantum.carleman.linearization import carleman_matrix, lift, variant_difference
from qtrain.quantum.carleman.polymaps import (
    PolyMap,
    Terms,
    as_polymap,
    kron_power,
    nonlinearity_ratio,
    spectral_radius,
)
from qtrain.quantum.carleman.random_maps import random_map
from qtrain.stats import linear_fit, loglog_fit_with_error

__all__ = [
    "LOG10_FLOAT_MAX",
    "SATURATION",
    "condition_fits",
    "condition_table",
    "digits_maps",
    "error_vs_order_fits",
    "error_vs_order_table",
    "log_carleman_trajectory",
    "log_exact_trajectory",
    "log_norm_difference",
    "log_order_sweep",
    "map_record",
    "toy_maps",
    "variant_difference_fits",
    "variant_difference_table",
]

log = logging.getLogger(__name__)


def toy_maps(
    kinds: Sequence[str],
    degrees: Sequence[int],
    seeds: Sequence[int],
    *,
    n: int,
    eta: float,
    curvature: Sequence[float],
    negative_curvature: float,
    nonlinearity: float,
    u0_norm: float,
) -> list[PolyMap]:
    """Random maps (:func:`~qtrain.quantum.carleman.random_maps.random_map`) for every kind,
    degree, seed; named ``<kind>_q<degree>_s<seed>``. ``seeds`` and the keywords are the keys of the
    ``carleman.maps`` section: ``toy_maps(kinds, degrees, **config["carleman"]["maps"])``.
    """
    maps = []
    for kind in kinds:
        for degree in degrees:
            for seed in seeds:
                m = random_map(
                    n,
                    kind,
                    eta=eta,
                    degree=degree,
                    curvature=tuple(curvature),
                    negative_curvature=negative_curvature,
                    nonlinearity=nonlinearity,
                    u0_norm=u0_norm,
                    seed=seed,
                )
                maps.append(_renamed(m, f"{kind}_q{degree}_s{seed}"))
    return maps


def digits_maps(
    *,
    features: int,
    lr_scale: float,
    init_scale: float,
    from_init: bool,
    start_radii: Sequence[float],
    train_steps: int,
    seed: int,
) -> list[PolyMap]:
    """The digits quadratic network expanded around its GD end point θ*, started from θ_0
    (``digits_init``, if ``from_init``) and at each distance r from θ* (``digits_r<r>``)."""
    maps = []
    common = {
        "lr_scale": lr_scale,
        "init_scale": init_scale,
        "train_steps": train_steps,
        "seed": seed,
        "expansion": "minimum",
    }
    if from_init:
        maps.append(_renamed(digits_quadratic_network(features, **common), "digits_init"))
    for radius in start_radii:
        m = digits_quadratic_network(features, start_radius=radius, **common)
        maps.append(_renamed(m, f"digits_r{radius:g}"))
    return maps


def _renamed(m: PolyMap, name: str) -> PolyMap:
    from dataclasses import replace

    return replace(m, name=name)


def map_record(m: PolyMap) -> dict:
    """The numbers that classify a map: kind, n, degree, η, ‖u_0‖, R, ρ(I + F_1)."""
    return {
        "map": m.name,
        "kind": m.info.get("kind", "learning"),
        "degree": m.degree,
        "seed": m.info.get("seed", 0),
        "n": m.n,
        "eta": m.eta,
        "u0_norm": float(np.linalg.norm(m.u0)),
        "R": nonlinearity_ratio(m, m.u0),
        "spectral_radius": spectral_radius(m),
    }


def error_vs_order_table(
    maps: Sequence[PolyMap], steps: int, orders_for: dict[str, Sequence[int]] | Sequence[int]
) -> pd.DataFrame:
    """Carleman error at T against N for every map (``orders_for`` maps a name to its orders,
    or one list for all), from log-domain norms (:func:`log_order_sweep`).
    ``exact_diverged``: the exact iteration overflows float64 before T (its logarithm does not)."""
    rows = []
    for m in maps:
        orders = orders_for.get(m.name) if isinstance(orders_for, dict) else orders_for
        record = map_record(m)
        log.info("%s: R = %.3g, rho = %.4f", m.name, record["R"], record["spectral_radius"])
        for row in log_order_sweep(m, m.u0, steps, list(orders)):
            rows.append(
                {
                    **record,
                    "steps": steps,
                    **row,
                    "exact_diverged": not math.isfinite(row["norm_u_T"]),
                }
            )
    return pd.DataFrame(rows)


def variant_difference_table(
    maps: Sequence[PolyMap], etas: Sequence[float], order: int, steps: int
) -> pd.DataFrame:
    """‖discrete − first_order‖ (matrix, one step, trajectory at T) for each map at each η."""
    rows = []
    for m in maps:
        for eta in etas:
            scaled = m.with_eta(float(eta))
            diff = variant_difference(scaled, scaled.u0, steps, order)
            rows.append(
                {
                    "map": m.name,
                    "kind": m.info.get("kind", "learning"),
                    "degree": m.degree,
                    "order": order,
                    "steps": steps,
                    "eta": float(eta),
                    "spectral_radius": spectral_radius(scaled),
                    **diff,
                }
            )
        log.info("%s: variant differences at %d learning rates", m.name, len(etas))
    return pd.DataFrame(rows)


def condition_table(
    maps: Sequence[PolyMap],
    orders: Sequence[int],
    steps_list: Sequence[int],
    pad_factors: Sequence[int],
    exact_max_dim: int,
) -> pd.DataFrame:
    """κ(L), ‖L‖, sparsity and the final blocks' share for every map, order N, T and padding
    (padding = factor × T identity steps)."""
    rows = []
    for m in maps:
        record = map_record(m)
        for order in orders:
            C, b = carleman_matrix(m, order)
            y0 = lift(m.u0, order)
            for factor in pad_factors:
                for steps in steps_list:
                    diag = system_diagnostics(
                        C,
                        b,
                        y0,
                        steps,
                        int(factor) * steps,
                        F=m,
                        u0=m.u0,
                        exact_max_dim=exact_max_dim,
                    )
                    rows.append({**record, "order": order, "padding_factor": int(factor), **diag})
                log.info(
                    "%s, N = %d, padding %d T: kappa %.4g at T = %d (%s)",
                    m.name,
                    order,
                    factor,
                    rows[-1]["kappa"],
                    steps,
                    rows[-1]["kappa_method"],
                )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- log-domain norms
# A divergent map's exact iteration overflows float64 within T steps (doubly exponential growth
# once the nonlinearity takes over), yet log‖u(t)‖ stays far below the float range. Carrying
# u = e^s·v (‖v‖ = 1) through the map gives the error at T as a finite logarithm for every map.


def _combine_log_terms(terms: list[tuple[float, np.ndarray]]) -> tuple[float, np.ndarray]:
    """log‖Σ_k e^{s_k} w_k‖ and the unit direction of the sum, without forming e^{s_k}."""
    exponents = [s for s, w in terms if s > -math.inf and np.any(w)]
    n = terms[0][1].size
    if not exponents:
        return -math.inf, np.zeros(n)
    top = max(exponents)
    total = np.zeros(n)
    for s, w in terms:
        if s > -math.inf:
            total += math.exp(s - top) * np.asarray(w, dtype=float).reshape(-1)
    norm = float(np.linalg.norm(total))
    if norm == 0 or not math.isfinite(norm):
        return (-math.inf, np.zeros(n)) if norm == 0 else (math.nan, total)
    return top + math.log(norm), total / norm


def log_exact_trajectory(
    m: PolyMap | Terms, u0: np.ndarray, steps: int
) -> tuple[np.ndarray, np.ndarray]:
    """The nonlinear map u(t+1) = u(t) + Σ_l F_l u(t)^{⊗l} iterated in log-polar form:
    (log‖u(t)‖ for t = 0..steps, the unit directions u(t)/‖u(t)‖ as rows).

    Each term F_l u^{⊗l} = e^{l·s} F_l v^{⊗l} is scaled by its largest exponent before summing,
    so the logarithm stays finite long after u itself overflows."""
    m = as_polymap(m)
    u0 = np.asarray(u0, dtype=float)
    logs = np.empty(steps + 1)
    dirs = np.zeros((steps + 1, u0.size))
    s, v = _combine_log_terms([(0.0, u0)])
    logs[0], dirs[0] = s, v
    for t in range(steps):
        terms = [(s, v)]
        for ell in m.orders():
            if ell == 0:
                terms.append((0.0, m.apply_term(0, None)))
            elif s > -math.inf:
                terms.append((ell * s, m.apply_term(ell, kron_power(v, ell))))
        s, v = _combine_log_terms(terms)
        logs[t + 1], dirs[t + 1] = s, v
    return logs, dirs


def log_carleman_trajectory(
    C, b: np.ndarray, y0: np.ndarray, steps: int, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """The truncated linear iteration ŷ(t+1) = C ŷ(t) + b in log-polar form: (log‖ŷ_1(t)‖, the
    first blocks' unit directions), the lifted state renormalized every step."""
    b = np.asarray(b, dtype=float).reshape(-1)
    logs = np.empty(steps + 1)
    dirs = np.zeros((steps + 1, n))
    s, z = _combine_log_terms([(0.0, np.asarray(y0, dtype=float))])

    def first(s: float, z: np.ndarray) -> tuple[float, np.ndarray]:
        return _combine_log_terms([(s, z[:n])])

    logs[0], dirs[0] = first(s, z)
    for t in range(steps):
        s, z = _combine_log_terms([(s, np.asarray(C @ z).reshape(-1)), (0.0, b)])
        logs[t + 1], dirs[t + 1] = first(s, z)
    return logs, dirs


def log_norm_difference(s_a: float, a: np.ndarray, s_b: float, b: np.ndarray) -> float:
    """log‖e^{s_a}·a − e^{s_b}·b‖ for unit directions a, b (−inf when they are equal)."""
    return _combine_log_terms([(s_a, a), (s_b, -np.asarray(b, dtype=float))])[0]


#: log10 of the largest float64: an exact iterate beyond it overflows in plain arithmetic.
LOG10_FLOAT_MAX = math.log10(np.finfo(float).max)

#: The relative error at which a truncation has lost the trajectory (``saturation_step``).
SATURATION = 0.5


def _first_step(mask: np.ndarray) -> int:
    """The first index where ``mask`` holds, −1 if nowhere."""
    hits = np.flatnonzero(mask)
    return int(hits[0]) if hits.size else -1


def log_order_sweep(
    m: PolyMap | Terms, u0: np.ndarray, steps: int, orders: Sequence[int]
) -> list[dict]:
    """Discrete Carleman error against the exact iteration for each order N, from log-domain
    norms (:func:`log_exact_trajectory`, :func:`log_carleman_trajectory`): per order the
    dimension, nnz, ``log10_error_T`` = log10‖u(T) − ŷ_1(T)‖, ``log10_relative_error_T`` =
    log10(‖u(T) − ŷ_1(T)‖/‖u(T)‖) (finite for every map: both norms are logarithms),
    ``log10_max_error`` (over t ≤ T), ``log10_norm_u_T``, the same in linear units
    (``error_T``, ``max_error``, ``relative_error_T``, ``norm_u_T``: inf where they overflow
    float64), ``saturation_step`` (the first t at which the relative error reaches
    :data:`SATURATION`: the truncation has lost the trajectory; −1 if never) and
    ``overflow_step`` (the first t at which ‖u(t)‖ exceeds float64; −1 if never: shown, never
    used by a fit)."""
    from qtrain.quantum.carleman.linearization import carleman_dimension

    log_u, dir_u = log_exact_trajectory(m, u0, steps)
    n = dir_u.shape[1]
    ln10 = math.log(10.0)
    overflow = _first_step(log_u / ln10 > LOG10_FLOAT_MAX)
    rows = []
    for order in orders:
        C, b = carleman_matrix(m, order)
        log_y, dir_y = log_carleman_trajectory(C, b, lift(u0, order), steps, n)
        log_err = np.array(
            [log_norm_difference(log_u[t], dir_u[t], log_y[t], dir_y[t]) for t in range(steps + 1)]
        )
        with np.errstate(invalid="ignore"):
            log_rel = log_err - log_u  # nan where u(t) = 0 (no relative error there)
        with np.errstate(over="ignore"):
            rows.append(
                {
                    "order": int(order),
                    "dimension": carleman_dimension(n, order),
                    "nnz": int(C.nnz),
                    "log10_error_T": float(log_err[-1] / ln10),
                    "log10_relative_error_T": float(log_rel[-1] / ln10),
                    "saturation_step": _first_step(log_rel >= math.log(SATURATION)),
                    "overflow_step": overflow,
                    "log10_max_error": float(np.max(log_err) / ln10),
                    "log10_norm_u_T": float(log_u[-1] / ln10),
                    "error_T": float(np.exp(log_err[-1])),
                    "relative_error_T": float(np.exp(log_err[-1] - log_u[-1])),
                    "max_error": float(np.exp(np.max(log_err))),
                    "norm_u_T": float(np.exp(log_u[-1])),
                }
            )
        log.info(
            "order %d: dimension %d, nnz %d, log10 error at T %.4g",
            order,
            rows[-1]["dimension"],
            C.nnz,
            rows[-1]["log10_error_T"],
        )
    return rows


def error_vs_order_fits(raw: pd.DataFrame) -> pd.DataFrame:
    """The error-vs-N table with the reference ‖u_0‖·R^N (only where R < 1) and, per map, the
    least-squares fit against N of the log10 relative error at T, log10(‖u(T) − ŷ_1(T)‖ /
    ‖u(T)‖) (finite for every map: both norms are log-domain; the same slope as the absolute
    error's, since ‖u(T)‖ does not depend on N): ``log10_factor`` (decades per order), its
    standard error ``log10_factor_se`` from the residuals, ``fit_dof`` and ``decay_factor`` =
    10^log10_factor. An overflow of the exact iterate in plain arithmetic (``overflow_step``)
    enters no fit."""
    table = raw.copy()
    finite = table["R"] < 1
    with np.errstate(over="ignore", invalid="ignore"):
        table["reference"] = np.where(
            finite, table["u0_norm"] * table["R"] ** table["order"], np.nan
        )
    fits = {
        name: linear_fit(group["order"], group["log10_relative_error_T"])
        for name, group in table.groupby("map", sort=False)
    }
    table["log10_factor"] = table["map"].map({k: v[0] for k, v in fits.items()})
    table["log10_factor_se"] = table["map"].map({k: v[2] for k, v in fits.items()})
    table["fit_dof"] = table["map"].map({k: v[3] for k, v in fits.items()})
    with np.errstate(over="ignore"):
        table["decay_factor"] = np.power(10.0, table["log10_factor"])
    return table


def variant_difference_fits(raw: pd.DataFrame) -> pd.DataFrame:
    """The η sweep with, per map and measure, the fitted log-log slope (``slope_<measure>``),
    its standard error from the residuals (``slope_se_<measure>``) and ``fit_dof``."""
    table = raw.copy()
    for measure in ("matrix_fro", "one_step", "trajectory_T"):
        fits = {
            name: loglog_fit_with_error(group["eta"], group[measure])
            for name, group in table.groupby("map", sort=False)
        }
        table[f"slope_{measure}"] = table["map"].map({k: v[0] for k, v in fits.items()})
        table[f"slope_se_{measure}"] = table["map"].map({k: v[2] for k, v in fits.items()})
        table[f"fit_dof_{measure}"] = table["map"].map({k: v[3] for k, v in fits.items()})
    return table


def condition_fits(raw: pd.DataFrame) -> pd.DataFrame:
    """The κ-vs-T sweep with the fitted log-log slope per map, order and padding over the larger
    half of T (T ≥ the median T), where the asymptotic behaviour shows; with its standard error
    from the residuals (``slope_se``) and ``fit_dof``."""
    table = raw.copy()
    keys = ["map", "order", "padding_factor"]
    fits = {}
    for _, group in table.groupby(keys, sort=False):
        upper = group[group["steps"] >= group["steps"].median()]
        fits[tuple(group[keys].iloc[0])] = loglog_fit_with_error(upper["steps"], upper["kappa"])
    index = [tuple(row) for row in table[keys].itertuples(index=False)]
    table["slope"] = [fits[k][0] for k in index]
    table["slope_se"] = [fits[k][2] for k in index]
    table["fit_dof"] = [fits[k][3] for k in index]
    table["fit_min_steps"] = table.groupby(keys)["steps"].transform("median")
    return table
