"""The costed building blocks of one window, each against its source (docs/cost_model.md §1).

Data loading (select-swap QROM, QRAM as an assumption, Grover-Rudolph state preparation, the
sparse-access block encoding of GSLW Lemma 48, a coherent oracle that evaluates the network
reversibly), the linear solver's query counts, amplification of the final block, the read-out
options (sampling, Kerenidis-Prakash, Heisenberg-limited, ℓ∞-then-ℓ2), the Carleman order from
the truncation bound, and κ(L) and the final-block share of the slowest mode's block system.
Each takes numbers (or :class:`~qtrain.quantum.costs.settings.CostSettings`) and returns counts.
"""

from __future__ import annotations

import functools
import math
from dataclasses import replace

import numpy as np

from qtrain.quantum.costs.settings import CostSettings

__all__ = [
    "amplification",
    "block_encoding_cost",
    "carleman_order",
    "ceil_log2",
    "coherent_entry_cost",
    "load_cost",
    "qram_cost",
    "qrom_cost",
    "scalar_block_system",
    "solver_queries",
    "state_preparation_cost",
    "tomography_uses",
    "trajectory_share",
]


def ceil_log2(x: float) -> int:
    """⌈log₂ x⌉ for x ≥ 1 (exact for integers; 0 for x = 1)."""
    if x < 1:
        raise ValueError(f"need x >= 1, got {x}")
    if isinstance(x, int) or (float(x).is_integer() and x < 2**53):
        return (int(x) - 1).bit_length()
    return math.ceil(math.log2(x))


# --------------------------------------------------------------------------- data loading


def qrom_cost(entries: float, bits: int, max_ancilla: float = math.inf) -> dict[str, float]:
    """Select-swap QROM (QROAM) reading one of ``entries`` words of ``bits`` bits, computed and
    uncomputed (one lookup in the sense of GSLW's oracles).

    Compute: ⌈N/λ⌉ + b(λ − 1) Toffolis with b·λ + ⌈log₂⌈N/λ⌉⌉ ancilla qubits, λ a power of two
    chosen to minimise the Toffolis with b·λ ≤ ``max_ancilla`` (Low, Kliuchnikov, Schaeffer
    arXiv:1812.00954; Berry, Gidney, Motta, McClean, Babbush, Quantum 3, 208 (2019), App. A).
    Uncompute by measurement: b X-basis measurements and a phase fix-up of ⌈N/λ'⌉ + λ' Toffolis
    (Berry et al. 2019, App. C), λ' the best power of two.
    """
    if entries < 1 or bits < 1:
        raise ValueError(f"need entries >= 1 and bits >= 1, got {entries}, {bits}")
    return dict(_qrom_cost(float(entries), int(bits), float(max_ancilla)))


@functools.lru_cache(maxsize=65536)
def _qrom_cost(n: float, bits: int, max_ancilla: float) -> tuple[tuple[str, float], ...]:
    cap = max(1.0, math.floor(max_ancilla / bits)) if math.isfinite(max_ancilla) else math.inf
    best = None
    lam = 1.0
    while lam <= n and lam <= cap:
        tof = math.ceil(n / lam) + bits * (lam - 1)
        if best is None or tof < best[0]:
            best = (tof, lam)
        lam *= 2
    tof, lam = best
    best_u = min(
        (math.ceil(n / 2.0**k) + 2.0**k, 2.0**k)
        for k in range(0, max(1, ceil_log2(n)) + 1)
        if 2.0**k <= max(1.0, max_ancilla)
    )
    return (
        ("toffolis_compute", float(tof)),
        ("toffolis_uncompute", float(best_u[0])),
        ("toffolis", float(tof + best_u[0])),
        ("ancillas", float(bits * lam + ceil_log2(max(1.0, math.ceil(n / lam))))),
        ("lambda", float(lam)),
        ("measurements", float(bits)),
    )


def qram_cost(entries: float, bits: int, per_address_bit: float) -> dict[str, float]:
    """A QRAM query, an ASSUMPTION: ``per_address_bit``·⌈log₂ N⌉ + b Toffolis on the logical
    qubits (address routing and the b-bit word), computed and uncomputed; the QRAM device itself
    is not counted (neither its qubits nor its error). ``per_address_bit = 0`` is a unit-cost
    QRAM: routing free, only the word is paid."""
    tof = per_address_bit * ceil_log2(max(1.0, entries)) + bits
    return {
        "toffolis_compute": tof,
        "toffolis_uncompute": tof,
        "toffolis": 2 * tof,
        "ancillas": float(bits),
        "lambda": 1.0,
        "measurements": 0.0,
    }


