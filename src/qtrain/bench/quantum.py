"""Benchmark of the circuits stage: the wall time of statevector HHL solves on growing Carleman
block systems (rule bench_quantum; summarized in docs/benchmarks.md)."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from qtrain.quantum.circuits.hhl import solve
from qtrain.quantum.circuits.sweeps import carleman_block_system

__all__ = ["hhl_scaling"]

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
