"""Claims C11 (two rows, one per readout premise) and C14 from the cost stage's tables
(results/<preset>/costs/scaling.csv, resnets.csv, sensitivity.csv; SPEC §1.7, §3).

These rows judge a MODEL, not a measurement. The noise of a model-based comparison is the
spread of the answer over the sensitivity range of its assumptions
(:func:`qtrain.quantum.break_even.sensitivity_table`, :func:`~.scaling_table`) towards the
verdict's boundary: the largest change of the margin, one assumption at a time, in the
direction that would flip the verdict (never below a stated tolerance). A verdict that one
assumption inside its range could flip is inconclusive.
"""

from __future__ import annotations

import math

import pandas as pd

from qtrain.claims.core import (
    CLAIMS,
    NOT_RUN,
    PAPER_RESNETS,
    ClaimRow,
    combine_verdicts,
    judge,
)

__all__ = ["claim_c11_rows", "claim_c14"]

_PREMISES = {
    "fixed": "theorem's premise: a fixed number of read-out entries",
    "fraction": "paper's numerics: read-out of a fixed fraction of n",
}


def _fmt(x: float) -> str:
    return "nan" if x != x else f"{x:.3g}"


def claim_c11_rows(
    scaling: pd.DataFrame,
    resnet_qubits: dict[str, int] | None = None,
    polylog_max_slope: float = 0.5,
    slope_tolerance: float = 0.1,
) -> list[ClaimRow]:
    """Two C11 rows from :func:`~qtrain.quantum.break_even.scaling_table`, one per readout
    premise: the fitted log-log slope in n of the run's logical Toffolis against the classical
    FLOPs' slope. The quantum side is polylog when its slope is below ``polylog_max_slope``
    (margin = that bound − slope); the classical side linear when its slope is 1 within
    ``slope_tolerance``. Noise: how far the slope moves towards the bound over the
    sensitivity variants (down when it is above the bound, up when below), at least
    ``slope_tolerance``."""
    qubits = resnet_qubits or {r.key: r.qubits for r in PAPER_RESNETS}
    sparse = scaling[scaling["premise"] == "fixed_polylog_sparsity"]
    context = ""
    if len(sparse):
        context = (
            f"; with the theorem's sparsity premise too (log2 n non-zeros per row, "
            f"sparse-access oracles) the slope is {_fmt(float(sparse['slope_quantum'].iloc[0]))}"
            " (QROM data loading costs at least sqrt(nnz))"
        )
    rows = []
    for premise, text in _PREMISES.items():
        part = scaling[scaling["premise"] == premise]
        if part.empty:
            rows.append(
                ClaimRow(
                    "C11",
                    f"{CLAIMS['C11']} [{text}]",
                    "",
                    "",
                    "",
                    NOT_RUN,
                    "costs/scaling.csv",
                )
            )
            continue
        first = part.iloc[0]
        slope = float(first["slope_quantum"])
        margin = polylog_max_slope - slope
        toward = (
            slope - float(first["slope_variant_min"])
            if margin < 0
            else float(first["slope_variant_max"]) - slope
        )
        noise = max(toward, slope_tolerance)
        classical_margin = slope_tolerance - abs(float(first["slope_classical"]) - 1)
        verdict = combine_verdicts([judge(margin, noise), judge(classical_margin, 0.0)])
        d = part["readout_entries"]
        readout = (
            f"d = {int(d.iloc[0])} fixed"
            if premise == "fixed"
            else f"d = {d.iloc[-1] / part['n'].iloc[-1]:.2g}·n"
        )
        value = (
            f"slope of the run's logical Toffolis in n: {_fmt(slope)} (n >= "
            f"{_fmt(float(first['fit_min_n']))}, {readout}, eps = {first['epsilon']:g}); "
            f"classical FLOPs: {_fmt(float(first['slope_classical']))}; classical preprocessing "
            f"of the oracle data: {_fmt(float(first['slope_preprocessing']))}; parameter "
            f"qubits m = ceil(log2 n): {qubits}{context if premise == 'fixed' else ''}"
        )
        rows.append(
            ClaimRow(
                claim_id="C11",
                claim=f"{CLAIMS['C11']} [{text}]",
                quantity="cost MODEL (not a measurement): fitted log-log slope in n of the "
                "quantum run's logical Toffoli count (all tomography shots) and of the "
                "classical SGD FLOPs",
                value=value,
                comparison=f"quantum slope < {polylog_max_slope} (polylog) and classical slope "
                f"1 +- {slope_tolerance}",
                verdict=verdict,
                source="costs/scaling.csv",
                margin=f"{_fmt(margin)} ({polylog_max_slope} - quantum slope)",
                noise=f"{_fmt(noise)} (largest move of the slope towards the bound over the "
                f"sensitivity variants, one at a time; at least {slope_tolerance})",
            )
        )
    return rows


