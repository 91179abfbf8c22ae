"""Benchmark of the circuits stage (rule bench_quantum; summarized in docs/benchmarks.md): the
wall time of statevector HHL solves on growing Carleman block systems, and of one window of
quantum training on the digits problem."""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from qtrain.quantum.carleman.digits import digits_problem, initial_weights
from qtrain.quantum.circuits.hhl import solve
from qtrain.quantum.circuits.quantum_training import RunSpec, quantum_train
from qtrain.quantum.circuits.sweeps import carleman_block_system

__all__ = ["hhl_scaling", "quantum_benchmark", "training_window_times"]

log = logging.getLogger(__name__)


def hhl_scaling(
    systems: Sequence[Mapping[str, Any]], clock_qubits: int, budget_s: float, seed: int = 0
) -> pd.DataFrame:
    """Wall time of one statevector HHL solve on growing block systems (in the given order),
    stopping after the first solve that takes longer than ``budget_s`` seconds."""
    rows = []
    for spec in systems:
        L, rhs, info = carleman_block_system(
            spec["kind"], spec["n"], spec["degree"], spec["order"], spec["steps"], seed=seed
        )
        t0 = time.perf_counter()
        res = solve(L.toarray(), rhs, clock_qubits, count_gates=False)
        seconds = time.perf_counter() - t0
        rows.append(
            {
                **info,
                "num_qubits": res.num_qubits,
                "num_system": res.num_system,
                "num_clock": res.num_clock,
                "fidelity": res.fidelity,
                "seconds": seconds,
                "simulate_seconds": res.simulate_seconds,
            }
        )
        log.info(
            "%s: %d qubits, fidelity %.6f, %.2fs",
            info["system"],
            res.num_qubits,
            res.fidelity,
            seconds,
        )
        if seconds > budget_s:
            break
    return pd.DataFrame(rows)


def training_window_times(windows: Sequence[Sequence[Any]], repeats: int) -> pd.DataFrame:
    """Median wall time of the first window of quantum training over ``repeats`` runs, per
    window ``(features, order N, window W, eps, solver, clock qubits)`` (clock qubits 0: 7) on
    the digits problem (seed 0, initial weights of scale 0.5, step 0.05), HHL through the
    gate-level statevector backend (the training runs default to the eigenbasis one)."""
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    rows = []
    for features, order, window, eps, solver, clock in windows:
        problem = digits_problem(features, seed=0)
        theta0 = initial_weights(problem, 0.5, seed=0)
        spec = RunSpec(
            order, window, eps, solver=solver, clock_qubits=clock or 7, hhl_backend="statevector"
        )
        times = []
        for _ in range(repeats):
            _, trained = quantum_train(problem, theta0, 0.05, window, spec, seed=0)
            times.append(float(trained["seconds"].iloc[0]))
        rows.append(
            {
                "benchmark": f"training_window_{solver}",
                "system": f"digits p={features} n={problem.n} N={order} W={window} eps={eps:g}",
                "system_dim": int(trained["system_dim"].iloc[0]),
                "num_qubits": trained.get("hhl_qubits", pd.Series([None])).iloc[0],
                "seconds": statistics.median(times),
                "repeats": repeats,
            }
        )
        log.info("%s: median %.4fs per window", rows[-1]["system"], rows[-1]["seconds"])
    return pd.DataFrame(rows)


def quantum_benchmark(
    hhl_sizes: Sequence[Sequence[int]],
    clock_qubits: int,
    budget_s: float,
    windows: Sequence[Sequence[Any]],
    repeats: int,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Rule bench_quantum: :func:`hhl_scaling` on random dissipative degree-2 block systems
    ``(n, order N, steps T)`` then :func:`training_window_times`, as one table, with the largest
    HHL solve (system, qubits, seconds) for the provenance record."""
    systems = [
        {"kind": "dissipative", "n": n, "degree": 2, "order": order, "steps": steps}
        for n, order, steps in hhl_sizes
    ]
    scaling = hhl_scaling(systems, clock_qubits, budget_s).assign(benchmark="hhl_solve", repeats=1)
    table = pd.concat([scaling, training_window_times(windows, repeats)], ignore_index=True)
    largest = scaling.iloc[-1]
    facts = {
        "largest_hhl_system": largest["system"],
        "largest_hhl_qubits": int(largest["num_qubits"]),
        "largest_hhl_seconds": float(largest["seconds"]),
    }
    log.info("largest HHL solve: %s, %d qubits, %.1fs", *facts.values())
    return table, facts
