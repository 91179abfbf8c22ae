"""One window's costed algorithm (SPEC §1.7; docs/cost_model.md §1) and its decomposition.

Per window of T steps (K = total_steps / T windows in a run), on the s weights the window
evolves (s = n when windows evolve every weight, the pipeline's default; 10% of n for
support-only windows):

1. The oracle data F_0..F_q (gradient, Hessian, higher derivatives on the window's batch): computed
   classically (gradient evaluations: the floor no quantum speed can beat) or coherently (the
   network evaluated reversibly in superposition at every query).
2. Block encoding of L = I − S ⊗ C_N (Eq. 6) from encodings of M_0 = F_0, M_1 = I + F_1, M_l = F_l
   (LCU over l, one factor slot at a time): subnormalisation α_L = 1 + α_row^N.
3. The linear solver (discrete-adiabatic walk + eigenstate filtering; CKS and HHL beside it),
   each query with ``b_preparations_per_query`` calls of the right-hand-side preparation U_b.
4. The final block's share p of the solution (amplified or post-selected by repetition).
5. Read-out of d entries at relative precision ε_tomo (sampling, Kerenidis-Prakash,
   Heisenberg-limited, ℓ∞-then-ℓ2) and the norm by amplitude estimation.
6. Error budget: ε is the relative ℓ2 error of the window's increment u(T) = θ(end) − θ̄ (the
   vector C12 judges), split into truncation, solver, tomography and logical failures.

:func:`decomposition` writes the run's quantum/classical wall-clock ratio as a product of
factors, each marked "premise violated by ResNets", "algorithmic necessity" or "assumption".
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from qtrain.quantum.costs.primitives import (
    amplification,
    block_encoding_cost,
    carleman_order,
    ceil_log2,
    coherent_entry_cost,
    scalar_block_system,
    solver_queries,
    state_preparation_cost,
    tomography_uses,
    trajectory_share,
)
from qtrain.quantum.costs.settings import CostSettings, spectral_radius

__all__ = [
    "MARKS",
    "decomposition",
    "error_budget",
    "logical_counts",
    "measured_block_system",
    "subnormalisations",
    "tensor_nnz",
    "window_cost",
]

PREMISE = "premise violated by ResNets"
NECESSITY = "algorithmic necessity"
ASSUMPTION = "assumption"
#: The three marks of a factor (SPEC §1.7).
MARKS = (PREMISE, NECESSITY, ASSUMPTION)


def tensor_nnz(n: int, s: CostSettings) -> dict[int, float]:
    """Non-zeros of F_l (l = 0..q) on the s evolved weights (:meth:`CostSettings.support`).

    ``dense_support``: F_0 dense (s), F_1 = −ηH dense among the evolved weights
    (hessian_density·s²), F_l≥2 s² (``as_hessian``) or s^{l+1} (``dense``).
    ``polylog`` (the theorem's premise): ⌈log₂ n⌉ non-zeros per row of every F_l≥1.
    """
    sup = s.support(n)
    out = {0: sup}
    for order in range(1, s.map_degree + 1):
        if s.sparsity_premise == "polylog":
            out[order] = sup * ceil_log2(n)
        elif order == 1 or s.higher_order_nnz == "as_hessian":
            out[order] = max(sup, s.hessian_density * sup**2)
        else:
            out[order] = sup ** (order + 1)
    return out


def subnormalisations(n: int, s: CostSettings, nnz: Mapping[int, float]) -> dict[int, float]:
    """α_l of the block encodings of F_l.

    Frobenius norms: ‖F_0‖ = η‖∇L‖, ‖F_1‖_F = η·λ_rms·√s, ‖F_{l+1}‖_F = ratio·‖F_l‖_F.
    ``state_preparation`` encodings have α = ‖F‖_F; ``sparse_access`` ones α = s_row·max|F_ij|
    with max|F_ij| = entry_max_over_rms·‖F‖_F/√nnz (Gilyén et al. 2019, Lemma 48).
    """
    sup = s.support(n)
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


def error_budget(s: CostSettings, growth: float) -> dict[str, float]:
    """ε per window on the window's increment u(T) (C12's vector: ‖ũ − u‖ ≤ ε‖u‖), split into
    truncation, solver, tomography and logical failures. The per-shot failure budget is
    (ε_physical)²/2: a fraction f of corrupted samples moves the amplitudes by at most √(2f)
    in ℓ2 (Hellinger against total variation). ``growth`` = ρ(I+F_1)^T, the factor by which an
    error grows over a later window, is reported, not charged (ε is not on the final weights)."""
    eps = s.epsilon
    physical = s.error_share_physical * eps
    return {
        "epsilon_vector": "window increment u(T) = theta(end) - theta_bar (as C12)",
        "error_growth_per_window": growth,
        "epsilon_window": eps,
        "epsilon_truncation": s.error_share_truncation * eps,
        "epsilon_solver": s.error_share_solver * eps,
        "epsilon_tomography": s.error_share_tomography * eps,
        "epsilon_physical": physical,
        "physical_error_budget": physical**2 / 2,
    }


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
        "map": map_name,
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


def _premise_note(rho: float, s: CostSettings) -> str:
    if rho < 1:
        return "dissipative premise holds: rho(I+F_1) < 1"
    if s.hessian_lambda_min < 0:
        return (
            f"dissipative premise FAILS: Hessian lambda_min = {s.hessian_lambda_min:.3g} < 0 "
            f"gives rho(I+F_1) = {rho:.4g} > 1 (divergent modes); kappa and the share are those "
            "of the growing mode"
        )
    if rho == 1:
        return "almost dissipative: rho(I+F_1) = 1 (lambda_min = 0): kappa grows like T"
    return (
        f"dissipative premise FAILS: rho(I+F_1) = {rho:.4g} > 1 "
        f"(eta*lambda_max = {s.learning_rate * s.hessian_lambda_max:.3g})"
    )


def _order(s: CostSettings, rho: float, eps_truncation: float) -> dict[str, Any]:
    """N, with the bound that sets it: R's bound only where R is defined (ρ < 1 and u_in ≠ 0)."""
    T = s.steps_per_window
    r_defined = rho < 1 and s.trajectory != "drift"
    why_undefined = (
        "u_in = 0 (expansion at the window start)"
        if s.trajectory == "drift"
        else (f"rho(I+F_1) = {rho:.4g} >= 1")
    )
    if s.map_degree == 1:
        return {
            "order": 1,
            "bound": 0.0,
            "met": True,
            "r_defined": r_defined,
            "source": "linear map: N = 1 is exact",
        }
    if s.carleman_order > 0:
        r = s.nonlinearity_ratio
        bound = T * s.carleman_order * r**s.carleman_order if r_defined and r < 1 else math.nan
        return {
            "order": s.carleman_order,
            "bound": bound,
            "met": bool(bound <= eps_truncation) if math.isfinite(bound) else False,
            "r_defined": r_defined,
            "source": "configured carleman_order",
        }
    if r_defined:
        order, bound, met = carleman_order(
            s.nonlinearity_ratio, T, eps_truncation, s.carleman_order_max
        )
        return {
            "order": order,
            "bound": bound,
            "met": met,
            "r_defined": True,
            "source": f"bound T*N*R^N <= eps_truncation, R = {s.nonlinearity_ratio:g}",
        }
    return {
        "order": s.map_degree,
        "bound": math.nan,
        "met": False,
        "r_defined": False,
        "source": f"R undefined ({why_undefined}): N = q = {s.map_degree}, the smallest order "
        "whose first row holds the whole map; no truncation bound",
    }


