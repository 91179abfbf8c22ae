"""Physical resources of the cost model through qdk's resource estimator (offline).

The estimator (Microsoft Azure Quantum Resource Estimator, ``qdk.estimator``) implements the
model of Beverland et al., arXiv:2211.07629 (2022): a PSSPC layout of Q logical qubits onto
Q_alg = 2Q + ⌈√(8Q)⌉ + 1 surface-code (or Floquet-code) patches, a logical depth
C = M_meas + M_R + M_T + 3(M_CCZ + M_CCiX) + T-states-per-rotation × D_R, a code distance d
from the per-operation error rate P = ε_log / (Q_alg·C) through P_L(d) = a·(p/p*)^((d+1)/2),
T factories from 15-to-1 distillation, runtime = C × logical cycle time(d).

Two situations the estimator does not handle directly, both documented in the output:

- counts so large that the runtime overflows its 64-bit nanoseconds (depth beyond ~1e13) or the
  search stalls: the counts AND the error budget are divided by the same factor f. Every
  per-operation error rate, hence d, the factories and the qubits, is unchanged; the runtime
  is multiplied back by f (``method = "qdk, time-scaled"``). Exact under the estimator's model.
- per-operation error rates beyond code distance 50 (the estimator's maximum): d, the qubits of
  the algorithm part and the cycle time are extrapolated with the estimator's own formulas
  (crossing prefactor, threshold and the scheme's qubit and cycle-time expressions); the T
  factories are those of the estimator at the tightest budget it accepts (a lower bound;
  ``method = "extrapolated"``).
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Mapping
from typing import Any

__all__ = [
    "QUBIT_MODELS",
    "algorithmic_logical_qubits",
    "code_distance",
    "estimate_physical",
    "logical_depth",
    "run_estimator",
]

QUBIT_MODELS = (
    "qubit_gate_ns_e3",
    "qubit_gate_ns_e4",
    "qubit_gate_us_e3",
    "qubit_gate_us_e4",
    "qubit_maj_ns_e4",
    "qubit_maj_ns_e6",
)
_FIELDS = (
    "numQubits",
    "tCount",
    "rotationCount",
    "rotationDepth",
    "cczCount",
    "ccixCount",
    "measurementCount",
)


def algorithmic_logical_qubits(qubits: float) -> float:
    """Q_alg = 2Q + ⌈√(8Q)⌉ + 1 (PSSPC layout, Beverland et al. 2022, Sec. IV)."""
    return 2 * qubits + math.ceil(math.sqrt(8 * qubits)) + 1


def _t_per_rotation(rotations: float, budget_rotations: float) -> float:
    if rotations <= 0:
        return 0.0
    if not math.isfinite(rotations):  # unbounded counts: the estimate says "not estimated"
        return math.inf
    return math.ceil(0.53 * math.log2(rotations / budget_rotations) + 5.3)


def logical_depth(counts: Mapping[str, float], error_budget: float) -> float:
    """C = M_meas + M_R + M_T + 3(M_CCZ + M_CCiX) + n_T(rot)·D_R with n_T(rot) =
    ⌈0.53·log₂(M_R/ε_R) + 5.3⌉ and ε_R = ε/3 (Beverland et al. 2022, Eq. D1-D3)."""
    rot = counts.get("rotationCount", 0.0)
    per_rot = _t_per_rotation(rot, error_budget / 3)
    return (
        counts.get("measurementCount", 0.0)
        + rot
        + counts.get("tCount", 0.0)
        + 3 * (counts.get("cczCount", 0.0) + counts.get("ccixCount", 0.0))
        + per_rot * counts.get("rotationDepth", 0.0)
    )


def code_distance(required_rate: float, physical_rate: float, threshold: float, prefactor: float):
    """Smallest odd d with a·(p/p*)^((d+1)/2) ≤ P (Beverland et al. 2022, Eq. 13)."""
    if physical_rate >= threshold:
        return math.inf
    ratio = physical_rate / threshold
    half = math.log(required_rate / prefactor) / math.log(ratio)
    d = max(1, math.ceil(2 * half - 1))
    return d if d % 2 == 1 else d + 1


_OPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


def _evaluate(expression: str, names: Mapping[str, float]) -> float:
    """Evaluate one of the estimator's scheme formulas (numbers, names, + − × ÷, brackets)."""

    def walk(node: ast.AST) -> float:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return float(node.value)
        if isinstance(node, ast.Name):
            return float(names[node.id])
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](walk(node.left), walk(node.right))
        raise ValueError(f"unsupported expression in the QEC scheme: {expression!r}")

    return walk(ast.parse(expression, mode="eval"))


def _time_ns(value: Any) -> float:
    if isinstance(value, (int, float)):
        return float(value)
    number, unit = str(value).split()
    scale = {"ns": 1.0, "us": 1e3, "µs": 1e3, "ms": 1e6, "s": 1e9}[unit]
    return float(number) * scale


def run_estimator(counts: Mapping[str, float], qubit_model: str, error_budget: float) -> dict:
    """qdk's estimate of integer ``counts`` (raw result data); raises ``EstimatorError``."""
    from qdk.estimator import LogicalCounts

    data = {k: round(counts.get(k, 0.0)) for k in _FIELDS}
    data["rotationDepth"] = min(data["rotationDepth"], data["rotationCount"])
    params = {"qubitParams": {"name": qubit_model}, "errorBudget": float(error_budget)}
    return LogicalCounts(data).estimate(params).data()


def _scaled(counts: Mapping[str, float], factor: float) -> dict[str, float]:
    out = {}
    for key in _FIELDS:
        value = float(counts.get(key, 0.0))
        out[key] = value if key == "numQubits" else (math.ceil(value / factor) if value else 0.0)
    return out


