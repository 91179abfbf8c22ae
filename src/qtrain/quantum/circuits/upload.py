"""Upload: preparing an s-sparse state of dimension n, its measured gate cost and a cost model.

Construction of :func:`sparse_state_preparation` (a simple, documented O(s·log n) scheme):

1. ``StatePreparation`` of the s non-zero values (normalized) on the lowest ``⌈log₂ s⌉`` qubits,
   i.e. onto the basis states ``|0>, …, |s−1>`` (for s = 1 a global phase only);
2. a basis-state permutation that sends ``|j> → |indices[j]>``, written as at most ``s``
   transpositions of basis states. A transposition ``|a> ↔ |c>`` is: CNOTs from one differing
   bit p onto the other differing bits (so that a and c then differ only in bit p), an X on bit p
   controlled by all other bits matching (X gates fix the control polarity), and the same CNOTs
   again. The multi-controlled X uses one clean ancilla (the last qubit, returned to |0>) and
   qiskit's ``synth_mcx_1_clean_kg24`` (6k − 6 CNOTs for k controls, linear).

With ``q = ⌈log₂ n⌉`` each transposition costs at most ``2(q−1) + 6(q−1)`` CNOTs and
``StatePreparation`` on ``⌈log₂ s⌉`` qubits about ``2s``, so CX ≤ ``8·s·q + 2s``: O(s·log n),
which is :func:`upload_cost_model`. Dense ``StatePreparation`` of the full vector costs ~2^q = n
CNOTs instead (``upload_cost(method="dense")``); at small n it is cheaper, the sparse scheme wins
once ``8·s·log₂ n < n``. A QRAM/bucket-brigade upload (Kerenidis-Prakash data structure) reaches
depth O(log n) with O(s·log n) gates given its memory; that is not simulated here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from qiskit import QuantumCircuit, transpile
from qiskit.circuit.library import StatePreparation
from qiskit.synthesis import synth_mcx_1_clean_kg24

__all__ = [
    "UPLOAD_MODEL_CONSTANTS",
    "basis_permutation_transpositions",
    "sparse_state_preparation",
    "sparse_vector",
    "upload_cost",
    "upload_cost_model",
    "upload_sweep",
]

#: Constants of the CX-count model ``a·s·q + c·s`` (q = ⌈log₂ n⌉): ``a = 8`` from ≤ 2(q−1) CNOTs
#: plus a (q−1)-controlled X of 6(q−1) − 6 CNOTs per transposition (≤ s of them); ``c = 2`` from
#: StatePreparation on ⌈log₂ s⌉ qubits (≤ 2^⌈log₂ s⌉ ≤ 2s CNOTs). An upper bound, not a fit.
UPLOAD_MODEL_CONSTANTS = {"a": 8.0, "c": 2.0}


def _num_qubits(n: int) -> int:
    """Qubits for dimension n (at least 1)."""
    return max(1, math.ceil(math.log2(n)))


def sparse_vector(s: int, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A random unit s-sparse vector of dimension n: ``(values, indices)``, indices sorted."""
    if not 1 <= s <= n:
        raise ValueError(f"need 1 <= s <= n, got s={s}, n={n}")
    idx = np.sort(rng.choice(n, size=s, replace=False))
    vals = rng.standard_normal(s)
    return vals / np.linalg.norm(vals), idx


def basis_permutation_transpositions(
    indices: Sequence[int], num_states: int
) -> list[tuple[int, int]]:
    """Transpositions (applied in order) that send basis state j to ``indices[j]`` for j < s.

    The images of the other basis states are arbitrary (they carry zero amplitude).
    """
    idx = [int(i) for i in indices]
    s = len(idx)
    if len(set(idx)) != s or any(not 0 <= i < num_states for i in idx):
        raise ValueError("indices must be distinct and inside the state space")
    if s > num_states:
        raise ValueError("more support entries than basis states")
    # where each amplitude currently sits, and who sits at each occupied position
    pos = list(range(s))
    owner: dict[int, int] = {j: j for j in range(s)}
    swaps: list[tuple[int, int]] = []
    for j in range(s):
        src, dst = pos[j], idx[j]
        if src == dst:
            continue
        swaps.append((src, dst))
        other = owner.pop(dst, None)
        owner[dst] = j
        pos[j] = dst
        del owner[src]
        if other is not None:  # the amplitude that sat at dst moves to src
            pos[other] = src
            owner[src] = other
    return swaps


def _transposition(qc: QuantumCircuit, a: int, c: int, q: int) -> None:
    """Append the basis-state transposition |a> <-> |c> on qubits 0..q-1 (ancilla: qubit q)."""
    diff = [i for i in range(q) if (a >> i ^ c >> i) & 1]
    p, rest = diff[0], diff[1:]
    for i in rest:
        qc.cx(p, i)
    a2 = a ^ sum(1 << i for i in rest) if (a >> p) & 1 else a  # a after the CNOTs
    controls = [i for i in range(q) if i != p]
    flips = [i for i in controls if not (a2 >> i) & 1]
    if flips:
        qc.x(flips)
    mcx = synth_mcx_1_clean_kg24(len(controls))
    qc.compose(mcx, [*controls, p, q][: mcx.num_qubits], inplace=True)
    if flips:
        qc.x(flips)
    for i in reversed(rest):
        qc.cx(p, i)


