"""HHL quantum linear solver built from qiskit 2.x circuit pieces, with simulation and counts.

The classical preparation (dilation, padding, evolution time, clock budget, rotation angles)
is :mod:`qtrain.quantum.circuits.hhl_setup`.

qiskit 2.x ships no linear solver, so the circuit is assembled here from library gates:

1. ``StatePreparation`` of ``b/‖b‖`` on the system register (m qubits);
2. quantum phase estimation of ``exp(iHt)`` on a clock register (``num_clock`` qubits):
   Hadamards, controlled evolutions ``exp(iH t 2^j)`` controlled by clock qubit ``j`` and the
   inverse ``QFTGate``. Clock qubit 0 holds the least significant bit (little-endian, the same
   order ``UCRYGate`` uses for its controls, so no reversal is needed: qiskit's own
   ``phase_estimation`` ends with a reversal, the source of "trap 1" in notes/quantum.md). Each
   controlled evolution is the ``HamiltonianGate`` of the Hermitian ``|1><1| ⊗ H``
   (:class:`ControlledEvolutionGate`), which is exactly ``|0><0| ⊗ I + |1><1| ⊗ exp(-iHτ)``:
   no controlled-gate synthesis, exact powers (no Trotter error, so trap 2 does not arise);
3. the eigenvalue-inversion rotation: a ``UCRYGate`` on a flag qubit controlled by the clock,
   angle ``2·arcsin(C/λ_k)`` for the clock value ``k``; clock values whose eigenvalue is below
   ``filter_fraction`` times the smallest ``|λ|`` get angle 0 (QPE leakage near 0 would otherwise
   be amplified by ``1/λ``);
4. the inverse of step 2 (uncomputation), then post-selection on flag = 1 and clock = 0.

Post-selected system amplitudes equal ``C·H⁻¹b/‖b‖`` (up to QPE error), so the success probability
is ``p = C²‖x‖²/‖b‖²`` and the solution's norm is recovered as ``‖x‖ = ‖b‖·√p / C`` with the known
rotation constant ``C``: ``HHLResult.solution`` is the post-selected direction rescaled by that
norm estimate (not by the classical norm, which is reported beside it).

Backends: ``statevector`` and ``aer_statevector`` simulate the circuit gate by gate;
``eigenbasis`` computes the same post-selected output exactly without the 2^qubits state: QPE,
the rotation and the uncomputation act on each eigenvector v_i of H separately, so the
post-selected amplitude of v_i is ``β_i Σ_k |α_k(λ_i)|² sin(θ_k/2)`` with β_i = ⟨v_i|b̂⟩,
α_k(λ) = (1/M) Σ_c e^{ic(λt − 2πk/M)} the phase-estimation amplitudes (an FFT) and θ_k the
rotation angles: equal to the statevector's post-selected block to 1e-15 (tests), at the cost
of one eigendecomposition and an FFT over the clock values, whatever the clock size.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from qiskit import QuantumCircuit, QuantumRegister, transpile
from qiskit.circuit.library import HamiltonianGate, QFTGate, StatePreparation, UCRYGate
from qiskit.quantum_info import Statevector

from qtrain.quantum.circuits.hhl_setup import (
    HHLSetup,
    prepare,
)

__all__ = [
    "BACKENDS",
    "ControlledEvolutionGate",
    "HHLResult",
    "clock_sweep",
    "eigenbasis_postselected",
    "gate_counts",
    "hhl_circuit",
    "solve",
]

log = logging.getLogger(__name__)

BACKENDS = ("statevector", "aer_statevector", "aer_shots", "eigenbasis")


@dataclass
class HHLResult:
    """Outcome of :func:`solve`.

    ``fidelity`` is ``|<x̂|x>|²`` between the normalized post-selected system register and the
    normalized exact solution of ``numpy.linalg.solve`` (embedded as ``[0; x]`` after dilation and
    zero-padded), so leakage into the unused half counts as error. For ``aer_shots`` only
    magnitudes are measured: ``solution`` is non-negative (``magnitudes_only=True``) and
    ``fidelity`` is ``(Σ_j |x̂_j||x_j|)²`` on normalized vectors (the Bhattacharyya overlap of the
    measured and exact outcome distributions); signs need the Hadamard-test step of
    :mod:`qtrain.quantum.circuits.tomography`. ``depth`` and ``cx_count`` come from a dense-unitary
    synthesis (``transpile(basis_gates=["u", "cx"], optimization_level=1)``) that grows like
    ``4**qubits``: validation points, not asymptotic costs; ``None`` when not counted.
    """

    solution: np.ndarray
    fidelity: float
    success_probability: float
    num_qubits: int
    depth: int | None
    cx_count: int | None
    exact_solution: np.ndarray
    norm_estimate: float
    norm_exact: float
    num_clock: int
    num_system: int
    dilated: bool
    signed: bool
    evolution_time: float
    constant: float
    condition_number: float
    backend: str
    shots: int | None
    magnitudes_only: bool
    u_count: int | None = None
    simulate_seconds: float = 0.0
    count_seconds: float = 0.0

    @property
    def norm_relative_error(self) -> float:
        """|‖x̂‖ − ‖x‖| / ‖x‖."""
        return abs(self.norm_estimate - self.norm_exact) / self.norm_exact

    @property
    def solution_error(self) -> float:
        """Relative ℓ2 error of ``solution`` (magnitudes compared when ``magnitudes_only``)."""
        ref = np.abs(self.exact_solution) if self.magnitudes_only else self.exact_solution
        return float(np.linalg.norm(self.solution - ref) / np.linalg.norm(ref))

    def summary(self) -> dict[str, object]:
        """Scalar fields as a flat dict (one table row)."""
        row = {k: v for k, v in asdict(self).items() if np.isscalar(v) or v is None}
        row["norm_relative_error"] = self.norm_relative_error
        row["solution_error"] = self.solution_error
        return row


class ControlledEvolutionGate(HamiltonianGate):
    """``HamiltonianGate`` of ``G = |1><1|_ctrl ⊗ H``, i.e. ``|0><0| ⊗ I + |1><1| ⊗ e^{-iHτ}``.

    Same gate and definition as ``HamiltonianGate(G, τ)`` (control is the last qubit); its matrix
    comes from a shared eigendecomposition of H instead of one ``expm`` per power, which keeps the
    simulation of large clocks fast (``expm`` cost grows with ``‖H‖·τ``).
    """

    def __init__(
        self, h: np.ndarray, time: float, eig: tuple[np.ndarray, np.ndarray] | None = None
    ) -> None:
        super().__init__(np.kron(np.diag([0.0, 1.0]), h), time)
        self._h = h
        self._eig = eig if eig is not None else np.linalg.eigh(h)

    def __array__(self, dtype: object = None, copy: bool | None = None) -> np.ndarray:
        if copy is False:
            raise ValueError("unable to avoid copy while creating an array as requested")
        w, v = self._eig
        d = w.size
        out = np.zeros((2 * d, 2 * d), dtype=complex)
        out[:d, :d] = np.eye(d)
        out[d:, d:] = (v * np.exp(-1j * w * float(self.params[1]))) @ v.conj().T
        return out if dtype is None else out.astype(dtype)

    def adjoint(self) -> ControlledEvolutionGate:
        """exp(+iGτ)."""
        return ControlledEvolutionGate(self._h, -float(self.params[1]), self._eig)

    def inverse(self, annotated: bool = False) -> ControlledEvolutionGate:
        """The adjoint."""
        return self.adjoint()


def _qpe(setup: HHLSetup) -> QuantumCircuit:
    """Phase estimation of exp(iHt) on (system, clock); clock qubit 0 = least significant bit."""
    m, nc = setup.num_system, setup.num_clock
    qc = QuantumCircuit(m + nc, name="QPE")
    eig = np.linalg.eigh(setup.matrix)
    qc.h(range(m, m + nc))
    for j in range(nc):
        # exp(-iGτ) with τ = −t·2^j: exp(iHt·2^j) controlled by clock qubit j
        gate = ControlledEvolutionGate(setup.matrix, -setup.evolution_time * 2**j, eig)
        qc.append(gate, [*range(m), m + j])
    qc.append(QFTGate(nc).inverse(), list(range(m, m + nc)))
    return qc


def hhl_circuit(setup: HHLSetup, measure: bool = False) -> QuantumCircuit:
    """The HHL circuit on registers ``sys`` (m), ``clock`` (nc), ``flag`` (1), in that qubit order.

    Statevector index = sys + 2^m·clock + 2^(m+nc)·flag; success is flag = 1 and clock = 0.
    """
    sys_reg = QuantumRegister(setup.num_system, "sys")
    clock = QuantumRegister(setup.num_clock, "clock")
    flag = QuantumRegister(1, "flag")
    qc = QuantumCircuit(sys_reg, clock, flag, name="HHL")
    rhs = setup.rhs / np.linalg.norm(setup.rhs)
    qc.append(StatePreparation(rhs), sys_reg[:])
    qpe = _qpe(setup)
    qc.compose(qpe, [*sys_reg, *clock], inplace=True)
    # UCRYGate: first qubit is the target, controls follow with the first one least significant,
    # which matches the little-endian clock value of _qpe (trap 1).
    qc.append(UCRYGate([float(x) for x in setup.angles]), [flag[0], *clock])
    qc.compose(qpe.inverse(), [*sys_reg, *clock], inplace=True)
    if measure:
        qc.measure_all()
    return qc


def gate_counts(qc: QuantumCircuit) -> dict[str, int]:
    """Depth and gate counts after ``transpile(basis_gates=["u","cx"], optimization_level=1)``.

    Dense-unitary synthesis: validation points, not asymptotic costs.
    """
    qc = qc.remove_final_measurements(inplace=False)
    tqc = transpile(qc, basis_gates=["u", "cx"], optimization_level=1, seed_transpiler=0)
    ops = tqc.count_ops()
    return {
        "depth": int(tqc.depth()),
        "cx_count": int(ops.get("cx", 0)),
        "u_count": int(ops.get("u", 0)),
    }


def eigenbasis_postselected(setup: HHLSetup) -> np.ndarray:
    """The system amplitudes with flag = 1 and clock = 0 that :func:`hhl_circuit` produces,
    computed per eigenvector of the (padded) Hermitian matrix (module docstring): exact for
    this circuit, equal to the statevector's post-selected block up to rounding."""
    w, v = np.linalg.eigh(setup.matrix)
    rhs = setup.rhs / np.linalg.norm(setup.rhs)
    beta = v.conj().T @ rhs
    size = 1 << setup.num_clock
    clock = np.arange(size)
    alpha = np.fft.fft(np.exp(1j * np.outer(w * setup.evolution_time, clock)), axis=1) / size
    gain = (np.abs(alpha) ** 2) @ np.sin(np.asarray(setup.angles) / 2)
    return v @ (beta * gain)


