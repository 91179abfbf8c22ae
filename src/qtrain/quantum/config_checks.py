"""Size checks of the ``quantum`` config section that the JSON schema cannot express.

Run when the workflow is parsed (``workflow/rules/quantum.smk``), so a system too large for a
statevector simulation stops the run before any job starts, naming the key. Standard library
only: it is imported by Snakemake itself.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["MAX_STATEVECTOR_QUBITS", "check_quantum_config", "hhl_qubits"]

#: A statevector run of the HHL circuit must stay within minutes on a few CPU cores.
MAX_STATEVECTOR_QUBITS = 20


def hhl_qubits(n: int, order: int, steps: int, clock: int) -> int:
    """Qubits of the HHL circuit on the block system of Eq. 6: the Hermitian dilation of the
    (T+1)·Σ_{j≤N} n^j-dimensional system, padded to a power of two, plus clock and flag."""
    dim = (steps + 1) * sum(n**j for j in range(1, order + 1))
    return math.ceil(math.log2(2 * dim)) + clock + 1


def check_quantum_config(q: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` naming the key when an HHL system or run would exceed
    :data:`MAX_STATEVECTOR_QUBITS`, the resource sweep's n range is empty, the cost model's
    error shares do not sum to 1 or its run is shorter than one window."""
    clock = max(q["hhl"]["clock_qubits"])
    for i, s in enumerate(q["hhl"]["systems"]):
        qubits = hhl_qubits(s["n"], s["order"], s["steps"], clock)
        if qubits > MAX_STATEVECTOR_QUBITS:
            raise ValueError(
                f"config key quantum.hhl.systems[{i}] needs {qubits} qubits with {clock} clock "
                f"qubits (> {MAX_STATEVECTOR_QUBITS}): lower n, order or steps"
            )
    tr = q["training"]
    for i, r in enumerate(tr["hhl_runs"]):
        n = 2 * r["features"] + 1 if tr["model"] == "quadratic" else r["features"] + 1
        qubits = hhl_qubits(n, r["order"], r["window"], r["clock_qubits"])
        if qubits > MAX_STATEVECTOR_QUBITS:
            raise ValueError(
                f"config key quantum.training.hhl_runs[{i}] needs {qubits} qubits "
                f"(> {MAX_STATEVECTOR_QUBITS}): lower features, order, window or clock_qubits"
            )
    res = q["resources"]
    if res["n_min"] >= res["n_max"]:
        raise ValueError("config key quantum.resources.n_min must be below quantum.resources.n_max")
    shares = [res.get(f"error_share_{k}") for k in ("truncation", "solver", "tomography")]
    if all(v is not None for v in shares) and abs(sum(shares) - 1) > 1e-9:
        raise ValueError(
            "config keys quantum.resources.error_share_{truncation,solver,tomography} must sum "
            f"to 1, got {sum(shares):g}"
        )
    if res.get("total_steps", 0) < res.get("steps_per_window", 0):
        raise ValueError(
            "config key quantum.resources.total_steps must be at least "
            "quantum.resources.steps_per_window"
        )
