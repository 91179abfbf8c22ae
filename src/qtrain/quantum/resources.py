"""Resource *models* of SPEC §1.7: qubits, sparsity, κ, solver queries, upload, download, vs GD.

Everything here is a cost model evaluated from formulas under stated assumptions, not a
measurement; every frame says so in its ``kind`` column (``"model"``), its ``assumptions`` column
and ``DataFrame.attrs["note"]``. Formulas (n parameters, T steps, Carleman order N, polynomial
degree q, precision ε):

- parameter register ``⌈log₂ n⌉`` qubits (23 and 27 for the 7,451,044- and 103,703,700-parameter
  ResNets); Carleman dimension ``Δ = Σ_{j≤N} n^j``; block system ``D = (T+1)·Δ``;
  system qubits ``⌈log₂ D⌉`` + 1 for the Hermitian dilation; clock ``⌈log₂(κ/ε)⌉ + 1`` (signed);
  one flag qubit;
- sparsity: if every F_l has at most s_F non-zeros per row and per column (F_0 included), a block
  row of C_N is a sum of Kronecker products of ≤ N factors, each from q+1 choices of at most
  s_F + 1 non-zeros, so ``s(L) ≤ 1 + ((q+1)(s_F+1))^N`` (a crude upper bound);
- κ(L): fully dissipative ``(1+‖C‖)/(1−‖C‖)`` (independent of T), almost dissipative ``2(T+1)``;
- solver queries (sparse-access oracles of L): HHL ``log₂D·s²κ²/ε``; Childs-Kothari-Somma
  ``s·κ·log₂(sκ/ε)^p`` (p = 2); optimal discrete-adiabatic ``c·κ_be·ln(1/ε)`` with
  ``κ_be = s·κ`` (the block encoding built from sparse access is subnormalized by
  ``s·max|L_ij| ≤ s‖L‖``), c = 1.84 (measured, arXiv:2312.07690) and c = 2305 (proven, Costa et
  al. PRX Quantum 2022);
- gates per query: ``g·⌈log₂ D⌉`` with g = 1 (one sparse-access oracle call; an optimistic
  assumption: arithmetic on the indices of a structured L, no QRAM for its entries);
- upload: ``N`` sparse state preparations of the s_in-sparse input, ``8·s_in·⌈log₂ n⌉ + 2·s_in``
  CX each (:func:`qtrain.quantum.upload.upload_cost_model`);
- download: d/ε² samples (tomography model) or ``36·d·ln d/ε²`` (Kerenidis-Prakash ℓ2, δ = ε);
  each sample needs one fresh solve and succeeds with probability
  ``P(final block)·P(first level)`` (no amplification of these two post-selections);
- classical GD: T gradient evaluations of ``n·batch`` parameter-operations each, ``n·T·batch``.

Quantum total per window = samples/(P_block·P_level) × (queries·gates_per_query + upload).
With a readout of d ∝ n entries both totals are linear in n, and the quantum one carries the
1/ε² tomography factor: the polylog advantage needs d ≪ n (see :func:`crossover_n`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace

import numpy as np
import pandas as pd

from qtrain.quantum.upload import upload_cost_model

__all__ = [
    "RESNET_SIZES",
    "CostAssumptions",
    "block_dimension",
    "carleman_dimension",
    "ceil_log2",
    "classical_gd_cost",
    "crossover_n",
    "kappa_model",
    "query_costs",
    "resnet_table",
    "resource_row",
    "resource_table",
    "sparsity_model",
    "tomography_samples",
]

#: The two ResNets of the paper: ResNet-32-4 and ResNet-56-11 with 100 classes.
RESNET_SIZES = {"resnet32_4": 7_451_044, "resnet56_11": 103_703_700}

MODEL_NOTE = (
    "cost MODELS of SPEC 1.7 evaluated from asymptotic formulas with stated constants; "
    "not measurements"
)


@dataclass(frozen=True)
class CostAssumptions:
    """Constants and choices behind the cost models; stored with every output row."""

    carleman_order: int = 2  # N
    degree: int = 2  # q, polynomial degree of the GD map
    sparsity_f: int | None = None  # s_F; None: ⌈log₂ n⌉ (polylog sparsity, the paper's setting)
    regime: str = "almost"  # "full" (fully dissipative) or "almost" (almost dissipative)
    carleman_norm: float = 0.9  # ‖C_N‖ < 1 in the fully dissipative regime
    final_block_weight: float = 0.5  # P(final block), identity padding after T (ref. 30)
    first_level_weight: float = 1.0  # P(first Carleman level) of the solution state
    readout_fraction: float = 0.1  # d = ⌈fraction·n⌉ entries read out (top-10% sparse download)
    readout_entries: int | None = None  # fixed d, overrides readout_fraction
    upload_fraction: float = 0.1  # s_in = ⌈fraction·n⌉ non-zeros uploaded
    upload_entries: int | None = None  # fixed s_in, overrides upload_fraction
    solver: str = "optimal"  # solver used in the totals: "hhl", "cks", "optimal"
    tomography: str = "model"  # "model" (d/ε²) or "kp" (36·d·ln d/ε²)
    cks_polylog_power: float = 2.0
    optimal_constant: float = 1.84
    optimal_constant_proven: float = 2305.0
    oracle_gates_per_log2d: float = 1.0  # g: gates per oracle query = g·⌈log₂ D⌉
    batch: int = 1  # classical: parameter-operations per gradient = n·batch

    def describe(self) -> str:
        """One-line ``key=value`` description."""
        return "; ".join(f"{k}={v}" for k, v in asdict(self).items())


def ceil_log2(x: int | float) -> int:
    """``⌈log₂ x⌉`` for x ≥ 1 (exact for Python ints)."""
    if x < 1:
        raise ValueError(f"need x >= 1, got {x}")
    if isinstance(x, int):
        return (x - 1).bit_length()
    return math.ceil(math.log2(x))


def carleman_dimension(n: int, order: int) -> int:
    """``Δ = Σ_{j=1..N} n^j`` (exact integer)."""
    return sum(n**j for j in range(1, order + 1))


def block_dimension(n: int, order: int, steps: int) -> int:
    """``(T+1)·Δ``, the dimension of the block system L."""
    return (steps + 1) * carleman_dimension(n, order)


def sparsity_model(sparsity_f: int, degree: int, order: int) -> int:
    """Upper bound ``1 + ((q+1)(s_F+1))^N`` on the row/column sparsity of L."""
    return 1 + ((degree + 1) * (sparsity_f + 1)) ** order


def kappa_model(steps: int, regime: str, carleman_norm: float = 0.9) -> float:
    """κ(L) bound: ``(1+‖C‖)/(1−‖C‖)`` (fully dissipative) or ``2(T+1)`` (almost dissipative)."""
    if regime == "full":
        if not 0 <= carleman_norm < 1:
            raise ValueError("fully dissipative needs 0 <= carleman_norm < 1")
        return (1 + carleman_norm) / (1 - carleman_norm)
    if regime == "almost":
        return 2.0 * (steps + 1)
    raise ValueError(f"regime must be 'full' or 'almost', got {regime!r}")


def query_costs(
    dim: float, sparsity: float, kappa: float, eps: float, a: CostAssumptions | None = None
) -> dict[str, float]:
    """Oracle queries of the HHL, Childs-Kothari-Somma and optimal (κ_be = s·κ) solvers."""
    a = a or CostAssumptions()
    log_d = math.log2(dim)
    kappa_be = sparsity * kappa
    return {
        "queries_hhl": log_d * sparsity**2 * kappa**2 / eps,
        "queries_cks": sparsity * kappa * math.log2(sparsity * kappa / eps) ** a.cks_polylog_power,
        "queries_optimal": a.optimal_constant * kappa_be * math.log(1 / eps),
        "queries_optimal_proven": a.optimal_constant_proven * kappa_be * math.log(1 / eps),
    }


def tomography_samples(d: int, eps: float) -> dict[str, float]:
    """Download samples: ``d/ε²`` (model) and Kerenidis-Prakash ``36·d·ln d/ε²``."""
    return {
        "tomography_samples_model": d / eps**2,
        "tomography_samples_kp": 36 * d * math.log(max(d, 2)) / eps**2,
    }


def classical_gd_cost(n: int, steps: int, batch: int = 1) -> dict[str, float]:
    """T gradient evaluations of ``n·batch`` parameter-operations each."""
    return {"classical_gradients": float(steps), "classical_ops": float(n) * steps * batch}


def resource_row(n: int, steps: int, eps: float, a: CostAssumptions | None = None) -> dict:
    """All model quantities for one (n, T, ε) under the assumptions ``a``."""
    a = a or CostAssumptions()
    if n < 2 or steps < 1 or not 0 < eps < 1:
        raise ValueError(f"need n >= 2, T >= 1, 0 < eps < 1, got {n}, {steps}, {eps}")
    order = a.carleman_order
    s_f = a.sparsity_f if a.sparsity_f is not None else ceil_log2(n)
    delta = carleman_dimension(n, order)
    dim = (steps + 1) * delta
    s_l = sparsity_model(s_f, a.degree, order)
    kappa = kappa_model(steps, a.regime, a.carleman_norm)
    param_q = ceil_log2(n)
    sys_q = ceil_log2(dim) + 1  # + dilation
    clock_q = ceil_log2(max(kappa / eps, 1.0)) + 1
    queries = query_costs(dim, s_l, kappa, eps, a)
    d = a.readout_entries if a.readout_entries is not None else math.ceil(a.readout_fraction * n)
    s_in = a.upload_entries if a.upload_entries is not None else math.ceil(a.upload_fraction * n)
    tomo = tomography_samples(d, eps)
    upload = order * upload_cost_model(s_in, n)
    gates_per_query = a.oracle_gates_per_log2d * ceil_log2(dim)
    solver_gates = queries[f"queries_{a.solver}"] * gates_per_query
    samples = tomo["tomography_samples_kp" if a.tomography == "kp" else "tomography_samples_model"]
    runs = samples / (a.final_block_weight * a.first_level_weight)
    classical = classical_gd_cost(n, steps, a.batch)
    return {
        "n": n,
        "T": steps,
        "eps": eps,
        "N": order,
        "q": a.degree,
        "regime": a.regime,
        "param_qubits": param_q,
        "carleman_dim": float(delta),
        "block_dim": float(dim),
        "log2_block_dim": math.log2(dim),
        "system_qubits": sys_q,
        "clock_qubits": clock_q,
        "total_qubits": sys_q + clock_q + 1,
        "sparsity_f": s_f,
        "sparsity_L": float(s_l),
        "kappa": kappa,
        "kappa_block_encoding": s_l * kappa,
        **queries,
        "gates_per_query": gates_per_query,
        "readout_entries": d,
        **tomo,
        "upload_entries": s_in,
        "upload_gates": upload,
        "solver": a.solver,
        "solver_gates": solver_gates,
        "runs": runs,
        "quantum_ops_solver_only": solver_gates + upload,
        "quantum_ops": runs * (solver_gates + upload),
        **classical,
        "kind": "model",
        "assumptions": a.describe(),
    }


def _frame(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    df["quantum_over_classical"] = df["quantum_ops"] / df["classical_ops"]
    df.attrs["note"] = MODEL_NOTE
    df.attrs["kind"] = "model"
    return df


def resource_table(
    n_values: Iterable[int],
    steps_values: Iterable[int] = (100,),
    eps_values: Iterable[float] = (0.01,),
    orders: Iterable[int] | None = None,
    assumptions: CostAssumptions | None = None,
) -> pd.DataFrame:
    """Model rows on the grid n × T × ε (× Carleman orders N if given)."""
    a = assumptions or CostAssumptions()
    order_list = list(orders) if orders is not None else [a.carleman_order]
    steps_list, eps_list = list(steps_values), list(eps_values)
    rows = [
        resource_row(int(n), int(t), float(e), replace(a, carleman_order=int(nn)))
        for nn in order_list
        for n in n_values
        for t in steps_list
        for e in eps_list
    ]
    return _frame(rows)


def resnet_table(
    steps: int = 100, eps: float = 0.01, assumptions: CostAssumptions | None = None
) -> pd.DataFrame:
    """Model rows at the two ResNet sizes (n = 7,451,044 and 103,703,700), both regimes."""
    a = assumptions or CostAssumptions()
    rows = []
    for name, n in RESNET_SIZES.items():
        for regime in ("full", "almost"):
            row = resource_row(n, steps, eps, replace(a, regime=regime))
            rows.append({"model_name": name, **row})
    return _frame(rows)


def crossover_n(
    steps: int = 100,
    eps: float = 0.01,
    assumptions: CostAssumptions | None = None,
    include_io: bool = True,
    n_max: float = 1e15,
    points_per_decade: int = 20,
) -> dict[str, object]:
    """Smallest n on a log grid where the quantum model costs less than classical GD.

    ``include_io=True`` compares ``quantum_ops`` (tomography repetitions included);
    ``False`` compares one solve plus upload (``quantum_ops_solver_only``). Returns the n
    (``nan`` if none up to ``n_max``), the ratio there and the assumptions.
    """
    a = assumptions or CostAssumptions()
    grid = np.unique(
        np.round(np.logspace(1, math.log10(n_max), int(points_per_decade * math.log10(n_max))))
    )
    key = "quantum_ops" if include_io else "quantum_ops_solver_only"
    found = math.nan
    ratio = math.nan
    for n in grid.astype(np.int64):
        row = resource_row(int(n), steps, eps, a)
        r = row[key] / row["classical_ops"]
        if r < 1:
            found, ratio = float(n), r
            break
    return {
        "crossover_n": found,
        "ratio_at_crossover": ratio,
        "T": steps,
        "eps": eps,
        "compared": key,
        "n_max": n_max,
        "kind": "model",
        "assumptions": a.describe(),
    }
