"""The cost model's assumptions: one record per config section, the two scenarios, measured inputs.

:class:`CostSettings` has one field per assumption of ``quantum.resources`` (plus
``window_space``, which follows ``sparse_train.window_space``: the priced algorithm is the
simulated one). :class:`SweepSettings` holds the grids of the tables and the scenario
definitions. Two scenarios are priced side by side (SPEC §1.7):

- ``base``: the configured assumptions, which describe the paper's procedure on its ResNets
  (a dense Hessian among the evolved weights, the measured or assumed spectrum, a download of
  10% of n, counted QROM data loading);
- ``favourable``: every assumption at its quantum-friendly end at once, the overrides of
  ``quantum.resources.favourable`` (the bound that can refute C14, after Hoefler, Häner and
  Troyer, CACM 66(5), 2023).

:data:`THEOREM_PREMISE` is the premise of the paper's theorems (C11's first row).
Nothing here is a measurement except what :func:`measured_overrides` takes from a spectrum.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

import numpy as np

from qtrain.paper import KEEP_FRACTION

__all__ = [
    "FAVOURABLE",
    "FAVOURABLE_VARIANTS",
    "MODEL_NOTE",
    "SCENARIOS",
    "THEOREM_PREMISE",
    "CostSettings",
    "SweepSettings",
    "apply_overrides",
    "measured_overrides",
    "scenario_settings",
    "settings_from_config",
    "spectral_radius",
    "spectrum_moments",
]

MODEL_NOTE = (
    "cost MODEL (SPEC 1.7, docs/cost_model.md): logical counts from stated formulas and "
    "assumptions, physical counts from qdk's resource estimator; not measurements"
)

#: The two scenarios every table prices: the configured base and the favourable bound.
SCENARIOS = ("base", "favourable")

#: The premise of the paper's theorems (C11, first row): polylog non-zeros per row reached by
#: sparse-access oracles at polylog cost per query (the theorems count queries, so data access
#: is the QRAM model), a fixed read-out of d entries, no divergent modes (λ_min ≥ 0).
THEOREM_PREMISE: dict[str, Any] = {
    "sparsity_premise": "polylog",
    "block_encoding": "sparse_access",
    "data_loading": "qram",
    "readout": "fixed",
    "hessian_lambda_min": 0.0,
}

#: The favourable bound of the paper preset (config.yaml ``quantum.resources.favourable``;
#: tests/test_costs_window.py checks they agree): SPEC §1.7's list, written down before it was
#: computed. ``qubit_model`` is its headline (fast) qubit model.
FAVOURABLE: dict[str, Any] = {
    "hessian_lambda_min": 0.0,
    "sparsity_premise": "polylog",
    "block_encoding": "sparse_access",
    "entry_max_over_rms": 1.0,
    "readout": "fixed",
    "readout_entries": 10,
    "window_space": "support",
    "data_loading": "qram",
    "qram_toffolis_per_address_bit": 0.0,
    "tomography": "linf_then_l2",
    "hessian_lambda_rms": 0.05,
    "oracle_data": "cheapest",
    "qubit_model": "qubit_gate_ns_e4",
    "gpu_sustained_tflops": 50.0,
}
#: Its plausible variants, one at a time (C14's noise), as in config.yaml.
FAVOURABLE_VARIANTS: dict[str, list[Any]] = {
    "readout_entries": [1, 100],
    "hessian_lambda_rms": [0.2],
    "entry_max_over_rms": [10.0],
    "qram_toffolis_per_address_bit": [1.0],
    "gpu_sustained_tflops": [200.0],
    "hessian_lambda_min": [0.5],
    "epsilon": [0.1],
    "hvp_cost_in_gradients": [2.0],
    "map_degree": [2],
    "qubit_model": ["qubit_gate_ns_e3"],
    "adiabatic_constant": [2305.0],
}

_CHOICES: dict[str, tuple[str, ...]] = {
    "window_space": ("all", "support"),
    "batches": ("fixed", "per_step"),
    "sparsity_premise": ("dense_support", "polylog"),
    "higher_order_nnz": ("as_hessian", "dense"),
    "data_loading": ("qrom", "qram"),
    "block_encoding": ("state_preparation", "sparse_access"),
    "oracle_data": ("classical", "coherent", "cheapest"),
    "solver": ("adiabatic", "cks", "hhl"),
    "trajectory": ("drift", "decaying", "stationary"),
    "amplification": ("amplitude", "repetition"),
    "readout": ("fraction", "fixed"),
    "tomography": ("sampling", "kerenidis_prakash", "heisenberg", "linf_then_l2"),
    "classical_flops": ("dense", "sparse"),
}
_SHARES = ("truncation", "solver", "tomography", "physical")


@dataclass(frozen=True)
class CostSettings:
    """Every assumption of the cost model; field names are the ``quantum.resources`` keys
    (``window_space`` is ``sparse_train.window_space``)."""

    # the training run
    steps_per_window: int = 100  # T [paper: windows of 100 steps]
    total_steps: int = 400  # K = total_steps / T windows [paper: Fig. 2]
    epsilon: float = 0.01  # relative l2 error of each window's increment u(T) = θ(end) − θ̄
    window_space: str = "all"  # all: a window evolves every weight (s = n) | support: s = f·n
    support_fraction: float = KEEP_FRACTION  # s = fraction·n with support-only windows [paper: 10%]
    learning_rate: float = 0.01  # η; every F_l carries one factor η
    map_degree: int = 3  # q: Taylor order of the GD map (F_0..F_q)
    batches: str = "fixed"  # fixed: one map per window (Eq. 6); per_step: SGD, T maps
    # dissipation and norms (defaults are assumptions; measured spectra override them)
    hessian_lambda_min: float = -1.0
    hessian_lambda_max: float = 50.0
    hessian_lambda_rms: float = 0.2  # sqrt of the mean squared Hessian eigenvalue
    gradient_norm: float = 1.0  # ‖∇L‖ at the expansion point (α of F_0 = η·this)
    higher_order_norm_ratio: float = 0.1  # ‖F_{l+1}‖_F / ‖F_l‖_F for l ≥ 1
    nonlinearity_ratio: float = 0.1  # R of SPEC §1.3; used only where R is defined
    carleman_order: int = 0  # N; 0 = from R where defined, else N = q
    carleman_order_max: int = 12
    condition_number_factor: float = 1.0  # multiplies κ(L) (sensitivity only; 1 = as modelled)
    # data loading, block encoding and the oracle data
    sparsity_premise: str = "dense_support"  # dense_support (measured) | polylog (theorem)
    hessian_density: float = 1.0  # fraction of the s² Hessian entries among evolved weights ≠ 0
    higher_order_nnz: str = "as_hessian"  # F_2, F_3: as_hessian (s² each) | dense (s^{l+1})
    bits_per_entry: int = 16  # b: bits of each loaded entry / rotation angle (sign included)
    data_loading: str = "qrom"  # qrom (select-swap, counted) | qram (cost per query assumed)
    qrom_max_ancilla_qubits: float = 1.0e6  # cap on the select-swap workspace b·λ
    qram_toffolis_per_address_bit: float = 1.0  # QRAM query = this·⌈log2 N⌉ + b Toffolis
    block_encoding: str = "state_preparation"  # state_preparation (α = ‖F‖_F) | sparse_access
    entry_max_over_rms: float = 10.0  # sparse access: largest entry / rms entry
    oracle_data: str = "classical"  # F_l computed classically | coherent (reversible network)
    coherent_oracle_bits: int = 16  # bits of the reversible arithmetic (b² + b per mult-add)
    hvp_cost_in_gradients: float = 2.2  # [docs/benchmarks.md: HVP / gradient on ResNet-32-4]
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
    tomography: str = "sampling"  # sampling | kerenidis_prakash | heisenberg | linf_then_l2
    heisenberg_constant: float = 1.0  # constant of the Õ(d/ε) and Õ(log d/ε) uses (logs = 1)
    # error budget (shares of ε per window; sum 1)
    error_share_truncation: float = 0.25
    error_share_solver: float = 0.25
    error_share_tomography: float = 0.4
    error_share_physical: float = 0.1  # logical failures: per-shot budget (share·ε)²/2
    # physical layer
    qubit_models: tuple[str, ...] = ("qubit_gate_ns_e3", "qubit_gate_ns_e4")
    parallel_quantum_computers: int = 1  # copies of the machine sharing the tomography shots
    estimator_max_direct_depth: float = 1.0e11  # above: qdk on scaled counts + extrapolation
    # classical comparator
    gpu_sustained_tflops: float = 200.0
    classical_batch: int = 2048  # [paper: 2048 samples per step]
    classical_flops: str = "dense"  # dense (what masked SGD on a GPU does) | sparse (ideal)

    def __post_init__(self) -> None:
        for name, allowed in _CHOICES.items():
            if getattr(self, name) not in allowed:
                raise ValueError(
                    f"quantum.resources.{name} must be one of {allowed}, "
                    f"got {getattr(self, name)!r}"
                )
        shares = sum(getattr(self, f"error_share_{k}") for k in _SHARES)
        if abs(shares - 1) > 1e-9:
            raise ValueError(
                "quantum.resources.error_share_{truncation,solver,tomography,physical} must "
                f"sum to 1, got {shares:g}"
            )
        if self.total_steps < self.steps_per_window:
            raise ValueError("quantum.resources.total_steps must be >= steps_per_window")
        if not 0 < self.epsilon < 1:
            raise ValueError("quantum.resources.epsilon must be in (0, 1)")

    @property
    def windows(self) -> int:
        """K = ⌈total_steps / T⌉."""
        return math.ceil(self.total_steps / self.steps_per_window)

    def support(self, n: int) -> float:
        """s, the weights a window evolves: n (``window_space: all``) or ⌈fraction·n⌉."""
        if self.window_space == "all":
            return float(n)
        return max(1.0, math.ceil(self.support_fraction * n))

    def describe(self, keys: tuple[str, ...] | None = None) -> str:
        """``key=value`` pairs (all fields, or ``keys``)."""
        data = asdict(self)
        return "; ".join(f"{k}={data[k]}" for k in (keys or tuple(data)))


@dataclass(frozen=True)
class SweepSettings:
    """Grids, scenarios and fit ranges of the tables and figures (``quantum.resources`` keys)."""

    n_min: float = 1.0e3
    n_max: float = 1.0e15
    points: int = 49
    fit_min_n: float = 1.0e6
    steps_values: tuple[int, ...] = (10, 20, 50, 100, 200, 500, 1000)
    reference_model: str = "resnet32_4"  # classical FLOPs per parameter·sample for the n sweep
    sensitivity: Mapping[str, Any] = field(default_factory=dict)
    # auto: the run's spectrum when the network pipeline is part of the targets; true; false
    measured_spectra: Any = "auto"
    # the favourable bound: overrides of CostSettings (and ``qubit_model``, its headline model)
    favourable: Mapping[str, Any] = field(default_factory=lambda: dict(FAVOURABLE))
    # plausible variants of the favourable bound (C14's noise): key → values
    favourable_variants: Mapping[str, Any] = field(
        default_factory=lambda: dict(FAVOURABLE_VARIANTS)
    )


def _coerce(cost: dict[str, Any]) -> dict[str, Any]:
    if "qubit_models" in cost:
        cost["qubit_models"] = tuple(cost["qubit_models"])
    for key in (
        "steps_per_window",
        "total_steps",
        "map_degree",
        "carleman_order",
        "readout_entries",
        "bits_per_entry",
        "coherent_oracle_bits",
    ):
        if key in cost:
            cost[key] = int(cost[key])
    return cost


def settings_from_config(
    section: Mapping[str, Any], window_space: str | None = None
) -> tuple[CostSettings, SweepSettings]:
    """(CostSettings, SweepSettings) from the ``quantum.resources`` config section and
    ``sparse_train.window_space`` (the priced support follows it). Every key belongs to exactly
    one of the two records; an unknown key is an error naming it."""
    cost_names = {f.name for f in fields(CostSettings)} - {"window_space"}
    sweep_names = {f.name for f in fields(SweepSettings)}
    unknown = set(section) - cost_names - sweep_names
    if unknown:
        raise ValueError(f"unknown quantum.resources keys: {sorted(unknown)}")
    cost = _coerce({k: v for k, v in section.items() if k in cost_names})
    if window_space is not None:
        cost["window_space"] = window_space
    sweep = {k: v for k, v in section.items() if k in sweep_names}
    if "steps_values" in sweep:
        sweep["steps_values"] = tuple(int(t) for t in sweep["steps_values"])
    sweep_settings = SweepSettings(**sweep)
    base = CostSettings(**cost)
    _check_overrides(sweep_settings.favourable, "favourable")
    for key in sweep_settings.favourable_variants:
        _check_overrides({key: None}, "favourable_variants")
    scenario_settings(base, sweep_settings, "favourable")  # fails early on a bad value
    return base, sweep_settings


def _check_overrides(overrides: Mapping[str, Any], where: str) -> None:
    names = {f.name for f in fields(CostSettings)} | {"qubit_model"}
    unknown = set(overrides) - names
    if unknown:
        raise ValueError(f"quantum.resources.{where}: unknown keys {sorted(unknown)}")


def apply_overrides(s: CostSettings, overrides: Mapping[str, Any]) -> CostSettings:
    """``s`` with ``overrides`` (CostSettings keys; ``qubit_model`` puts that model first)."""
    change = _coerce({k: v for k, v in overrides.items() if k != "qubit_model"})
    out = replace(s, **change)
    if "qubit_model" in overrides:
        model = str(overrides["qubit_model"])
        rest = tuple(m for m in out.qubit_models if m != model)
        out = replace(out, qubit_models=(model, *rest))
    return out


#: Measured settings the favourable bound keeps when they are friendlier than its override.
_FRIENDLIER = {"hessian_lambda_min": max, "hessian_lambda_rms": min}


def scenario_settings(
    base: CostSettings,
    sweep: SweepSettings,
    scenario: str,
    measured: Mapping[str, Any] | None = None,
) -> CostSettings:
    """The settings of ``scenario``: ``base`` as configured with the ``measured`` values,
    ``favourable`` with the favourable overrides on top (a measured λ_min or λ_rms stays where
    it is friendlier to quantum than the override). The first qubit model is the scenario's
    headline model."""
    measured = dict(measured or {})
    with_measured = apply_overrides(base, measured)
    if scenario == "base":
        return with_measured
    if scenario == "favourable":
        fav = dict(sweep.favourable)
        for key, pick in _FRIENDLIER.items():
            if key in measured and key in fav:
                fav[key] = pick(float(measured[key]), float(fav[key]))
        return apply_overrides(with_measured, fav)
    raise ValueError(f"scenario must be one of {SCENARIOS}, got {scenario!r}")


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

    ``masses``: a masses table (columns ``lambda_min``, ``lambda_max``, optionally ``step``);
    the row at ``step`` (default: the first). ``moments``: a dict from
    :func:`spectrum_moments` (adds the rms eigenvalue). ``block_table``: a figS1/figS3 table
    (columns ``map``, ``R``); the map's R when finite (R is undefined when ρ(I + F_1) ≥ 1).
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
