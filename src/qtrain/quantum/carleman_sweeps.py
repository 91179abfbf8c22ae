"""The Carleman studies behind figS1-figS3 as small tables (SPEC §1.2-1.4, claims C6-C8).

Raw sweeps (one row per map and setting) and the figure tables built from them (the raw rows plus
the fitted numbers the figures draw and the claims read).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from qtrain.claims import geometric_factor, loglog_slope
from qtrain.quantum.carleman import carleman_matrix, lift, order_sweep, variant_difference
from qtrain.quantum.linear_system import system_diagnostics
from qtrain.quantum.polymaps import (
    PolyMap,
    digits_quadratic_network,
    nonlinearity_ratio,
    random_map,
    spectral_radius,
)

__all__ = [
    "build_benchmark",
    "condition_table",
    "digits_maps",
    "error_vs_order_table",
    "figS1_table",
    "figS2_table",
    "figS3_table",
    "map_record",
    "toy_maps",
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
    """Random maps (:func:`~qtrain.quantum.polymaps.random_map`) for every kind, degree, seed;
    named ``<kind>_q<degree>_s<seed>``. ``seeds`` and the keywords are the keys of the
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
        "R": nonlinearity_ratio(m.F, m.u0),
        "spectral_radius": spectral_radius(m.F),
    }