def load_cost(entries: float, s: CostSettings) -> dict[str, float]:
    """One data lookup (compute + uncompute) of ``entries`` words under the settings' model."""
    if s.data_loading == "qram":
        return qram_cost(entries, s.bits_per_entry, s.qram_toffolis_per_address_bit)
    return qrom_cost(entries, s.bits_per_entry, s.qrom_max_ancilla_qubits)


def coherent_entry_cost(order: int, gradient_flops: float, s: CostSettings) -> dict[str, float]:
    """One entry of F_l computed coherently (compute + uncompute): the network's l-th directional
    derivative on the window's batch evaluated reversibly in superposition. FLOPs: ``order``-th
    power of ``hvp_cost_in_gradients`` times one gradient's ``gradient_flops`` (counted);
    Toffolis per multiply-add b² + b (schoolbook multiplication, ripple-carry addition of
    b = ``coherent_oracle_bits`` bits), a multiply-add being 2 FLOPs; twice for the uncompute.
    Qubits: at least b per evolved weight (the derivative's output register; the stored
    activations of the reversible evaluation come on top and are not counted)."""
    flops = s.hvp_cost_in_gradients**order * gradient_flops
    b = s.coherent_oracle_bits
    return {
        "toffolis": 2 * flops / 2 * (b * b + b),
        "measurements": 0.0,
        "flops": flops,
    }


def state_preparation_cost(amplitudes: float, s: CostSettings) -> dict[str, float]:
    """Prepare a state of ``amplitudes`` classical amplitudes (Grover-Rudolph tree): at level ℓ
    (ℓ = 0..⌈log₂ M⌉−1) look up 2^ℓ rotation angles and rotate by adding the b-bit angle into
    a phase-gradient register (b Toffolis). Ancillas: the largest lookup's workspace."""
    levels = max(1, ceil_log2(max(1.0, amplitudes)))
    tof = meas = anc = 0.0
    for level in range(levels):
        c = load_cost(min(2.0**level, amplitudes), s)
        tof += c["toffolis"] + s.bits_per_entry
        meas += c["measurements"]
        anc = max(anc, c["ancillas"])
    return {"toffolis": tof, "measurements": meas, "ancillas": anc, "rotations": 0.0}


def block_encoding_cost(
    nnz: float,
    rows: float,
    s: CostSettings,
    dense_rows: bool = True,
    entry: dict[str, float] | None = None,
) -> dict[str, float]:
    """Toffolis, measurements and ancillas of ONE query to the block encoding of a matrix with
    ``nnz`` stored entries and ``rows`` rows.

    ``state_preparation`` (Clader et al., IEEE TQC 2022; Kerenidis-Prakash): U_R prepares the
    row norms (``rows`` amplitudes), U_L the rows (``nnz`` amplitudes): one state preparation
    of each. ``sparse_access`` (Gilyén, Su, Low, Wiebe 2019, Lemma 48): the entry oracle O_A
    twice in total, i.e. ONE lookup computed and uncomputed (or ``entry``, a coherent
    evaluation); the row and column oracles once each, lookups of ⌈log₂ rows⌉-bit indices,
    unless ``dense_rows`` (a dense row's k-th entry is column k: index arithmetic only); one
    b-bit controlled rotation through the phase-gradient register (b Toffolis).
    """
    if s.block_encoding == "state_preparation" and entry is None:
        a = state_preparation_cost(rows, s)
        b = state_preparation_cost(nnz, s)
        return {
            "toffolis": a["toffolis"] + b["toffolis"],
            "measurements": a["measurements"] + b["measurements"],
            "ancillas": max(a["ancillas"], b["ancillas"]),
        }
    data = entry if entry is not None else load_cost(nnz, s)
    tof = data["toffolis"] + s.bits_per_entry
    meas = data["measurements"]
    anc = data.get("ancillas", float(s.bits_per_entry))
    if not dense_rows:  # sparse rows: O_r and O_c, each a lookup of column indices
        col = load_cost(nnz, replace(s, bits_per_entry=max(1, ceil_log2(max(rows, 2.0)))))
        tof += 2 * col["toffolis"]
        meas += 2 * col["measurements"]
        anc = max(anc, col["ancillas"])
    return {"toffolis": tof, "measurements": meas, "ancillas": anc}


# --------------------------------------------------------------------------- solver, output