def window_cost(
    n: int,
    s: CostSettings,
    block_table=None,
    map_name: str | None = None,
    gradient_flops: float | None = None,
) -> dict[str, Any]:
    """Logical cost of one window and of the run (K windows) for n parameters.

    ``block_table``: a measured κ-vs-T table (figS3 columns, :func:`measured_block_system`);
    without it κ(L), ‖L‖ and the share come from the scalar model of the slowest mode.
    ``gradient_flops``: FLOPs of one gradient on the window's batch (counted), needed by the
    coherent oracle (``oracle_data: coherent``; ``cheapest`` is resolved by the caller, which
    prices both). Returns a flat dict (one table row).
    """
    if n < 2:
        raise ValueError(f"need n >= 2, got {n}")
    coherent = s.oracle_data == "coherent"
    if coherent:
        if gradient_flops is None:
            raise ValueError("a coherent oracle needs the FLOPs of one gradient (gradient_flops)")
        s = replace(s, block_encoding="sparse_access")  # entries computed, not stored
    T = s.steps_per_window
    P = round(s.padding_factor * T)
    m = ceil_log2(n)
    sup = s.support(n)
    rho1 = spectral_radius(s.hessian_lambda_min, s.hessian_lambda_max, s.learning_rate)
    budget = error_budget(s, rho1**T)
    carl = _order(s, rho1, budget["epsilon_truncation"])
    order = carl["order"]
    active = list(range(1, min(s.map_degree, order) + 1))

    nnz = tensor_nnz(n, s)
    maps = T if s.batches == "per_step" else 1
    alpha = subnormalisations(n, s, nnz)
    alpha_row = alpha[0] + 1 + sum(alpha[lv] for lv in active)
    alpha_l = 1 + alpha_row**order

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

    eps_state = budget["epsilon_solver"] * math.sqrt(max(p_output, 1e-300))
    q = solver_queries(kappa_eff, eps_state, s)
    p_success = p_output * q["success_probability"]
    amp = amplification(p_success, s.amplification)

    # one query of the block encoding of L and one call of U_b
    clock = ceil_log2(T + 1 + P)
    level_q = max(1, ceil_log2(order))
    dense_rows = s.sparsity_premise == "dense_support"
    if coherent:
        entries = {lv: coherent_entry_cost(lv, gradient_flops, s) for lv in [0, *active]}
        be = [
            block_encoding_cost(nnz[lv] * maps, sup * maps, s, dense_rows, entries[lv])
            for lv in active
        ]
        f0 = block_encoding_cost(nnz[0] * maps, sup * maps, s, True, entries[0])
    else:
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
    wanted = math.ceil(s.readout_fraction * n) if s.readout == "fraction" else s.readout_entries
    d = float(min(sup, wanted))
    tomo = tomography_uses(
        d, sup, budget["epsilon_tomography"], s.tomography, s.heisenberg_constant
    )
    copies = tomo["uses"]
    norm_solves = math.ceil(math.pi / (budget["epsilon_tomography"] * math.sqrt(p_success)))
    shots = copies * amp["shots_per_output"]
    solve_equivalents = shots * amp["solves_per_shot"] + norm_solves

    # qubits
    qubits_data = clock + level_q + order * m
    qubits_encoding = m + order * ceil_log2(s.map_degree + 2) + 2
    qubits_lookup = max([c["ancillas"] for c in be] + [f0["ancillas"]])
    qubits_oracle = s.coherent_oracle_bits * sup if coherent else 0.0
    qubits_arith = 2 * s.bits_per_entry + clock
    qubits_solver = s.solver_ancilla_qubits + 1
    qubits = qubits_data + qubits_encoding + qubits_lookup + qubits_oracle + qubits_arith
    qubits += qubits_solver

    # the oracle data computed classically, in gradient evaluations: nnz/s directional
    # derivatives of order l per F_l (a column each), hvp_cost^l gradients each
    pre = 0.0
    if not coherent:
        pre = maps * (1.0 + sum(nnz[lv] / sup * s.hvp_cost_in_gradients**lv for lv in active))

    K = s.windows
    return {
        "n": int(n),
        "param_qubits": m,
        "window_space": s.window_space,
        "support": sup,
        "T": T,
        "padding": P,
        "windows": K,
        "total_steps": s.total_steps,
        "readout_entries": d,
        "tomography": s.tomography,
        "oracle_data": "coherent" if coherent else "classical",
        "rho": rho1,
        "rho_carleman": rho_c,
        "dissipative_premise": bool(rho1 < 1),
        "premise_note": _premise_note(rho1, s),
        **budget,
        "carleman_order": order,
        "carleman_order_source": carl["source"],
        "nonlinearity_ratio_defined": carl["r_defined"],
        "truncation_bound": carl["bound"],
        "truncation_bound_met": bool(carl["met"]),
        "nnz_F1": nnz.get(1, 0.0) * maps,
        "nnz_F2": nnz.get(2, 0.0) * maps if 2 in active else 0.0,
        "nnz_F3": nnz.get(3, 0.0) * maps if 3 in active else 0.0,
        "nnz_per_row": nnz.get(1, 0.0) / sup,
        "alpha_F1": alpha.get(1, 0.0),
        "alpha_row": alpha_row,
        "alpha_L": alpha_l,
        "norm_L": norm_l,
        "inverse_norm_L": inv_norm,
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
        "tomography_linf_uses": tomo["uses_linf"],
        "norm_estimation_solves": float(norm_solves),
        "shots_per_window": shots,
        "solve_equivalents_per_window": solve_equivalents,
        "shot_equivalents_per_window": solve_equivalents / amp["solves_per_shot"],
        "qubits_data": qubits_data,
        "qubits_encoding": qubits_encoding,
        "qubits_lookup": qubits_lookup,
        "qubits_oracle": qubits_oracle,
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


def _marks(q: Mapping[str, Any], s: CostSettings) -> dict[str, tuple[str, str]]:
    """Per factor: (mark, why) under the settings ``s`` that priced the run ``q``."""
    divergent = q["rho"] > 1
    dense = s.sparsity_premise == "dense_support"
    return {
        "windows": (NECESSITY, "K = total_steps / T uploads and downloads of the procedure"),
        "readout_entries": (
            (PREMISE, "the paper's download reads 10% of n; the theorem assumes a fixed d")
            if s.readout == "fraction"
            else (ASSUMPTION, f"a fixed read-out of d = {int(q['readout_entries'])} entries")
        ),
        "precision": (NECESSITY, f"{s.tomography} tomography at eps_tomo, per kept entry"),
        "amplification": (NECESSITY, "final-block amplification and norm estimation per use"),
        "alpha_L": (
            NECESSITY,
            "subnormalisation of C_N built from the F's, raised to N "
            f"(N = {q['carleman_order']}: {q['carleman_order_source']})",
        ),
        "inverse_norm_L": (
            (PREMISE, "lambda_min < 0: divergent modes (rho > 1) make ||L^-1|| grow")
            if divergent
            else (NECESSITY, "||L^-1|| of the block system (O(1) or O(T))")
        ),
        "queries_per_kappa": (
            NECESSITY,
            f"{s.solver} solver: queries per unit kappa_eff (constant, log 1/eps)",
        ),
        "toffolis_per_query": (
            (PREMISE, "dense Hessian among the evolved weights, loaded entry by entry")
            if dense and q["oracle_data"] == "classical"
            else (ASSUMPTION, "QRAM cost per query assumed")
            if s.data_loading == "qram" and q["oracle_data"] == "classical"
            else (NECESSITY, f"{q['oracle_data']} oracle for polylog-sparse data, counted")
        ),
        "seconds_per_toffoli": (ASSUMPTION, f"qubit model {q['qubit_model']} (qdk)"),
        "oracle_data": (NECESSITY, "F_1..F_q prepared classically before any quantum step"),
        "classical": (ASSUMPTION, f"classical SGD at {s.gpu_sustained_tflops:g} TFLOP/s"),
    }


def decomposition(q: Mapping[str, Any], s: CostSettings, classical_seconds: float) -> list[dict]:
    """The run's log10(quantum / classical wall-clock) as a sum of factors (decades), each
    with its mark and why. ``q``: a priced run (:func:`~qtrain.quantum.costs.break_even.
    quantum_run`); the factors multiply back to ``quantum_total_seconds_run / classical``:
    K · d · (uses/d) · (solve-equivalents/uses) · α_L · ‖L⁻¹‖ · (queries/κ_eff) ·
    (Toffolis per solve / queries) · (seconds per Toffoli) · (total / quantum computer) / C."""
    per_tof = q["runtime_per_shot_s"] / q["toffolis_per_shot"] / s.parallel_quantum_computers
    factors = {
        "windows": q["windows"],
        "readout_entries": q["readout_entries"],
        "precision": q["tomography_copies"] / q["readout_entries"],
        "amplification": q["solve_equivalents_per_window"] / q["tomography_copies"],
        "alpha_L": q["alpha_L"],
        "inverse_norm_L": q["inverse_norm_L"],
        "queries_per_kappa": q["solver_queries"] / q["kappa_effective"],
        "toffolis_per_query": q["toffolis_per_solve"] / q["solver_queries"],
        "seconds_per_toffoli": per_tof,
        "oracle_data": q["quantum_total_seconds_run"] / q["quantum_seconds_run"],
        "classical": 1 / classical_seconds,
    }
    marks = _marks(q, s)
    return [
        {"factor": k, "value": v, "log10": math.log10(v), "mark": marks[k][0], "why": marks[k][1]}
        for k, v in factors.items()
    ]
