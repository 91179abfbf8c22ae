"""The download readout of sparse training: a quantum window's weight vector read out by
simulated ℓ2 tomography at relative precision ε (SPEC §1.6, §2.4)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .tomography import samples_for_precision, tomography

__all__ = ["tomography_readout"]

Readout = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def tomography_readout(epsilon: float) -> Readout | None:
    """The readout of a download at relative ℓ2 precision ``epsilon``; None (exact) for 0.

    Kerenidis-Prakash ℓ2 tomography with ``N = 36·d·ln d/δ²`` samples gives
    ``‖u − ũ‖ ≤ √7·δ`` with high probability; ``δ = ε/√7`` guarantees relative precision ε.
    """
    if epsilon < 0:
        raise ValueError(f"tomography precision must be >= 0, got {epsilon}")
    if epsilon == 0:
        return None
    delta = epsilon / math.sqrt(7)

    def readout(vector: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return tomography(vector, samples_for_precision(vector.size, delta, "l2"), rng)

    return readout