def _summary(data: Mapping[str, Any]) -> dict[str, float]:
    phys = data["physicalCounts"]
    bd = phys["breakdown"]
    return {
        "physical_qubits": float(phys["physicalQubits"]),
        "physical_qubits_algorithm": float(bd["physicalQubitsForAlgorithm"]),
        "physical_qubits_factories": float(bd["physicalQubitsForTfactories"]),
        "code_distance": float(data["logicalQubit"]["codeDistance"]),
        "t_factories": float(bd["numTfactories"]),
        "logical_cycle_time_ns": float(data["logicalQubit"]["logicalCycleTime"]),
        "logical_depth": float(bd["logicalDepth"]),
        "algorithmic_logical_qubits": float(bd["algorithmicLogicalQubits"]),
        "t_states": float(bd["numTstates"]),
        "runtime_ns": float(phys["runtime"]),
        "required_logical_error_rate": float(bd["requiredLogicalQubitErrorRate"]),
    }


def estimate_physical(
    counts: Mapping[str, float],
    qubit_model: str,
    error_budget: float,
    max_direct_depth: float = 1e11,
) -> dict[str, Any]:
    """Physical qubits, code distance, T factories and runtime (s) of one run of ``counts``
    (qdk ``LogicalCounts`` fields, floats allowed) under ``qubit_model``.

    Returns the estimator's numbers with ``method`` (``qdk``, ``qdk, time-scaled`` or
    ``extrapolated``), the scale factor and a ``note``; never raises for large counts.
    """
    from qdk.estimator import EstimatorError

    depth = logical_depth(counts, error_budget)
    if not math.isfinite(depth) or not math.isfinite(float(counts.get("numQubits", 0.0))):
        nan = math.nan
        keys = (
            "physical_qubits physical_qubits_algorithm physical_qubits_factories code_distance "
            "t_factories logical_cycle_time_ns algorithmic_logical_qubits t_states runtime_ns "
            "runtime_s required_logical_error_rate"
        ).split()
        return {
            "qubit_model": qubit_model,
            "scale_factor": nan,
            **dict.fromkeys(keys, nan),
            "logical_depth": depth,
            "method": "not estimated",
            "note": "logical counts are not finite (e.g. an exponentially divergent kappa)",
        }
    factor = max(1.0, depth / max_direct_depth)
    scaled = _scaled(counts, factor)
    budget = error_budget / factor
    base: dict[str, Any] = {"qubit_model": qubit_model, "scale_factor": factor}
    try:
        est = _summary(run_estimator(scaled, qubit_model, budget))
    except EstimatorError as err:
        if "code distance" not in str(err):
            raise
        return {**base, **_extrapolate(scaled, qubit_model, budget, factor, str(err))}
    est["runtime_ns"] *= factor
    est["logical_depth"] *= factor
    est["t_states"] *= factor
    method = "qdk" if factor == 1 else "qdk, time-scaled"
    note = (
        "qdk estimate"
        if factor == 1
        else f"qdk on counts and error budget divided by {factor:.3g}; runtime multiplied back"
    )
    return {**base, **est, "runtime_s": est["runtime_ns"] * 1e-9, "method": method, "note": note}


def _extrapolate(
    scaled: Mapping[str, float], qubit_model: str, budget: float, factor: float, reason: str
) -> dict[str, Any]:
    """Beyond the estimator's maximum code distance: its own formulas at the true error rate,
    its T factories at the tightest budget it accepts."""
    from qdk.estimator import EstimatorError

    lo, hi = math.log10(budget), -1.0
    ref = None
    for _ in range(40):
        mid = (lo + hi) / 2
        try:
            ref = run_estimator(scaled, qubit_model, 10**mid)
            hi = mid
        except EstimatorError:
            lo = mid
        if hi - lo < 0.05 and ref is not None:
            break
    if ref is None:
        ref = run_estimator(scaled, qubit_model, 10**hi)
    summary = _summary(ref)
    params = ref["jobParams"]
    qec, qubit = params["qecScheme"], params["qubitParams"]
    p = float(ref["physicalCounts"]["breakdown"]["cliffordErrorRate"])
    ratio_budget = budget / 10**hi
    required = summary["required_logical_error_rate"] * ratio_budget
    d = code_distance(
        required, p, float(qec["errorCorrectionThreshold"]), float(qec["crossingPrefactor"])
    )
    names = {k: _time_ns(v) for k, v in qubit.items() if str(k).endswith("Time")}
    names["codeDistance"] = float(d)
    cycle = _evaluate(qec["logicalCycleTime"], names)
    per_logical = _evaluate(qec["physicalQubitsPerLogicalQubit"], names)
    q_alg = summary["algorithmic_logical_qubits"]
    depth = summary["logical_depth"] * factor
    runtime = depth * cycle
    qubits_alg = q_alg * per_logical
    return {
        "physical_qubits": qubits_alg + summary["physical_qubits_factories"],
        "physical_qubits_algorithm": qubits_alg,
        "physical_qubits_factories": summary["physical_qubits_factories"],
        "code_distance": float(d),
        "t_factories": summary["t_factories"],
        "logical_cycle_time_ns": cycle,
        "logical_depth": depth,
        "algorithmic_logical_qubits": q_alg,
        "t_states": summary["t_states"] * factor,
        "runtime_ns": runtime,
        "runtime_s": runtime * 1e-9,
        "required_logical_error_rate": required,
        "method": "extrapolated",
        "note": (
            f"beyond the estimator ({reason.splitlines()[-1].strip()}): d = {d} from its "
            f"formulas at the required rate {required:.3g}; T factories from its estimate at "
            f"a {1 / ratio_budget:.3g}x looser budget (a lower bound)"
        ),
    }
