"""One costed quantum-training algorithm (SPEC §1.7): logical counts for one window and a run.

This is a cost MODEL: every number is a function of the settings record :class:`CostSettings`
(one field per config key of ``quantum.resources``) and of measured inputs where the caller passes
them (Hessian-spectrum bounds, κ(T) and the final-block share of measured block systems). Nothing
here is a measurement. ``docs/cost_model.md`` derives every term and names its source.

The algorithm, per window of T steps (K = total_steps / T windows in a run):

1. Classical preprocessing: the oracle data F_0..F_q (gradient, Hessian, higher derivatives on
   the window's batch) are computed classically (HVP-type products, counted in gradient units).
2. Block encoding of L = I − S ⊗ C_N (Eq. 6): S the shift on the clock register; C_N from
   block encodings of M_0 = F_0, M_1 = I + F_1, M_l = F_l (LCU over l, one factor slot at a time),
   each F_l loaded by QROM (select-swap, Berry et al. 2019 / Low-Kliuchnikov-Schaeffer 2018) or
   by a QRAM whose per-query cost is an assumption. Subnormalisation α_L = 1 + α_row^N.
3. The linear solver: discrete-adiabatic walk (Costa et al. 2022, constant of arXiv 2312.07690)
   plus eigenstate filtering (Lin-Tong 2020); HHL and CKS beside it. Each block-encoding query
   comes with ``b_preparations_per_query`` calls of the right-hand-side preparation U_b.
4. Output: the solution's final block (t ≥ T) at Carleman level 1 holds u(T); its share p of
   ‖Y‖² is amplified (√(1/p) rounds) or post-selected by repetition (1/p runs).
5. Readout: tomography of d entries at precision ε_tomo: d/ε² copies (or Kerenidis-Prakash), each
   a fresh upload + solve; the norm by amplitude estimation.
6. Error budget: ε over the run, divided over windows by the error growth ρ^T per window, then
   split into truncation (Carleman order N from T·N·R^N ≤ ε_tr), solver and tomography.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

import numpy as np

__all__ = [
    "MODEL_NOTE",
    "RESNET_SIZES",
    "CostSettings",
    "SweepSettings",
    "amplification",
    "block_encoding_cost",
    "carleman_order",
    "ceil_log2",
    "error_budget",
    "load_cost",
    "logical_counts",
    "measured_block_system",
    "measured_overrides",
    "qram_cost",
    "qrom_cost",
    "scalar_block_system",
    "settings_from_config",
    "solver_queries",
    "spectral_radius",
    "spectrum_moments",
    "state_preparation_cost",
    "subnormalisations",
    "tensor_nnz",
    "tomography_copies",
    "trajectory_share",
    "window_cost",
]

#: The two ResNets of the paper (100 classes): ResNet-32-4 and ResNet-56-11.
RESNET_SIZES = {"resnet32_4": 7_451_044, "resnet56_11": 103_703_700}

MODEL_NOTE = (
    "cost MODEL (SPEC 1.7, docs/cost_model.md): logical counts from stated formulas and "
    "assumptions, physical counts from qdk's resource estimator; not measurements"
)

_CHOICES: dict[str, tuple[str, ...]] = {
    "batches": ("fixed", "per_step"),
    "sparsity_premise": ("dense_support", "polylog"),
    "higher_order_nnz": ("as_hessian", "dense"),
    "data_loading": ("qrom", "qram"),
    "block_encoding": ("state_preparation", "sparse_access"),
    "solver": ("adiabatic", "cks", "hhl"),
    "trajectory": ("drift", "decaying", "stationary"),
    "amplification": ("amplitude", "repetition"),
    "readout": ("fraction", "fixed"),
    "tomography": ("sampling", "kerenidis_prakash"),
    "classical_flops": ("dense", "sparse"),
}


@dataclass(frozen=True)
class CostSettings:
    """Every assumption of the cost model; field names are the ``quantum.resources`` keys."""

    # the training run
    steps_per_window: int = 100  # T [paper: windows of 100 steps]
    total_steps: int = 400  # steps of the run; K = total_steps / T windows [paper: Fig. 2]
    epsilon: float = 0.01  # relative l2 error of the weights at the end of the run
    support_fraction: float = 0.1  # s = fraction·n weights evolved and uploaded [paper: 10%]
    learning_rate: float = 0.01  # η; every F_l carries one factor η
    map_degree: int = 3  # q: Taylor order of the GD map (F_0..F_q)
    batches: str = "fixed"  # fixed: one map per window (Eq. 6); per_step: SGD, T maps
    # dissipation and norms (defaults are assumptions; measured spectra override them)
    hessian_lambda_min: float = -1.0
    hessian_lambda_max: float = 50.0
    hessian_lambda_rms: float = 0.2  # sqrt of the mean squared Hessian eigenvalue
    gradient_norm: float = 1.0  # ‖∇L‖ at the expansion point (α of F_0 = η·this)
    higher_order_norm_ratio: float = 0.1  # ‖F_{l+1}‖_F / ‖F_l‖_F for l ≥ 1
    nonlinearity_ratio: float = 0.1  # R of SPEC §1.3 (not measurable at ResNet scale)
    carleman_order: int = 0  # N; 0 = smallest N with T·N·R^N ≤ ε_truncation
    carleman_order_max: int = 12
    condition_number_factor: float = 1.0  # multiplies κ(L) (sensitivity only; 1 = as modelled)
    # data loading and block encoding
    sparsity_premise: str = "dense_support"  # dense_support (measured) | polylog (theorem)
    hessian_density: float = 1.0  # fraction of the s² Hessian entries among kept weights ≠ 0
    higher_order_nnz: str = "as_hessian"  # F_2, F_3: as_hessian (s² each) | dense (s^{l+1})
    bits_per_entry: int = 16  # b: bits of each loaded entry / rotation angle (sign included)
    data_loading: str = "qrom"  # qrom (select-swap, counted) | qram (cost per query assumed)
    qrom_max_ancilla_qubits: float = 1.0e6  # cap on the select-swap workspace b·λ
    qram_toffolis_per_address_bit: float = 1.0  # QRAM query = this·⌈log2 N⌉ + b Toffolis
    block_encoding: str = "state_preparation"  # state_preparation (α = ‖F‖_F) | sparse_access
    entry_max_over_rms: float = 10.0  # sparse access: largest entry / rms entry
    # solver
    solver: str = "adiabatic"  # adiabatic | cks | hhl
    adiabatic_constant: float = 1.84  # walk steps = c·κ/ε_0 [arXiv 2312.07690; proven 2305]
    adiabatic_stage_error: float = 0.1  # ε_0 reached by the walk before filtering
    solver_ancilla_qubits: int = 4
    b_preparations_per_query: int = 2  # U_b calls per block-encoding query (Q_b = I − |b><b|)
    # output of a solve
    padding_factor: float = 0.0  # P = factor·T identity steps after T (ref. 30)
    trajectory: str = "drift"  # drift (u_in = 0, θ̄ = window start) | decaying | stationary
    amplification: str = "amplitude"  # amplitude amplification | repetition (1/p runs)
    # readout
    readout: str = "fraction"  # fraction: d = readout_fraction·n | fixed: d = readout_entries
    readout_fraction: float = 0.1
    readout_entries: int = 1000
    tomography: str = "sampling"  # sampling: d/ε² copies | kerenidis_prakash: 2·36·d·ln d/ε²
    # error budget (shares of the per-window budget; sum 1)
    error_share_truncation: float = 0.25
    error_share_solver: float = 0.25
    error_share_tomography: float = 0.5
    # physical layer
    qubit_models: tuple[str, ...] = ("qubit_gate_ns_e3", "qubit_gate_ns_e4")
    physical_error_budget: float = 1.0e-3  # per shot (one amplified solve and its measurement)
    parallel_quantum_computers: int = 1  # copies of the machine sharing the tomography shots
    estimator_max_direct_depth: float = 1.0e11  # above: qdk on scaled counts + extrapolation
    # classical comparator
    gpu_sustained_tflops: float = 200.0
    classical_batch: int = 2048  # [paper: 2048 samples per step]
    classical_flops: str = "dense"  # dense (what masked SGD on a GPU does) | sparse (ideal)
    hvp_cost_in_gradients: float = 2.2  # [docs/benchmarks.md: HVP / gradient on ResNet-32-4]
    include_preprocessing: bool = True  # charge the classical oracle-data computation

    def __post_init__(self) -> None:
        for name, allowed in _CHOICES.items():
            if getattr(self, name) not in allowed:
                raise ValueError(
                    f"quantum.resources.{name} must be one of {allowed}, "
                    f"got {getattr(self, name)!r}"
                )
        shares = self.error_share_truncation + self.error_share_solver
        shares += self.error_share_tomography
        if abs(shares - 1) > 1e-9:
            raise ValueError(
                "quantum.resources.error_share_{truncation,solver,tomography} must sum to 1, "
                f"got {shares:g}"
            )
        if self.total_steps < self.steps_per_window:
            raise ValueError("quantum.resources.total_steps must be >= steps_per_window")
        if not 0 < self.epsilon < 1:
            raise ValueError("quantum.resources.epsilon must be in (0, 1)")

    @property
    def windows(self) -> int:
        """K = ⌈total_steps / T⌉."""
        return math.ceil(self.total_steps / self.steps_per_window)

    def describe(self, keys: tuple[str, ...] | None = None) -> str:
        """``key=value`` pairs (all fields, or ``keys``)."""
        data = asdict(self)
        return "; ".join(f"{k}={data[k]}" for k in (keys or tuple(data)))


@dataclass(frozen=True)
class SweepSettings:
    """Grids and fit ranges of the tables and figures (also ``quantum.resources`` keys)."""

    n_min: float = 1.0e3
    n_max: float = 1.0e15
    points: int = 49
    fit_min_n: float = 1.0e6
    steps_values: tuple[int, ...] = (10, 20, 50, 100, 200, 500, 1000)
    reference_model: str = "resnet32_4"  # classical FLOPs per parameter·sample for the n sweep
    sensitivity: Mapping[str, Any] = field(default_factory=dict)
    # λ_min, λ_max from the run's Hessian spectra (pulls in the network pipeline); off: assumed
    measured_spectra: bool = False


def settings_from_config(section: Mapping[str, Any]) -> tuple[CostSettings, SweepSettings]:
    """(CostSettings, SweepSettings) from the ``quantum.resources`` config section.

    Every key belongs to exactly one of the two records; an unknown key is an error.
    """
    cost_names = {f.name for f in fields(CostSettings)}
    sweep_names = {f.name for f in fields(SweepSettings)}
    unknown = set(section) - cost_names - sweep_names
    if unknown:
        raise ValueError(f"unknown quantum.resources keys: {sorted(unknown)}")
    cost = {k: v for k, v in section.items() if k in cost_names}
    sweep = {k: v for k, v in section.items() if k in sweep_names}
    if "qubit_models" in cost:
        cost["qubit_models"] = tuple(cost["qubit_models"])
    if "steps_values" in sweep:
        sweep["steps_values"] = tuple(int(t) for t in sweep["steps_values"])
    for key in ("steps_per_window", "total_steps", "map_degree", "carleman_order"):
        if key in cost:
            cost[key] = int(cost[key])
    return CostSettings(**cost), SweepSettings(**sweep)


# --------------------------------------------------------------------------- small helpers


def ceil_log2(x: float) -> int:
    """⌈log₂ x⌉ for x ≥ 1 (exact for integers; 0 for x = 1)."""
    if x < 1:
        raise ValueError(f"need x >= 1, got {x}")
    if isinstance(x, int) or (float(x).is_integer() and x < 2**53):
        return (int(x) - 1).bit_length()
    return math.ceil(math.log2(x))


def spectral_radius(lambda_min: float, lambda_max: float, lr: float) -> float:
    """ρ(I + F_1) = max |1 − ηλ| over the Hessian spectrum [λ_min, λ_max] (F_1 = −ηH)."""
    return max(abs(1 - lr * lambda_min), abs(1 - lr * lambda_max))


def spectrum_moments(nodes: np.ndarray, weights: np.ndarray) -> dict[str, float]:
    """λ_min, λ_max and the rms eigenvalue √(Σ w λ² / Σ w) of a Ritz (SLQ) spectrum."""
    nodes = np.asarray(nodes, dtype=float)
    weights = np.asarray(weights, dtype=float)
    return {
        "hessian_lambda_min": float(nodes.min()),
        "hessian_lambda_max": float(nodes.max()),
        "hessian_lambda_rms": float(np.sqrt(np.sum(weights * nodes**2) / np.sum(weights))),
    }


def measured_overrides(
    masses=None,
    step: int | None = None,
    moments=None,
    block_table=None,
    map_name: str | None = None,
) -> dict[str, float]:
    """Settings overrides from measured quantities.

    ``masses``: a masses table of :func:`qtrain.spectra.analysis.mass_row` rows (columns
    ``lambda_min``, ``lambda_max``, optionally ``step``); the row at ``step`` (default: the
    first). ``moments``: a dict from :func:`spectrum_moments` (adds the rms eigenvalue).
    ``block_table``: a figS1/figS3 table (columns ``map``, ``R``); the map's R when finite
    (R is infinite, i.e. undefined, when ρ(I + F_1) ≥ 1).
    """
    out: dict[str, float] = {}
    if masses is not None and len(masses):
        rows = masses
        if step is not None and "step" in masses:
            rows = masses[masses["step"] == step]
            if rows.empty:
                raise ValueError(f"no masses row at step {step}")
        row = rows.iloc[0]
        out["hessian_lambda_min"] = float(row["lambda_min"])
        out["hessian_lambda_max"] = float(row["lambda_max"])
    if moments:
        out.update({k: float(v) for k, v in moments.items() if k.startswith("hessian_")})
    if block_table is not None and len(block_table) and "R" in block_table:
        rows = block_table
        if map_name is not None:
            rows = block_table[block_table["map"] == map_name]
        if len(rows) and math.isfinite(float(rows["R"].iloc[0])) and rows["R"].iloc[0] > 0:
            out["nonlinearity_ratio"] = float(rows["R"].iloc[0])
    return out


# --------------------------------------------------------------------------- data loading


def qrom_cost(entries: float, bits: int, max_ancilla: float = math.inf) -> dict[str, float]:
    """Select-swap QROM (QROAM) reading one of ``entries`` words of ``bits`` bits.

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
    qubits (address routing and the b-bit bus), the QRAM device itself not counted (neither
    its qubits nor its error); no uncompute cost beyond a second query."""
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


def tensor_nnz(n: int, s: CostSettings) -> dict[int, float]:
    """Non-zeros of F_l (l = 0..q) on the s = support_fraction·n evolved weights.

    ``dense_support``: F_0 dense (s), F_1 = −ηH dense among the kept weights
    (hessian_density·s²), F_l≥2 s² (``as_hessian``) or s^{l+1} (``dense``).
    ``polylog`` (the theorem's premise): ⌈log₂ n⌉ non-zeros per row of every F_l≥1.
    """
    sup = max(1.0, math.ceil(s.support_fraction * n))
    out = {0: sup}
    for order in range(1, s.map_degree + 1):
        if s.sparsity_premise == "polylog":
            out[order] = sup * ceil_log2(n)
        elif order == 1:
            out[order] = max(sup, s.hessian_density * sup**2)
        elif s.higher_order_nnz == "dense":
            out[order] = sup ** (order + 1)
        else:
            out[order] = max(sup, s.hessian_density * sup**2)
    return out


def subnormalisations(n: int, s: CostSettings, nnz: Mapping[int, float]) -> dict[int, float]:
    """α_l of the block encodings of F_l.

    Frobenius norms: ‖F_0‖ = η‖∇L‖, ‖F_1‖_F = η·λ_rms·√s, ‖F_{l+1}‖_F = ratio·‖F_l‖_F.
    ``state_preparation`` encodings have α = ‖F‖_F; ``sparse_access`` ones α = s_row·max|F_ij|
    with max|F_ij| = entry_max_over_rms·‖F‖_F/√nnz (Gilyén et al. 2019, Lemma 48).
    """
    sup = max(1.0, math.ceil(s.support_fraction * n))
    frob = {0: s.learning_rate * s.gradient_norm}
    frob[1] = s.learning_rate * s.hessian_lambda_rms * math.sqrt(sup)
    for order in range(2, s.map_degree + 1):
        frob[order] = frob[order - 1] * s.higher_order_norm_ratio
    if s.block_encoding == "state_preparation":
        return frob
    alpha = {0: frob[0]}
    for order in range(1, s.map_degree + 1):
        row_nnz = nnz[order] / sup
        alpha[order] = row_nnz * s.entry_max_over_rms * frob[order] / math.sqrt(nnz[order])
    return alpha


def block_encoding_cost(
    nnz: float, rows: float, s: CostSettings, dense_rows: bool = True
) -> dict[str, float]:
    """Toffolis, measurements and ancillas of ONE query to the block encoding of a matrix with
    ``nnz`` stored entries and ``rows`` rows.

    ``state_preparation`` (Clader et al., IEEE TQC 2022; Kerenidis-Prakash): U_R prepares the
    row norms (``rows`` amplitudes), U_L the rows (``nnz`` amplitudes): one state preparation
    of each. ``sparse_access``: the entry oracle twice (compute and uncompute: 2 lookups of
    ``nnz`` words), the column oracle twice unless ``dense_rows`` (lookups of ⌈log₂ rows⌉-bit
    indices; a dense row's k-th entry is column k), one b-bit controlled rotation.
    """
    if s.block_encoding == "state_preparation":
        a = state_preparation_cost(rows, s)
        b = state_preparation_cost(nnz, s)
        return {
            "toffolis": a["toffolis"] + b["toffolis"],
            "measurements": a["measurements"] + b["measurements"],
            "ancillas": max(a["ancillas"], b["ancillas"]),
        }
    entry = load_cost(nnz, s)
    tof = 2 * entry["toffolis"] + s.bits_per_entry
    meas = 2 * entry["measurements"]
    anc = entry["ancillas"]
    if not dense_rows:  # sparse rows: a column-index oracle
        col = load_cost(nnz, replace(s, bits_per_entry=max(1, ceil_log2(rows))))
        tof += 2 * col["toffolis"]
        meas += 2 * col["measurements"]
        anc = max(anc, col["ancillas"])
    return {"toffolis": tof, "measurements": meas, "ancillas": anc}


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


def _bidiagonal(c: float, steps: int, padding: int) -> tuple[np.ndarray, int]:
    dim = steps + 1 + padding
    sub = np.concatenate([np.full(steps, -c), np.full(padding, -1.0)])
    return sub, dim


@functools.lru_cache(maxsize=4096)
def scalar_block_system(c: float, steps: int, padding: int = 0) -> dict[str, float]:
    """‖L‖, ‖L⁻¹‖ and κ of the block system of ONE mode with eigenvalue c of C_N: the
    (T+1+P)-dimensional lower bidiagonal matrix with 1 on the diagonal, −c on the first T
    sub-diagonal entries and −1 on the P padding ones. For c = ρ(C_N) it is the slowest mode
    of Eq. 6: κ → (1+ρ)/(1−ρ) for ρ < 1 and ≈ 4(T+P+1)/π for ρ = 1 (SPEC §1.4; the smoke
    figS3 maps measure 8.27 and 171.7 where this gives 8.24 and 164)."""
    import scipy.linalg as sla

    sub, dim = _bidiagonal(abs(c), steps, padding)
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


def measured_block_system(
    table, steps: int, padding_factor: float, map_name: str | None = None
) -> dict[str, Any]:
    """κ(L), ‖L‖ and the final-block level-1 share at T from a measured κ-vs-T table (the figS3
    table: columns ``steps``, ``padding_factor``, ``kappa``, ``norm``, ``final_level1_share`` or
    ``final_share``, optionally ``map``). Log-log interpolation in T; outside the measured range a
    power law fitted over the upper half of T (flagged ``extrapolated``)."""
    rows = table[np.isclose(table["padding_factor"].astype(float), float(padding_factor))]
    if map_name is not None and "map" in rows:
        rows = rows[rows["map"] == map_name]
    if rows.empty:
        raise ValueError(f"no measured block systems for padding {padding_factor}, {map_name}")
    if "map" in rows and rows["map"].nunique() > 1:
        rows = rows[rows["map"] == rows["map"].iloc[0]]
    rows = rows.groupby("steps", as_index=False).mean(numeric_only=True).sort_values("steps")
    share_col = "final_level1_share" if "final_level1_share" in rows else "final_share"
    x = np.log(rows["steps"].to_numpy(float))
    out: dict[str, Any] = {
        "map": None if map_name is None else map_name,
        "extrapolated": bool(steps < rows["steps"].min() or steps > rows["steps"].max()),
        "order": int(rows["order"].iloc[0]) if "order" in rows else None,
    }
    upper = rows["steps"] >= rows["steps"].median()
    for col, key in (("kappa", "kappa"), ("norm", "norm"), (share_col, "share")):
        y = np.log(rows[col].to_numpy(float))
        if out["extrapolated"] and upper.sum() >= 2:
            slope, icpt = np.polyfit(x[upper], y[upper], 1)
            out[key] = float(np.exp(icpt + slope * math.log(steps)))
        else:
            out[key] = float(np.exp(np.interp(math.log(steps), x, y)))
    return out


# --------------------------------------------------------------------------- solver, output


def solver_queries(kappa: float, eps: float, s: CostSettings) -> dict[str, float]:
    """Block-encoding queries of one solve at effective condition number κ (= α_L·‖L⁻¹‖) and
    state error ε, for the configured solver.

    - ``adiabatic`` (Costa et al., PRX Quantum 3, 040303 (2022)): a walk of ⌈c·κ/ε_0⌉ steps
      (error ≤ c·κ/steps; c = 1.84 measured in arXiv:2312.07690, 2305 proven) to error ε_0,
      then eigenstate filtering (Lin-Tong, Quantum 4, 361 (2020)) of degree
      2⌈κ·ln(2/ε)/√2⌉, succeeding with probability (1 − ε_0)². Rotations: 2 per walk step
      (the schedule), 1 per filter phase.
    - ``cks`` (Childs-Kothari-Somma 2017, with variable-time AA): κ·ln²(κ/ε) queries, unit
      constant (a lower bound on its cost); b prepared once per AA round (≈ κ rounds).
    - ``hhl`` (Harrow-Hassidim-Lloyd 2009 with a block-encoding walk): phase estimation to
      relative precision ε/κ costs π·κ/ε queries per round, κ rounds of amplitude
      amplification: π·κ²/ε queries.
    """
    kappa = max(kappa, 1.0)
    if s.solver == "adiabatic":
        walk = math.ceil(s.adiabatic_constant * kappa / s.adiabatic_stage_error)
        filt = 2 * math.ceil(kappa * math.log(2 / eps) / math.sqrt(2))
        queries = walk + filt
        return {
            "walk_steps": float(walk),
            "filter_degree": float(filt),
            "queries": float(queries),
            "b_calls": float(s.b_preparations_per_query * queries),
            "rotations": float(2 * walk + filt),
            "success_probability": (1 - s.adiabatic_stage_error) ** 2,
        }
    rounds = math.ceil(kappa)
    if s.solver == "cks":
        queries = math.ceil(kappa * math.log(max(kappa / eps, math.e)) ** 2)
    else:
        queries = math.ceil(math.pi * kappa**2 / eps)
    return {
        "walk_steps": 0.0,
        "filter_degree": 0.0,
        "queries": float(queries),
        "b_calls": float(2 * rounds + 1),
        "rotations": float(2 * rounds + 1),
        "success_probability": 1.0,
    }


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


def tomography_copies(d: float, eps: float, method: str) -> float:
    """Copies of the output state for d entries at relative l2 precision ε: ``sampling`` d/ε²
    (both stages together; the project measured the error √(d/(4N)) per stage, figS5),
    ``kerenidis_prakash`` 2·36·d·ln d/ε² (magnitude and sign stages, arXiv:1808.09266)."""
    if method == "kerenidis_prakash":
        return 2 * 36 * d * math.log(max(d, 2.0)) / eps**2
    return d / eps**2


def error_budget(s: CostSettings, growth: float) -> dict[str, float]:
    """Per-window budget ε_w = ε / Σ_{k<K} G^k (an error made in window k is multiplied by
    G = ρ(I + F_1)^T in each later window), split into truncation, solver and tomography."""
    k = s.windows
    amplification_sum = float(sum(growth**j for j in range(k)))
    per_window = s.epsilon / amplification_sum
    return {
        "error_growth_per_window": growth,
        "error_amplification_sum": amplification_sum,
        "epsilon_window": per_window,
        "epsilon_truncation": s.error_share_truncation * per_window,
        "epsilon_solver": s.error_share_solver * per_window,
        "epsilon_tomography": s.error_share_tomography * per_window,
    }


# --------------------------------------------------------------------------- the algorithm


def _premise_note(rho: float, s: CostSettings) -> str:
    if rho < 1:
        return "dissipative premise holds: rho(I+F_1) < 1"
    if s.hessian_lambda_min < 0:
        return (
            f"dissipative premise FAILS: Hessian lambda_min = {s.hessian_lambda_min:.3g} < 0 "
            f"gives rho(I+F_1) = {rho:.4g} > 1 (divergent modes); kappa and the share are those "
            f"of the growing mode, R = {s.nonlinearity_ratio:g} is an assumption"
        )
    return (
        f"dissipative premise FAILS: rho(I+F_1) = {rho:.4g} >= 1 "
        f"(eta*lambda_max = {s.learning_rate * s.hessian_lambda_max:.3g})"
    )


def window_cost(n: int, s: CostSettings, block_table=None, map_name: str | None = None) -> dict:
    """Logical cost of one window and of the whole run (K windows) for n parameters.

    ``block_table``: a measured κ-vs-T table (figS3 columns, see
    :func:`measured_block_system`); when given, κ(L), ‖L‖ and the final-block share come from
    it, otherwise from the scalar model of the slowest mode (:func:`scalar_block_system`,
    :func:`trajectory_share`). Returns a flat dict (one table row).
    """
    if n < 2:
        raise ValueError(f"need n >= 2, got {n}")
    T = s.steps_per_window
    P = round(s.padding_factor * T)
    m = ceil_log2(n)
    sup = max(1.0, math.ceil(s.support_fraction * n))
    rho1 = spectral_radius(s.hessian_lambda_min, s.hessian_lambda_max, s.learning_rate)
    budget = error_budget(s, rho1**T)

    # Carleman order
    if s.map_degree == 1:
        order, trunc_bound, bound_met = 1, 0.0, True
    elif s.carleman_order > 0:
        order = s.carleman_order
        r = s.nonlinearity_ratio
        trunc_bound = T * order * r**order if r < 1 else math.inf
        bound_met = trunc_bound <= budget["epsilon_truncation"]
    else:
        order, trunc_bound, bound_met = carleman_order(
            s.nonlinearity_ratio, T, budget["epsilon_truncation"], s.carleman_order_max
        )
    active = [lv for lv in range(1, min(s.map_degree, order) + 1)]

    # data and subnormalisation
    nnz = tensor_nnz(n, s)
    maps = T if s.batches == "per_step" else 1
    alpha = subnormalisations(n, s, nnz)
    alpha_row = alpha[0] + 1 + sum(alpha[lv] for lv in active)
    alpha_c = alpha_row**order
    alpha_l = 1 + alpha_c

    # κ and the final share
    rho_c = max(rho1, rho1**order)
    if block_table is not None:
        meas = measured_block_system(block_table, T, s.padding_factor, map_name)
        norm_l, kappa_l, share = meas["norm"], meas["kappa"], meas["share"]
        inv_norm = kappa_l / norm_l
        kappa_source = (
            f"measured table ({meas['map'] or 'first map'}"
            f"{', Carleman order ' + str(meas['order']) if meas['order'] else ''}"
            f"{', extrapolated in T' if meas['extrapolated'] else ''})"
        )
        level1 = 1.0
    else:
        sys = scalar_block_system(round(rho_c, 12), T, P)
        norm_l, inv_norm, kappa_l = sys["norm"], sys["inverse_norm"], sys["kappa"]
        share = trajectory_share(rho1, T, P, s.trajectory)
        level1 = 1 / order  # levels of equal norm after rescaling u (docs/cost_model.md)
        kappa_source = "scalar model of the slowest mode"
    inv_norm *= s.condition_number_factor
    kappa_l *= s.condition_number_factor
    kappa_eff = alpha_l * inv_norm
    p_output = share * level1

    # solver at the state precision the post-selection needs
    eps_state = budget["epsilon_solver"] * math.sqrt(max(p_output, 1e-300))
    q = solver_queries(kappa_eff, eps_state, s)
    p_success = p_output * q["success_probability"]
    amp = amplification(p_success, s.amplification)

    # one query of the block encoding of L and one call of U_b
    clock = ceil_log2(T + 1 + P)
    level_q = max(1, ceil_log2(order))
    dense_rows = s.sparsity_premise == "dense_support"
    be = [block_encoding_cost(nnz[lv] * maps, sup * maps, s, dense_rows) for lv in active]
    f0 = state_preparation_cost(nnz[0] * maps, s)
    be_tof = sum(c["toffolis"] for c in be)
    query_tof = 2 * clock + order * (be_tof + f0["toffolis"])
    query_meas = order * (sum(c["measurements"] for c in be) + f0["measurements"])
    bprep_tof = order * f0["toffolis"] + 2 * clock
    bprep_meas = order * f0["measurements"]
    bprep_rot = level_q + 1

    solve_tof = q["queries"] * query_tof + q["b_calls"] * bprep_tof
    solve_meas = q["queries"] * query_meas + q["b_calls"] * bprep_meas
    solve_rot = q["rotations"] + q["b_calls"] * bprep_rot
    shot_tof = amp["solves_per_shot"] * solve_tof
    shot_meas = amp["solves_per_shot"] * solve_meas + m
    shot_rot = amp["solves_per_shot"] * solve_rot

    # readout
    d = min(
        float(n),
        math.ceil(s.readout_fraction * n) if s.readout == "fraction" else float(s.readout_entries),
    )
    copies = tomography_copies(d, budget["epsilon_tomography"], s.tomography)
    norm_solves = math.ceil(math.pi / (budget["epsilon_tomography"] * math.sqrt(p_success)))
    shots = copies * amp["shots_per_output"]
    solve_equivalents = shots * amp["solves_per_shot"] + norm_solves

    # qubits
    qubits_data = clock + level_q + order * m
    qubits_encoding = m + order * ceil_log2(s.map_degree + 2) + 2
    anc = [c["ancillas"] for c in be] + [f0["ancillas"]]
    qubits_lookup = max(anc)
    qubits_arith = 2 * s.bits_per_entry + clock
    qubits_solver = s.solver_ancilla_qubits + 1
    qubits = qubits_data + qubits_encoding + qubits_lookup + qubits_arith + qubits_solver

    # classical preprocessing of the oracle data, in gradient evaluations
    pre = 1.0 + sum(nnz[lv] / sup * s.hvp_cost_in_gradients**lv for lv in active)
    pre *= maps

    K = s.windows
    row: dict[str, Any] = {
        "n": int(n),
        "param_qubits": m,
        "support": sup,
        "T": T,
        "padding": P,
        "windows": K,
        "total_steps": s.total_steps,
        "readout_entries": d,
        "rho": rho1,
        "rho_carleman": rho_c,
        "dissipative_premise": bool(rho1 < 1),
        "premise_note": _premise_note(rho1, s),
        **budget,
        "carleman_order": order,
        "truncation_bound": trunc_bound,
        "truncation_bound_met": bool(bound_met),
        "nonlinearity_ratio": s.nonlinearity_ratio,
        "nnz_F1": nnz.get(1, 0.0) * maps,
        "nnz_F2": nnz.get(2, 0.0) * maps if 2 in active else 0.0,
        "nnz_F3": nnz.get(3, 0.0) * maps if 3 in active else 0.0,
        "alpha_F1": alpha.get(1, 0.0),
        "alpha_row": alpha_row,
        "alpha_L": alpha_l,
        "norm_L": norm_l,
        "kappa_L": kappa_l,
        "kappa_effective": kappa_eff,
        "kappa_source": kappa_source,
        "final_share": share,
        "level1_share": level1,
        "output_probability": p_success,
        "solver": s.solver,
        "epsilon_state": eps_state,
        **{f"solver_{k}": v for k, v in q.items()},
        "aa_rounds": amp["rounds"],
        "solves_per_shot": amp["solves_per_shot"],
        "toffolis_per_query": query_tof,
        "toffolis_per_b_preparation": bprep_tof,
        "toffolis_per_solve": solve_tof,
        "toffolis_per_shot": shot_tof,
        "rotations_per_shot": shot_rot,
        "measurements_per_shot": shot_meas,
        "tomography_copies": copies,
        "norm_estimation_solves": float(norm_solves),
        "shots_per_window": shots,
        "solve_equivalents_per_window": solve_equivalents,
        "shot_equivalents_per_window": solve_equivalents / amp["solves_per_shot"],
        "qubits_data": qubits_data,
        "qubits_encoding": qubits_encoding,
        "qubits_lookup": qubits_lookup,
        "qubits_arithmetic": qubits_arith,
        "qubits_solver": qubits_solver,
        "logical_qubits": qubits,
        "toffolis_window": solve_equivalents * solve_tof,
        "rotations_window": solve_equivalents * solve_rot,
        "measurements_window": solve_equivalents * solve_meas,
        "toffolis_run": K * solve_equivalents * solve_tof,
        "rotations_run": K * solve_equivalents * solve_rot,
        "measurements_run": K * solve_equivalents * solve_meas,
        "preprocessing_gradients_window": pre,
        "preprocessing_gradients_run": K * pre,
        "kind": "model",
    }
    return row


def logical_counts(row: Mapping[str, Any]) -> dict[str, float]:
    """qdk ``LogicalCounts`` fields of ONE shot (one amplified solve and its measurement): every
    Toffoli as a CCZ, arbitrary rotations sequential (depth = count), no bare T gates."""
    return {
        "numQubits": float(row["logical_qubits"]),
        "tCount": 0.0,
        "rotationCount": float(row["rotations_per_shot"]),
        "rotationDepth": float(row["rotations_per_shot"]),
        "cczCount": float(row["toffolis_per_shot"]),
        "ccixCount": 0.0,
        "measurementCount": float(row["measurements_per_shot"]),
    }
