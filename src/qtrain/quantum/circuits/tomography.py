"""Download: a faithful sampling simulation of vector-state tomography (SPEC §1.6).

Kerenidis-Prakash vector tomography (arXiv:1808.09266, Algorithm 4.1) for a real vector x with
unit vector ``u = x/‖x‖``, simulated with a seeded ``numpy.random.Generator`` (no circuit):

1. magnitudes: N computational-basis measurements of ``|u>`` are one multinomial draw with
   probabilities ``u_i²``; ``|ũ_i| = √(n_i/N)``;
2. signs: N measurements of the Hadamard-test state ``(|0>|u> + |1>|p̃>)/√2`` after a Hadamard on
   the first qubit, where ``|p̃> = Σ_i |ũ_i||i>``; outcome ``(0, i)`` has probability
   ``(u_i + |ũ_i|)²/4`` and ``(1, i)`` has ``(u_i − |ũ_i|)²/4``; the sign is ``+`` iff
   ``n(0, i) > 0.4·N·ũ_i²``;
3. norm: ``‖x‖`` is known (``norm_samples=None``) or estimated from a success probability ``p``
   measured with ``norm_samples`` Bernoulli trials, ``‖x̂‖ = ‖x‖·√(p̂/p)`` (for HHL,
   ``‖x‖ = ‖b‖·√p/C``, so this is ``‖b‖·√p̂/C``);
4. optional top-k sparse readout: keep the k largest ``|x̂_i|``, zero the rest.

``N = 36·d·ln d/δ²`` samples give ``‖u − ũ‖₂ ≤ √7·δ`` with high probability (ℓ2 variant);
``N = 36·ln d/δ²`` gives ``‖u − ũ‖_∞ ≤ δ`` (ℓ∞ variant): :func:`samples_for_precision`.
The procedure is the same for both, only N differs. The bound is pessimistic: the observed
ℓ2 error is about ``√(d/(4N))``, i.e. the ``1/ε²`` sample cost.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "TomographyResult",
    "keep_top_k",
    "samples_for_precision",
    "tomography",
    "tomography_error",
]

SIGN_THRESHOLD = 0.4


@dataclass
class TomographyResult:
    """Estimate and the measurement record of one :func:`tomography` call."""

    estimate: np.ndarray
    samples: int  # N per stage (magnitude stage and sign stage each use N)
    magnitude_counts: np.ndarray
    sign_counts: np.ndarray | None  # n(0, i) of the Hadamard test
    norm_estimate: float
    norm_samples: int | None
    success_estimate: float | None

    @property
    def total_samples(self) -> int:
        """State preparations used: magnitude + sign stages + Bernoulli norm trials."""
        signs = self.samples if self.sign_counts is not None else 0
        return self.samples + signs + (self.norm_samples or 0)


def samples_for_precision(d: int, delta: float, norm: str = "l2") -> int:
    """Kerenidis-Prakash sample count: ``36·d·ln d/δ²`` (``"l2"``) or ``36·ln d/δ²`` (``"linf"``).

    ``ln d`` is taken as ``ln max(d, 2)`` so that ``d = 1`` gives a positive count.
    """
    if d < 1 or delta <= 0:
        raise ValueError(f"need d >= 1 and delta > 0, got d={d}, delta={delta}")
    lnd = math.log(max(d, 2))
    if norm == "l2":
        return math.ceil(36 * d * lnd / delta**2)
    if norm == "linf":
        return math.ceil(36 * lnd / delta**2)
    raise ValueError(f"norm must be 'l2' or 'linf', got {norm!r}")


def keep_top_k(x: np.ndarray, k: int) -> np.ndarray:
    """Keep the k entries of largest magnitude (ties: lower index first), zero the rest."""
    x = np.asarray(x)
    if k >= x.size:
        return x.copy()
    out = np.zeros_like(x)
    if k <= 0:
        return out
    keep = np.argsort(-np.abs(x), kind="stable")[:k]
    out[keep] = x[keep]
    return out


def tomography_error(x: np.ndarray, estimate: np.ndarray, norm: str = "l2") -> float:
    """``‖x − x̂‖`` in ℓ2 (``"l2"``) or ℓ∞ (``"linf"``)."""
    diff = np.asarray(x) - np.asarray(estimate)
    if norm == "l2":
        return float(np.linalg.norm(diff))
    if norm == "linf":
        return float(np.max(np.abs(diff)))
    raise ValueError(f"norm must be 'l2' or 'linf', got {norm!r}")


def tomography(
    x: np.ndarray,
    samples: int,
    rng: np.random.Generator,
    *,
    signs: bool = True,
    success_probability: float | None = None,
    norm_samples: int | None = None,
    top_k: int | None = None,
    return_result: bool = False,
) -> np.ndarray | TomographyResult:
    """Estimate the real vector ``x`` from ``samples`` simulated measurements per stage.

    ``signs=False`` skips the Hadamard-test stage (all signs +: magnitude-only readout).
    ``success_probability`` with ``norm_samples``: estimate ``‖x‖`` from that many Bernoulli
    trials of the success flag (otherwise ``‖x‖`` is used exactly). ``top_k``: keep only the
    ``top_k`` largest entries (sparse readout).
    Returns the estimate, or a :class:`TomographyResult` when ``return_result``.
    """
    x = np.asarray(x)
    if np.iscomplexobj(x):
        raise TypeError("tomography simulates real vectors only")
    if samples < 1:
        raise ValueError(f"samples must be >= 1, got {samples}")
    x = x.astype(float)
    norm = float(np.linalg.norm(x))
    if norm == 0:
        raise ValueError("x must be non-zero")
    u = x / norm
    p = u**2
    p = p / p.sum()

    n_mag = rng.multinomial(samples, p)
    mag = np.sqrt(n_mag / samples)

    n_zero = None
    sign = np.ones_like(u)
    if signs:
        q = np.concatenate([(u + mag) ** 2, (u - mag) ** 2]) / 4
        q = q / q.sum()  # exactly normalized when ‖mag‖ = 1; guards rounding
        n_had = rng.multinomial(samples, q)
        n_zero = n_had[: u.size]
        sign = np.where(n_zero > SIGN_THRESHOLD * samples * mag**2, 1.0, -1.0)

    success_est = None
    norm_est = norm
    if norm_samples is not None:
        if success_probability is None or not 0 < success_probability <= 1:
            raise ValueError("norm_samples needs a success_probability in (0, 1]")
        success_est = rng.binomial(norm_samples, success_probability) / norm_samples
        norm_est = norm * math.sqrt(success_est / success_probability)

    estimate = norm_est * sign * mag
    if top_k is not None:
        estimate = keep_top_k(estimate, top_k)
    if not return_result:
        return estimate
    return TomographyResult(
        estimate=estimate,
        samples=samples,
        magnitude_counts=n_mag,
        sign_counts=n_zero,
        norm_estimate=norm_est,
        norm_samples=norm_samples,
        success_estimate=success_est,
    )