def claim_c14(resnets: pd.DataFrame, sensitivity: pd.DataFrame, tolerance: float = 0.5) -> ClaimRow:
    """C14 from the ResNet cost table (horizon ``run``) and the sensitivity table: for each
    model and qubit model, margin = log10(classical wall-clock / quantum wall-clock) (positive:
    quantum faster); noise = the largest change of that margin towards 0 over the model's
    sensitivity variants other than the qubit model (one assumption at a time; variants with a
    non-finite answer are left out), at least ``tolerance`` decades. Every comparison must
    hold."""
    run = resnets[resnets["horizon"] == "run"]
    if run.empty:
        return ClaimRow("C14", CLAIMS["C14"], "", "", "", NOT_RUN, "costs/resnets.csv")
    verdicts, parts, margins, noises = [], [], [], []
    for r in run.itertuples(index=False):
        sens = sensitivity[
            (sensitivity["model_name"] == r.model_name)
            & (sensitivity["assumption"] != "qubit_model")
            & (sensitivity["assumption"] != "base")
        ]
        sens = sens[sens["log10_factor_ratio"].map(math.isfinite)]
        best = sens.loc[sens["log10_factor_ratio"].idxmin()] if len(sens) else None
        margin = -float(r.log10_quantum_over_classical)
        change = -sens["log10_factor_ratio"]  # change of the margin per variant
        toward = (change.max() if margin < 0 else -change.min()) if len(sens) else 0.0
        spread = max(float(toward), tolerance)
        verdicts.append(judge(margin, spread))
        margins.append(f"{r.model_name}/{r.qubit_model}: {_fmt(margin)}")
        noises.append(f"{r.model_name}/{r.qubit_model}: {_fmt(spread)}")
        favourable = (
            f"; the most favourable single change ({best['assumption']} = {best['value']}) "
            f"gives 10^{_fmt(float(r.log10_quantum_over_classical + best['log10_factor_ratio']))}"
            if best is not None
            else ""
        )
        parts.append(
            f"{r.model_name} ({r.n:,} params), {r.qubit_model}: quantum "
            f"{_fmt(float(r.quantum_total_seconds))} s (incl. preprocessing "
            f"{_fmt(float(r.preprocessing_seconds))} s; {_fmt(float(r.physical_qubits))} "
            f"physical qubits, d = {int(r.code_distance)}) vs classical "
            f"{_fmt(float(r.classical_seconds))} s for {int(r.steps)} steps: "
            f"10^{_fmt(float(r.log10_quantum_over_classical))} times slower{favourable}"
        )
    premise = run["premise_note"].iloc[0]
    return ClaimRow(
        claim_id="C14",
        claim=CLAIMS["C14"],
        quantity="cost MODEL (not a measurement): wall-clock of the costed quantum algorithm "
        "(qdk physical estimate x shots + classical preprocessing) against SGD FLOPs at a "
        "stated GPU throughput, for the paper's run",
        value="; ".join(parts) + f" | {premise}",
        comparison="log10(classical / quantum wall-clock) > 0 for both models and both qubit "
        "models",
        verdict=combine_verdicts(verdicts),
        source="costs/resnets.csv, costs/sensitivity.csv",
        margin="; ".join(margins) + " (log10 classical/quantum)",
        noise="; ".join(noises)
        + " (largest move of the margin towards 0 over the sensitivity variants, one "
        f"assumption at a time, qubit model excluded; at least {tolerance} decades)",
    )