def _postselected(state: np.ndarray, setup: HHLSetup) -> np.ndarray:
    """System amplitudes with flag = 1 and clock = 0."""
    offset = 1 << (setup.num_system + setup.num_clock)
    return np.asarray(state)[offset : offset + (1 << setup.num_system)]


def _run_aer(qc: QuantumCircuit, shots: int | None, seed: int | None) -> object:
    """Run on qiskit-aer's statevector method; return the statevector or the counts."""
    from qiskit_aer import AerSimulator

    sim = AerSimulator(method="statevector", seed_simulator=seed)
    if shots is None:
        qc = qc.copy()
        qc.save_statevector()
    tqc = transpile(qc, sim, optimization_level=0)
    result = sim.run(tqc, shots=shots or 1).result()
    return np.asarray(result.get_statevector()) if shots is None else result.get_counts()


def solve(
    a: np.ndarray,
    b: np.ndarray,
    clock_qubits: int,
    *,
    backend: str = "statevector",
    shots: int = 100_000,
    seed: int | None = 0,
    hermitian: str = "auto",
    signed: bool | None = None,
    eigenvalue_bounds: tuple[float, float] | None = None,
    filter_fraction: float = 0.5,
    headroom: float = 0.25,
    count_gates: bool | None = None,
    max_count_system_qubits: int = 6,
) -> HHLResult:
    """Solve ``A x = b`` with a simulated HHL circuit and compare with ``numpy.linalg.solve``.

    ``backend``: ``"statevector"`` (qiskit.quantum_info.Statevector), ``"aer_statevector"``
    (AerSimulator statevector method, ``save_statevector``), ``"aer_shots"`` (``shots``
    samples of all qubits: magnitudes and success probability from counts) or
    ``"eigenbasis"`` (the same circuit's post-selected output computed per eigenvector,
    :func:`eigenbasis_postselected`: no 2^qubits state, any clock size). ``count_gates=None``
    counts depth/CX only when the system register has at most ``max_count_system_qubits`` qubits
    (the dense synthesis of the controlled evolutions grows like 4^qubits). The other keywords are
    those of :func:`prepare`. See :class:`HHLResult` for the fields.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if clock_qubits < 1:
        raise ValueError("clock_qubits must be >= 1")
    a = np.asarray(a)
    b = np.asarray(b)
    real = np.isrealobj(a) and np.isrealobj(b)
    setup = prepare(
        a,
        b,
        clock_qubits,
        hermitian=hermitian,
        signed=signed,
        eigenvalue_bounds=eigenvalue_bounds,
        filter_fraction=filter_fraction,
        headroom=headroom,
    )
    x_exact = np.linalg.solve(a, b)
    norm_exact = float(np.linalg.norm(x_exact))
    ideal = np.zeros(1 << setup.num_system, dtype=complex)
    ideal[setup.solution_slice] = x_exact / norm_exact
    b_norm = float(np.linalg.norm(b))

    qc = None if backend == "eigenbasis" else hhl_circuit(setup, measure=backend == "aer_shots")
    t0 = time.perf_counter()
    if backend == "aer_shots":
        counts = _run_aer(qc, shots, seed)
        probs = np.zeros(1 << setup.num_qubits)
        for key, c in counts.items():
            probs[int(key.replace(" ", ""), 2)] += c
        post = _postselected(probs / shots, setup)
        p_success = float(post.sum())
        direction = np.sqrt(post / p_success) if p_success > 0 else np.zeros_like(post)
        fidelity = float(np.sum(direction * np.abs(ideal)) ** 2)
    else:
        if backend == "eigenbasis":
            post = eigenbasis_postselected(setup)
        elif backend == "statevector":
            post = _postselected(Statevector(qc).data, setup)
        else:
            post = _postselected(_run_aer(qc, None, seed), setup)
        p_success = float(np.vdot(post, post).real)
        direction = post / math.sqrt(p_success)
        fidelity = float(abs(np.vdot(direction, ideal)) ** 2)
    sim_s = time.perf_counter() - t0

    norm_est = b_norm * math.sqrt(p_success) / setup.constant
    solution = direction[setup.solution_slice] * norm_est
    if real or backend == "aer_shots":
        solution = solution.real
    else:
        solution = np.asarray(solution)

    depth = cx = u = None
    count_s = 0.0
    if count_gates or (count_gates is None and setup.num_system <= max_count_system_qubits):
        t1 = time.perf_counter()
        counts_ = gate_counts(qc if qc is not None else hhl_circuit(setup))
        count_s = time.perf_counter() - t1
        depth, cx, u = counts_["depth"], counts_["cx_count"], counts_["u_count"]

    return HHLResult(
        solution=solution,
        fidelity=fidelity,
        success_probability=p_success,
        num_qubits=setup.num_qubits,
        depth=depth,
        cx_count=cx,
        exact_solution=x_exact.real if real else x_exact,
        norm_estimate=norm_est,
        norm_exact=norm_exact,
        num_clock=setup.num_clock,
        num_system=setup.num_system,
        dilated=setup.dilated,
        signed=setup.signed,
        evolution_time=setup.evolution_time,
        constant=setup.constant,
        condition_number=setup.lambda_max / setup.lambda_min,
        backend=backend,
        shots=shots if backend == "aer_shots" else None,
        magnitudes_only=backend == "aer_shots",
        u_count=u,
        simulate_seconds=sim_s,
        count_seconds=count_s,
    )


def clock_sweep(
    a: np.ndarray, b: np.ndarray, clock_values: list[int] | tuple[int, ...], **kwargs: object
) -> pd.DataFrame:
    """One :meth:`HHLResult.summary` row per clock-register size (keywords go to :func:`solve`)."""
    rows = []
    for nc in clock_values:
        res = solve(a, b, int(nc), **kwargs)  # type: ignore[arg-type]
        rows.append(res.summary())
    return pd.DataFrame(rows)