def solver_queries(kappa: float, eps: float, s: CostSettings) -> dict[str, float]:
    """Block-encoding queries of one solve at effective condition number κ (= α_L·‖L⁻¹‖) and
    state error ε, for the configured solver.

    - ``adiabatic`` (Costa et al., PRX Quantum 3, 040303 (2022)): a walk of ⌈c·κ/ε_0⌉ steps
      (c = 1.84 measured in arXiv:2312.07690, 2305 proven) to error ε_0, then eigenstate
      filtering (Lin-Tong, Quantum 4, 361 (2020)) of degree 2⌈κ·ln(2/ε)/√2⌉, succeeding with
      probability (1 − ε_0)². Rotations: 2 per walk step, 1 per filter phase.
    - ``cks`` (Childs-Kothari-Somma 2017, with variable-time AA): κ·ln²(κ/ε) queries, unit
      constant (a lower bound on its cost); b prepared once per AA round (≈ κ rounds).
    - ``hhl`` (phase estimation to relative precision ε/κ, κ rounds of amplification):
      π·κ²/ε queries.
    """
    kappa = max(kappa, 1.0)  # infinite when the window's map overflows (scalar_block_system)
    if s.solver == "adiabatic":
        walk = _ceil(s.adiabatic_constant * kappa / s.adiabatic_stage_error)
        filt = 2 * _ceil(kappa * math.log(2 / eps) / math.sqrt(2))
        queries = walk + filt
        return {
            "walk_steps": walk,
            "filter_degree": filt,
            "queries": queries,
            "b_calls": s.b_preparations_per_query * queries,
            "rotations": 2 * walk + filt,
            "success_probability": (1 - s.adiabatic_stage_error) ** 2,
        }
    rounds = _ceil(kappa)
    if s.solver == "cks":
        queries = _ceil(kappa * math.log(max(kappa / eps, math.e)) ** 2)
    else:
        queries = _ceil(math.pi * kappa**2 / eps)
    return {
        "walk_steps": 0.0,
        "filter_degree": 0.0,
        "queries": queries,
        "b_calls": 2 * rounds + 1,
        "rotations": 2 * rounds + 1,
        "success_probability": 1.0,
    }


def _ceil(x: float) -> float:
    """⌈x⌉ as a float; an unbounded count (x = ∞: a map too divergent to price) stays ∞."""
    return float(math.ceil(x)) if math.isfinite(x) else math.inf


def amplification(probability: float, mode: str) -> dict[str, float]:
    """Runs of the solver per successful output of probability p: amplitude amplification
    (k = ⌈π/(4·arcsin√p) − 1/2⌉ rounds, 2k + 1 solves in one coherent shot) or repetition
    (1/p shots of one solve each, on average)."""
    if not 0 < probability <= 1:
        return {"rounds": math.inf, "solves_per_shot": math.inf, "shots_per_output": math.inf}
    if mode == "amplitude":
        theta = math.asin(math.sqrt(probability))
        k = max(0, math.ceil(math.pi / (4 * theta) - 0.5))
        return {"rounds": float(k), "solves_per_shot": float(2 * k + 1), "shots_per_output": 1.0}
    return {"rounds": 0.0, "solves_per_shot": 1.0, "shots_per_output": 1 / probability}


def tomography_uses(
    entries: float, dimension: float, eps: float, method: str, constant: float = 1.0
) -> dict[str, float]:
    """Uses of the output state (copies, or calls of its preparation unitary and inverse) to
    read ``entries`` entries of a vector of ``dimension`` entries at relative ℓ2 precision ε.

    - ``sampling``: d/ε² copies (both stages; the project measures the error √(d/(4N)) per
      stage, figS5). Sampling locates the d heaviest entries as it goes.
    - ``kerenidis_prakash``: 2·36·d·ln d/ε² (magnitude and sign stages, arXiv:1808.09266).
    - ``heisenberg``: c·D/ε uses of the preparation unitary for ℓ2 error ε on the whole
      D-entry vector (van Apeldoorn, Cornelissen, Gilyén, Nannicini, SODA 2023,
      arXiv:2207.08800: Θ̃(D/ε); log factors and the constant c taken as 1, the optimistic end);
      the d kept entries are then chosen classically.
    - ``linf_then_l2``: ℓ∞ tomography at δ = ε/√d over the D entries, c·ln(D)/δ uses (the same
      paper's ℓ∞ bound, logs beyond ln D dropped), finds every entry above δ; then ℓ2
      tomography of the d entries found, c·d/ε: c·(√d·ln D + d)/ε in all.
    """
    d = max(1.0, float(entries))
    big = max(d, float(dimension))
    if method == "sampling":
        return {"uses": d / eps**2, "uses_linf": 0.0}
    if method == "kerenidis_prakash":
        return {"uses": 2 * 36 * d * math.log(max(d, 2.0)) / eps**2, "uses_linf": 0.0}
    if method == "heisenberg":
        return {"uses": constant * big / eps, "uses_linf": 0.0}
    if method == "linf_then_l2":
        linf = constant * math.sqrt(d) * math.log(max(big, 2.0)) / eps
        return {"uses": linf + constant * d / eps, "uses_linf": linf}
    raise ValueError(f"unknown tomography method {method!r}")


