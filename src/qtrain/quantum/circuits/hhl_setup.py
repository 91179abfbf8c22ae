"""HHL's classical preparation: the Hermitian, padded problem, the evolution time, the clock
budget and the eigenvalue-inversion angles of one run (:func:`prepare` → :class:`HHLSetup`),
which :mod:`qtrain.quantum.circuits.hhl` turns into a circuit and simulates.

Non-Hermitian ``A`` is replaced by its Hermitian dilation ``[[0, A], [A^†, 0]]`` with right-hand
side ``[b; 0]``; the solution ``[0; x]`` has ``x`` in the lower half, eigenvalues ``±σ_i(A)``
and the same condition number. Negative eigenvalues need a signed (two's-complement) clock.
The Hermitian matrix is padded to a power-of-two dimension with ``λ_max·I`` on the new diagonal
entries: the padded block is decoupled from the rest, receives zero amplitude from ``b`` and its
eigenvalue lies inside the spectrum's range, so it changes neither the solution, nor κ, nor the
evolution time.

The evolution time and ``C`` are chosen from the exact eigenvalues (a classical
eigendecomposition, fine at simulation sizes); a device would use bounds on ‖A‖ and κ instead
(pass ``eigenvalue_bounds``).

Clock budget (:func:`clock_for_precision`): the smallest |λ| lands on the clock integer
``k_min`` and every other eigenvalue on ``k ≥ k_min``, so QPE resolves each eigenvalue to a
relative precision of about 1/k; the measured relative error of the solution stays below
``HHL_ERROR_CONSTANT / k_min`` (0.256 at most over 378 Carleman block systems of the digits
network, κ 4-8, k_min 1 to 5,000), so a solver precision ε needs ``k_min ≥ 0.3/ε``, i.e.
``num_clock = s + ⌈log2((⌈0.3/ε⌉ + 1)·κ/(1 − headroom) + 1)⌉`` (s = 1 for a signed clock)."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "HHL_ERROR_CONSTANT",
    "HHLSetup",
    "choose_evolution_time",
    "clock_eigenvalues",
    "clock_for_precision",
    "hermitian_dilation",
    "inversion_angles",
    "min_clock_value",
    "pad_to_power_of_two",
    "prepare",
]

log = logging.getLogger(__name__)

#: Relative solution error of HHL times k_min (the clock integer of the smallest eigenvalue):
#: at most 0.256 measured (module docstring); the clock budget uses this bound.
HHL_ERROR_CONSTANT = 0.3


@dataclass
class HHLSetup:
    """The Hermitian, padded problem and the clock parameters of one HHL run."""

    matrix: np.ndarray  # Hermitian, padded, dimension 2**num_system
    rhs: np.ndarray  # padded right-hand side (not normalized)
    n: int  # size of the original system
    dilated: bool
    num_system: int
    num_clock: int
    signed: bool
    evolution_time: float
    constant: float  # C of the rotation C/λ
    lambda_min: float  # smallest |eigenvalue| used for the mapping
    lambda_max: float  # largest |eigenvalue| used for the mapping
    angles: np.ndarray = field(repr=False)  # UCRY angles indexed by clock value (little-endian)

    @property
    def solution_slice(self) -> slice:
        """Where x lives in the system register."""
        return slice(self.n, 2 * self.n) if self.dilated else slice(0, self.n)

    @property
    def num_qubits(self) -> int:
        """System + clock + flag."""
        return self.num_system + self.num_clock + 1


def hermitian_dilation(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return ``[[0, A], [A^†, 0]]`` and ``[b; 0]``; the solution ``[0; x]`` has x below."""
    a = np.asarray(a)
    b = np.asarray(b)
    n = a.shape[0]
    if a.shape != (n, n) or b.shape != (n,):
        raise ValueError(f"need a square A and matching b, got {a.shape} and {b.shape}")
    zero = np.zeros((n, n), dtype=a.dtype)
    h = np.block([[zero, a], [a.conj().T, zero]])
    return h, np.concatenate([b, np.zeros(n, dtype=b.dtype)])


