"""Benchmark of the Carleman stage: building the discrete Carleman matrix by the sparse
recursion against the straightforward dense construction (rule bench_carleman; summarized in
docs/benchmarks.md)."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from qtrain.quantum.carleman.linearization import (
    carleman_dimension,
    carleman_matrix,
    carleman_matrix_dense_reference,
)
from qtrain.quantum.carleman.polymaps import PolyMap
from qtrain.quantum.carleman.random_maps import random_sparse_map

__all__ = ["build_benchmark"]

log = logging.getLogger(__name__)


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
    (:func:`~qtrain.quantum.carleman.linearization.carleman_matrix`) against the straightforward
    dense construction
    (:func:`~qtrain.quantum.carleman.linearization.carleman_matrix_dense_reference`), on sparse
    random maps (:func:`~qtrain.quantum.carleman.random_maps.random_sparse_map`, F_0 … F_degree),
    for each (n, N) in ``cases``. The dense one runs only while its Δ×Δ matrix fits in
    ``dense_limit_mib``; where both run, their matrices are compared entry by entry
    (``max_abs_diff``)."""
    rows = []
    maps: dict[int, PolyMap] = {}
    for n, order in cases:
        if n not in maps:
            maps[n] = random_sparse_map(n, degree, row_nnz=row_nnz, gradient=True, seed=seed)
        m = maps[n]
        dim = carleman_dimension(n, order)
        (C, _), t_sparse, mem_sparse = _measure(lambda m=m, N=order: carleman_matrix(m, N), repeats)
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
                lambda m=m, N=order: carleman_matrix_dense_reference(m, N), repeats
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