def sparse_state_preparation(
    values: Sequence[float] | np.ndarray, indices: Sequence[int] | np.ndarray, n: int
) -> QuantumCircuit:
    """Circuit preparing ``Σ_j values[j]|indices[j]>`` (normalized) on ``⌈log₂ n⌉`` qubits.

    The circuit has one more qubit, the last, a clean ancilla for the multi-controlled X gates,
    returned to |0>: the prepared state is the first ``2^⌈log₂ n⌉`` statevector amplitudes.
    """
    vals = np.asarray(values, dtype=complex if np.iscomplexobj(values) else float)
    idx = np.asarray(indices, dtype=int)
    if vals.shape != idx.shape or vals.ndim != 1 or vals.size == 0:
        raise ValueError("values and indices must be non-empty 1-d arrays of equal length")
    if np.any(idx < 0) or np.any(idx >= n):
        raise ValueError(f"indices must lie in [0, {n})")
    norm = np.linalg.norm(vals)
    if norm == 0:
        raise ValueError("values must not all be zero")
    q = _num_qubits(n)
    s = vals.size
    qc = QuantumCircuit(q + 1, name="sparse_prep")
    if s == 1:
        qc.global_phase = float(np.angle(vals[0]))
    else:
        qs = math.ceil(math.log2(s))
        support = np.zeros(1 << qs, dtype=vals.dtype)
        support[:s] = vals / norm
        qc.append(StatePreparation(support), list(range(qs)))
    for a, c in basis_permutation_transpositions(idx, 1 << q):
        _transposition(qc, a, c, q)
    return qc


def _counts(qc: QuantumCircuit) -> dict[str, int]:
    """u/cx counts and depth after transpiling to the u, cx basis."""
    tqc = transpile(qc, basis_gates=["u", "cx"], optimization_level=1, seed_transpiler=0)
    ops = tqc.count_ops()
    cx, u = int(ops.get("cx", 0)), int(ops.get("u", 0))
    return {"cx": cx, "u": u, "gates": cx + u, "depth": int(tqc.depth())}


def upload_cost(s: int, n: int, seed: int = 0, method: str = "sparse") -> dict[str, float]:
    """Measured gate cost of preparing a random s-sparse vector of dimension n.

    ``method``: ``"sparse"`` (:func:`sparse_state_preparation`) or ``"dense"`` (qiskit's
    ``StatePreparation`` of the full n-vector, zeros included: ~2^q CNOTs, for comparison).
    Counts after ``transpile(basis_gates=["u","cx"], optimization_level=1)``.
    """
    vals, idx = sparse_vector(s, n, np.random.default_rng(seed))
    q = _num_qubits(n)
    if method == "sparse":
        qc = sparse_state_preparation(vals, idx, n)
    elif method == "dense":
        full = np.zeros(1 << q)
        full[idx] = vals
        qc = QuantumCircuit(q)
        qc.append(StatePreparation(full), list(range(q)))
    else:
        raise ValueError(f"method must be 'sparse' or 'dense', got {method!r}")
    return {"s": s, "n": n, "qubits": q, "method": method, **_counts(qc)}


def upload_cost_model(s: float, n: float) -> float:
    """Model CX count ``a·s·⌈log₂ n⌉ + c·s`` (constants in ``UPLOAD_MODEL_CONSTANTS``).

    An O(s·log n) model of a sparse upload; the constants bound the construction of
    :func:`sparse_state_preparation`, they are not a fit.
    """
    q = max(1.0, math.ceil(math.log2(n)))
    k = UPLOAD_MODEL_CONSTANTS
    return float(k["a"] * s * q + k["c"] * s)


def upload_sweep(
    s_values: Iterable[int],
    n_values: Iterable[int],
    seed: int = 0,
    methods: Sequence[str] = ("sparse",),
) -> pd.DataFrame:
    """Measured (transpiled u+cx) and model upload costs on a grid of s ≤ n.

    Columns: s, n, qubits, method, cx, u, gates (= cx + u), depth, model_cx, kind.
    """
    rows = []
    n_list = list(n_values)
    for s in s_values:
        for n in n_list:
            if s > n:
                continue
            for method in methods:
                row = upload_cost(s, n, seed=seed, method=method)
                row["model_cx"] = upload_cost_model(s, n)
                rows.append(row)
    df = pd.DataFrame(rows)
    df["kind"] = "measured"
    df.attrs["note"] = (
        "measured: transpiled u+cx counts of the circuits; model_cx: O(s log n) CX model "
        f"a*s*ceil(log2 n)+c*s with {UPLOAD_MODEL_CONSTANTS} (a bound, not a fit)"
    )
    return df