# --------------------------------------------------------------------------- dissipation, κ


def carleman_order(ratio: float, steps: int, eps: float, max_order: int) -> tuple[int, float, bool]:
    """Smallest N ≥ 1 with T·N·R^N ≤ ε (Liu et al., PNAS 118, e2026805118 (2021): truncation
    error ‖u(T) − û(T)‖/‖u_in‖ ≤ T·N·R^N for R < 1). Returns (N, bound at N, bound met);
    R ≥ 1 or no N ≤ ``max_order`` gives (max_order, bound, False)."""
    bound = math.inf
    for order in range(1, max_order + 1):
        bound = steps * order * ratio**order if ratio < 1 else math.inf
        if bound <= eps:
            return order, bound, True
    return max_order, bound, False


@functools.lru_cache(maxsize=4096)
def scalar_block_system(c: float, steps: int, padding: int = 0) -> dict[str, float]:
    """‖L‖, ‖L⁻¹‖ and κ of the block system of ONE mode with eigenvalue c of C_N: the
    (T+1+P)-dimensional lower bidiagonal matrix with 1 on the diagonal, −c on the first T
    sub-diagonal entries and −1 on the P padding ones. For c = ρ(C_N) it is the slowest mode
    of Eq. 6: κ → (1+ρ)/(1−ρ) for ρ < 1 and ≈ 4(T+P+1)/π for ρ = 1 (SPEC §1.4; the smoke
    figS3 maps measure 8.27 and 171.7 where this gives 8.24 and 164)."""
    import scipy.linalg as sla

    dim = steps + 1 + padding
    sub = np.concatenate([np.full(steps, -abs(c)), np.full(padding, -1.0)])
    if steps * math.log(max(abs(c), 1.0)) > 600:
        return {"norm": 1 + abs(c), "inverse_norm": math.inf, "kappa": math.inf}
    # L·Lᵀ is tridiagonal: diagonal 1 + sub_(i-1)², off-diagonal sub_i; its extreme
    # eigenvalues are σ_max² and σ_min² (bisection, O(dim) each)
    diag = 1 + np.concatenate([[0.0], sub**2])
    top = sla.eigh_tridiagonal(
        diag, sub, eigvals_only=True, select="i", select_range=(dim - 1, dim - 1)
    )[0]
    low = sla.eigh_tridiagonal(diag, sub, eigvals_only=True, select="i", select_range=(0, 0))[0]
    norm = math.sqrt(top)
    if low > 1e-8 * top:
        inv = 1 / math.sqrt(low)
    else:  # σ_min below the bisection's resolution: power iteration on (L Lᵀ)⁻¹
        lower = np.zeros((2, dim))
        lower[0] = 1.0
        lower[1, :-1] = sub
        upper = np.zeros((2, dim))
        upper[1] = 1.0
        upper[0, 1:] = sub
        x = np.ones(dim) / math.sqrt(dim)
        value = 0.0
        for _ in range(500):
            y = sla.solve_banded((1, 0), lower, sla.solve_banded((0, 1), upper, x))
            new_value = float(np.linalg.norm(y))
            x = y / new_value
            if abs(new_value - value) <= 1e-10 * new_value:
                break
            value = new_value
        inv = math.sqrt(new_value)
    return {"norm": norm, "inverse_norm": inv, "kappa": norm * inv}


def trajectory_share(c: float, steps: int, padding: int, profile: str) -> float:
    """Share of the final blocks (t ≥ T, padding included) in Σ_t ‖u(t)‖² for the scalar
    trajectory of the slowest mode: ``drift`` u(0) = 0, u(t+1) = c·u(t) + 1 (the expansion
    point is the window start, so u_in = 0 and F_0 ≠ 0); ``decaying`` u(t) = c^t (u_in ≠ 0,
    F_0 = 0: the smoke toy maps); ``stationary`` u(t) = 1."""
    t = np.arange(steps + 1, dtype=float)
    c = abs(c)
    if profile == "stationary":
        y = np.ones_like(t)
    elif profile == "decaying":
        y = np.exp(t * math.log(c)) if c > 0 else (t == 0).astype(float)
    elif abs(c - 1) < 1e-12:
        y = t
    else:
        y = (1 - np.exp(t * math.log(c))) / (1 - c)
    y = y / np.max(np.abs(y))
    final = (padding + 1) * y[-1] ** 2
    total = float(np.sum(y[:-1] ** 2)) + final
    return float(final / total) if total > 0 else math.nan