def error_vs_order_table(
    maps: Sequence[PolyMap], steps: int, orders_for: dict[str, Sequence[int]] | Sequence[int]
) -> pd.DataFrame:
    """Carleman error at T against N for every map (``orders_for`` maps a name to its orders,
    or one list for all). ``exact_diverged``: the exact iteration overflowed before T."""
    rows = []
    for m in maps:
        orders = orders_for.get(m.name) if isinstance(orders_for, dict) else orders_for
        record = map_record(m)
        log.info("%s: R = %.3g, rho = %.4f", m.name, record["R"], record["spectral_radius"])
        for row in order_sweep(m.F, m.u0, steps, list(orders)):
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
            diff = variant_difference(scaled.F, scaled.u0, steps, order)
            rows.append(
                {
                    "map": m.name,
                    "kind": m.info.get("kind", "learning"),
                    "degree": m.degree,
                    "order": order,
                    "steps": steps,
                    "eta": float(eta),
                    "spectral_radius": spectral_radius(scaled.F),
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
            C, b = carleman_matrix(m.F, order)
            y0 = lift(m.u0, order)
            for factor in pad_factors:
                for steps in steps_list:
                    diag = system_diagnostics(
                        C,
                        b,
                        y0,
                        steps,
                        int(factor) * steps,
                        F=m.F,
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


def figS1_table(raw: pd.DataFrame) -> pd.DataFrame:
    """The error-vs-N table with the reference ‖u_0‖·R^N (only where R < 1) and the fitted
    factor per order of each map (:func:`~qtrain.claims.geometric_factor`)."""
    table = raw.copy()
    finite = table["R"] < 1
    table["reference"] = np.where(finite, table["u0_norm"] * table["R"] ** table["order"], np.nan)
    factors = {
        name: geometric_factor(group["order"], group["error_T"])
        for name, group in table.groupby("map", sort=False)
    }
    table["decay_factor"] = table["map"].map(factors)
    return table


def figS2_table(raw: pd.DataFrame) -> pd.DataFrame:
    """The η sweep with the fitted log-log slope of each measure, per map."""
    table = raw.copy()
    for measure in ("matrix_fro", "one_step", "trajectory_T"):
        slopes = {
            name: loglog_slope(group["eta"], group[measure])
            for name, group in table.groupby("map", sort=False)
        }
        table[f"slope_{measure}"] = table["map"].map(slopes)
    return table


def figS3_table(raw: pd.DataFrame) -> pd.DataFrame:
    """The κ-vs-T sweep with the fitted log-log slope per map, order and padding over the larger
    half of T (T ≥ the median T), where the asymptotic behaviour shows."""
    table = raw.copy()
    keys = ["map", "order", "padding_factor"]
    slopes = []
    for _, group in table.groupby(keys, sort=False):
        upper = group[group["steps"] >= group["steps"].median()]
        slopes.append((tuple(group[keys].iloc[0]), loglog_slope(upper["steps"], upper["kappa"])))
    lookup = dict(slopes)
    table["slope"] = [lookup[tuple(row)] for row in table[keys].itertuples(index=False)]
    table["fit_min_steps"] = table.groupby(keys)["steps"].transform("median")
    return table


def _measure(build, repeats: int) -> tuple[object, float, float]:
    """(result, best wall time in s, peak traced memory in MiB of one call): up to ``repeats``
    timed calls (one only when a call takes over a second), then one under tracemalloc."""
    import gc
    import time
    import tracemalloc

    best = math.inf
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        build()
        best = min(best, time.perf_counter() - start)
        if best > 1.0:
            break
    gc.collect()
    tracemalloc.start()
    result = build()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return result, best, peak / 2**20


def build_benchmark(
    cases: Sequence[Sequence[int]],
    *,
    degree: int = 3,
    row_nnz: int = 2,
    dense_limit_mib: float = 1024.0,
    repeats: int = 3,
    seed: int = 0,
) -> pd.DataFrame:
    """Time and peak memory of building the discrete Carleman matrix: the sparse recursion
    (:func:`~qtrain.quantum.carleman.carleman_matrix`) against the straightforward dense
    construction (:func:`~qtrain.quantum.carleman.carleman_matrix_dense_reference`), on sparse
    random maps (:func:`~qtrain.quantum.polymaps.random_sparse_map`, F_0 … F_degree), for each
    (n, N) in ``cases``. The dense one runs only while its Δ×Δ matrix fits in
    ``dense_limit_mib``; where both run, their matrices are compared entry by entry
    (``max_abs_diff``)."""
    from qtrain.quantum.carleman import carleman_dimension, carleman_matrix_dense_reference
    from qtrain.quantum.polymaps import random_sparse_map

    rows = []
    maps: dict[int, PolyMap] = {}
    for n, order in cases:
        if n not in maps:
            maps[n] = random_sparse_map(n, degree, row_nnz=row_nnz, gradient=True, seed=seed)
        m = maps[n]
        dim = carleman_dimension(n, order)
        (C, _), t_sparse, mem_sparse = _measure(
            lambda F=m.F, N=order: carleman_matrix(F, N), repeats
        )
        row = {
            "n": n,
            "order": order,
            "degree": degree,
            "row_nnz": row_nnz,
            "dimension": dim,
            "nnz": int(C.nnz),
            "sparse_s": t_sparse,
            "sparse_peak_mib": mem_sparse,
            "dense_s": math.nan,
            "dense_peak_mib": math.nan,
            "max_abs_diff": math.nan,
        }
        dense_mib = dim * dim * 8 / 2**20
        if dense_mib <= dense_limit_mib:
            (D, _), t_dense, mem_dense = _measure(
                lambda F=m.F, N=order: carleman_matrix_dense_reference(F, N), repeats
            )
            row.update(
                dense_s=t_dense,
                dense_peak_mib=mem_dense,
                max_abs_diff=float(np.abs(C.toarray() - D).max()),
            )
            del D
        row["speedup"] = row["dense_s"] / row["sparse_s"]
        row["memory_ratio"] = row["dense_peak_mib"] / row["sparse_peak_mib"]
        rows.append(row)
        log.info(
            "n=%d N=%d: dim %d, nnz %d, sparse %.3f s / %.1f MiB, dense %.3f s / %.1f MiB",
            n,
            order,
            dim,
            C.nnz,
            t_sparse,
            mem_sparse,
            row["dense_s"],
            row["dense_peak_mib"],
        )
        del C
    return pd.DataFrame(rows)