def pad_to_power_of_two(
    h: np.ndarray, rhs: np.ndarray, fill: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Pad a Hermitian matrix with ``fill·I`` (and ``rhs`` with zeros) to a power-of-two size.

    The padded block is decoupled and gets zero amplitude, so it does not change the solution;
    choose ``fill`` inside the spectrum's magnitude range so it changes neither κ nor the clock map.
    """
    d = h.shape[0]
    size = 1 << max(1, math.ceil(math.log2(d)))
    if size == d:
        return h, rhs
    hp = np.zeros((size, size), dtype=h.dtype)
    hp[:d, :d] = h
    hp[np.arange(d, size), np.arange(d, size)] = fill
    rp = np.zeros(size, dtype=rhs.dtype)
    rp[:d] = rhs
    return hp, rp


def _max_clock_value(num_clock: int, signed: bool) -> int:
    """Largest clock magnitude usable without wrap-around or sign ambiguity."""
    return (1 << (num_clock - 1 if signed else num_clock)) - 1


def min_clock_value(
    num_clock: int, kappa: float, signed: bool = True, headroom: float = 0.25
) -> int:
    """``k_min``: the clock integer the smallest |λ| lands on (:func:`choose_evolution_time`)
    for a condition number ``kappa``; 0 when the clock cannot resolve κ."""
    big = _max_clock_value(num_clock, signed)
    return max(math.floor((1 - headroom) * big / kappa * (1 + 1e-12)), 0)


def clock_for_precision(
    epsilon: float,
    kappa: float,
    *,
    signed: bool = True,
    headroom: float = 0.25,
    constant: float = HHL_ERROR_CONSTANT,
    max_clock: int = 64,
) -> int:
    """The clock budget: the fewest clock qubits whose ``k_min`` (:func:`min_clock_value`) is
    at least ``constant / epsilon``, so that the solution's relative error, at most
    ``constant / k_min`` (module docstring), stays within ``epsilon``."""
    if not (epsilon > 0 and math.isfinite(epsilon)):
        raise ValueError(f"epsilon must be positive and finite, got {epsilon}")
    if not kappa >= 1:
        raise ValueError(f"kappa must be >= 1, got {kappa}")
    need = math.ceil(constant / epsilon * (1 - 1e-12))
    for num_clock in range(2 if signed else 1, max_clock + 1):
        if min_clock_value(num_clock, kappa, signed, headroom) >= need:
            return num_clock
    raise ValueError(f"no clock of at most {max_clock} qubits reaches epsilon {epsilon}")


def choose_evolution_time(
    lambda_min: float, lambda_max: float, num_clock: int, signed: bool, headroom: float = 0.25
) -> float:
    """Evolution time t mapping ``|λ|`` onto clock values ``λ·t·2^nc/(2π)``.

    The smallest ``|λ|`` lands exactly on the integer ``k_min = ⌊(1 − headroom)·K/κ⌋`` (K the
    largest usable clock magnitude) so that the most amplified eigenvalue is inverted exactly,
    and the largest lands at ``κ·k_min ≤ (1 − headroom)·K``. The headroom keeps the QPE leakage
    of the largest eigenvalues from wrapping around the clock (onto 0, or onto the opposite sign);
    without it fidelity stalls near 0.998 however many clock qubits are used. If the clock is too
    small for κ the largest eigenvalue is put on K instead and the small ones are under-resolved
    (a warning is logged).
    """
    if not 0 < lambda_min <= lambda_max:
        raise ValueError(f"need 0 < lambda_min <= lambda_max, got {lambda_min}, {lambda_max}")
    if not 0 <= headroom < 1:
        raise ValueError(f"headroom must lie in [0, 1), got {headroom}")
    big = _max_clock_value(num_clock, signed)
    if big < 1:
        raise ValueError(f"{num_clock} clock qubit(s) cannot represent a signed eigenvalue")
    k_min = math.floor((1 - headroom) * big * lambda_min / lambda_max * (1 + 1e-12))
    scale = 2**num_clock / (2 * math.pi)
    if k_min >= 1:
        return k_min / (lambda_min * scale)
    log.warning(
        "clock of %d qubits cannot resolve kappa=%.3g; small eigenvalues are under-resolved",
        num_clock,
        lambda_max / lambda_min,
    )
    return big / (lambda_max * scale)


def clock_eigenvalues(num_clock: int, evolution_time: float, signed: bool) -> np.ndarray:
    """Eigenvalue of each clock index (little-endian integer; two's complement if signed)."""
    idx = np.arange(2**num_clock)
    k = np.where(idx >= 2 ** (num_clock - 1), idx - 2**num_clock, idx) if signed else idx
    return 2 * np.pi * k / (evolution_time * 2**num_clock)


def inversion_angles(
    num_clock: int,
    evolution_time: float,
    signed: bool,
    lambda_min: float,
    filter_fraction: float = 0.5,
) -> tuple[np.ndarray, float]:
    """UCRY angles ``2·arcsin(C/λ_k)`` per clock index and the constant C.

    Clock values with ``|λ_k| < filter_fraction·lambda_min`` (including 0) get angle 0.
    C is the smallest kept ``|λ_k|``, so ``|C/λ_k| ≤ 1`` for every kept value (no clipping).
    """
    lam = clock_eigenvalues(num_clock, evolution_time, signed)
    keep = np.abs(lam) >= filter_fraction * lambda_min * (1 - 1e-9)
    if not keep.any():
        raise ValueError("no clock value survives the small-eigenvalue filter")
    const = float(np.min(np.abs(lam[keep])))
    angles = np.zeros_like(lam)
    angles[keep] = 2 * np.arcsin(np.clip(const / lam[keep], -1.0, 1.0))
    return angles, const


def prepare(
    a: np.ndarray,
    b: np.ndarray,
    num_clock: int,
    *,
    hermitian: str = "auto",
    signed: bool | None = None,
    eigenvalue_bounds: tuple[float, float] | None = None,
    filter_fraction: float = 0.5,
    headroom: float = 0.25,
) -> HHLSetup:
    """Dilate (if needed), pad, and choose the evolution time, constant and rotation angles.

    ``hermitian``: ``"auto"`` (dilate unless A is Hermitian), ``"dilate"`` (always) or
    ``"assume"`` (A is Hermitian, never dilate). ``signed=None`` picks a signed clock when the
    (dilated) matrix has a negative eigenvalue.
    """
    a = np.asarray(a)
    b = np.asarray(b)
    n = a.shape[0]
    if a.shape != (n, n) or b.shape != (n,):
        raise ValueError(f"need a square A and matching b, got {a.shape} and {b.shape}")
    if not np.any(b):
        raise ValueError("b must be non-zero")
    if hermitian not in ("auto", "dilate", "assume"):
        raise ValueError(f"hermitian must be 'auto', 'dilate' or 'assume', got {hermitian!r}")
    is_herm = np.allclose(a, a.conj().T, rtol=1e-12, atol=1e-12 * np.abs(a).max())
    if hermitian == "assume" and not is_herm:
        raise ValueError("hermitian='assume' but A is not Hermitian")
    dilated = hermitian == "dilate" or (hermitian == "auto" and not is_herm)
    h, rhs = hermitian_dilation(a, b) if dilated else (a, b)
    if eigenvalue_bounds is None:
        ev = np.linalg.eigvalsh(h)
        lam_min, lam_max = float(np.min(np.abs(ev))), float(np.max(np.abs(ev)))
        has_negative = bool(ev.min() < 0)
        if lam_min <= 1e-14 * lam_max:
            raise np.linalg.LinAlgError("matrix is singular to working precision")
    else:
        lam_min, lam_max = map(float, eigenvalue_bounds)
        has_negative = True
    if signed is None:
        signed = dilated or has_negative
    h, rhs = pad_to_power_of_two(h, rhs, fill=lam_max)
    t = choose_evolution_time(lam_min, lam_max, num_clock, signed, headroom)
    angles, const = inversion_angles(num_clock, t, signed, lam_min, filter_fraction)
    return HHLSetup(
        matrix=h,
        rhs=rhs,
        n=n,
        dilated=dilated,
        num_system=int(math.log2(h.shape[0])),
        num_clock=num_clock,
        signed=signed,
        evolution_time=t,
        constant=const,
        lambda_min=lam_min,
        lambda_max=lam_max,
        angles=angles,
    )
