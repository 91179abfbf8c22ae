"""Claim C13: does the error proxy of Eq. 7-8 predict the true linearization error, beyond what
a trivial predictor already explains? (SPEC §3), from the proxy check's correlation table
(results/<preset>/proxy_check/correlations.csv, rule compare_proxy, the table figS8 draws).

Proxy and true error both rise with the learning rate η and the window length T, so a raw rank
correlation across settings is confounded: it would hold for η·T itself. The verdict is on the
Spearman partial correlation of proxy and truth controlling for the trivial predictors η·T and
η·T·λ_max at once, against a stated minimum, with the noise of a bootstrap over the settings;
each row also states the smallest correlation its number of settings could have detected. One
row per measurement (the polynomial network's exact Carleman error, per order; the network's
linearized windows) and convention; the ``multiplier`` convention decides (SPEC §2.5), the
printed ones are shown for comparison.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from qtrain.claims.core import (
    CLAIMS,
    INCONCLUSIVE,
    NOT_HOLDING,
    NOT_RUN,
    ClaimRow,
    combine_verdicts,
    judge,
)
from qtrain.stats import fmt, signed

__all__ = ["DECIDING_CONVENTION", "MEASUREMENTS", "claim_c13", "convention_label"]

#: The convention whose rows decide C13 (SPEC §2.5); the others are shown for comparison.
DECIDING_CONVENTION = "multiplier"

#: The measurements of C13 and how the rows name them.
MEASUREMENTS = {
    "polynomial": "polynomial network, exact Carleman error",
    "network": "network, linearized (N = 1) windows",
}

_LABELS = {
    "multiplier": "multiplier |1 - eta*lambda|, |lambda| > c",
    "eigenvalue": "a = -lambda",
    "lr_scaled": "a = -eta*lambda, cut-off on eta*lambda",
}

#: A proxy whose rank variance the trivial predictors leave below this share is, in rank, a
#: function of them (up to rounding): it carries nothing beyond them.
RESIDUAL_FLOOR = 1e-9


def convention_label(convention: str) -> str:
    """How a C13 row names its convention, with its role (decides / for comparison)."""
    role = "decides" if convention == DECIDING_CONVENTION else "for comparison"
    return f"{_LABELS.get(convention, convention)}: {role}"


def _comparison(r: pd.Series, conv: str, min_partial: float) -> tuple[str, float, float, str]:
    """(verdict, margin, noise, text) of one correlation row under one convention."""
    partial = float(r.get(f"partial_{conv}", math.nan))
    noise = float(r.get(f"partial_noise_{conv}", math.nan))
    n_c = float(r.get(f"n_c_{conv}", math.nan))
    residual = float(r.get(f"proxy_residual_share_{conv}", math.nan))
    points = _count(r, conv)
    if not n_c > 0:
        return INCONCLUSIVE, math.nan, math.nan, "premise absent: no mass beyond the cut-off"
    if residual <= RESIDUAL_FLOOR:
        # nothing beyond the trivial predictors at these settings: a partial correlation of 0,
        # decisive only where the run could have detected one of min_partial (its noise is the
        # smallest detectable partial correlation: no bootstrap resample has a residual either)
        detectable = float(r.get("detectable_partial", math.nan))
        verdict = judge(-min_partial, detectable)
        return (
            verdict,
            -min_partial,
            detectable,
            f"{'does not hold' if verdict == NOT_HOLDING else 'inconclusive'}: the proxy is, in "
            "rank, a function of the trivial predictors at these settings (nothing beyond "
            f"them; this run detects partial correlations from {fmt(detectable)})",
        )
    if not math.isfinite(partial):
        return (
            INCONCLUSIVE,
            math.nan,
            noise,
            f"partial correlation undefined ({points} settings with a finite proxy: too few, or "
            "the true error is a function of the trivial predictors)",
        )
    margin = partial - min_partial
    return judge(margin, noise), margin, noise, ""


def claim_c13(
    correlations: pd.DataFrame,
    conventions: Sequence[str],
    min_partial: float = 0.3,
    measurements: Sequence[str] = tuple(MEASUREMENTS),
) -> list[ClaimRow]:
    """C13, one row per measurement and convention (the deciding convention first): in every
    group of the measurement (the polynomial network: one per Carleman order) the partial rank
    correlation of E(T) and the true error at the window end, controlling for the trivial
    predictors (``controls``, η·T and η·T·λ_max), exceeds ``min_partial`` by more than its
    bootstrap noise over the settings (margin ``partial − min_partial``). A proxy that is, in
    rank, a function of the trivial predictors has a partial correlation of 0 (margin
    ``−min_partial``) against the smallest partial correlation the settings could detect (no
    bootstrap resample has a residual to measure a spread): it does not hold where that is
    below ``min_partial``, else it is inconclusive; no mass beyond the cut-off is an absent
    premise (inconclusive); a missing measurement is not run. ``correlations``: the
    ``window_end`` rows of :func:`qtrain.spectra.proxy_vs_truth.window_end_correlations`."""
    claim = CLAIMS["C13"] + " beyond eta*T and eta*T*lambda_max"
    source = "proxy_check/correlations.csv"
    ordered = sorted(conventions, key=lambda c: c != DECIDING_CONVENTION)
    rows = []
    for measurement in measurements:
        sub = correlations[
            (correlations["measurement"] == measurement) & (correlations["kind"] == "window_end")
        ]
        for conv in ordered:
            label = f"{claim} [{MEASUREMENTS.get(measurement, measurement)}; "
            label += f"{convention_label(conv)}]"
            if sub.empty:
                rows.append(
                    ClaimRow("C13", label, "", "not run in this preset", "", NOT_RUN, source)
                )
                continue
            verdicts, values, margins, noises = [], [], [], []
            for _, r in sub.iterrows():
                verdict, margin, noise, note = _comparison(r, conv, min_partial)
                verdicts.append(verdict)
                name = str(r["setting"])
                values.append(_describe(r, conv, name, note))
                margins.append(f"{name}: {signed(margin)}")
                noises.append(f"{name}: {fmt(noise)}")
            controls = str(sub["controls"].iloc[0]) if "controls" in sub else "eta_t+eta_t_lambda"
            rows.append(
                ClaimRow(
                    claim_id="C13",
                    claim=label,
                    quantity="Spearman partial correlation across settings of E(T) and the true "
                    f"error at the window end, controlling for {controls.replace('+', ' and ')} "
                    "(eta_t = eta*T, eta_t_lambda = eta*T*lambda_max); raw and trivial "
                    "correlations shown for the head-to-head",
                    value="; ".join(values),
                    comparison=f"partial - {min_partial} > noise in every group (holds needs "
                    f"partial > {min_partial} + noise; the detectable partial correlation at "
                    "each n is stated)",
                    verdict=combine_verdicts(verdicts),
                    source=source,
                    margin="; ".join(margins),
                    noise="; ".join(f"{n} (bootstrap over settings, 95%)" for n in noises),
                )
            )
    return rows


def _count(r: pd.Series, conv: str) -> int:
    """Settings where the proxy is defined (all settings when the table does not say)."""
    value = r.get(f"partial_points_{conv}", math.nan)
    return int(value) if value == value else int(r["points"])


def _describe(r: pd.Series, conv: str, name: str, note: str) -> str:
    """One group's numbers: partial ± noise, p, raw and trivial correlations, detectable ρ."""
    points = _count(r, conv)
    trivial = ", ".join(
        f"{col.removeprefix('spearman_')} {fmt(float(r[col]))}"
        for col in r.index
        if col in ("spearman_eta_t", "spearman_eta_t_lambda")
    )
    text = (
        f"{name} ({points} settings): partial {fmt(float(r.get(f'partial_{conv}', math.nan)))} "
        f"+- {fmt(float(r.get(f'partial_noise_{conv}', math.nan)))} "
        f"(p {fmt(float(r.get(f'partial_p_value_{conv}', math.nan)), 2)}), raw rho "
        f"{fmt(float(r.get(f'spearman_{conv}', math.nan)))} vs trivial {trivial or 'n/a'}; "
        f"detectable partial at this n {fmt(float(r.get('detectable_partial', math.nan)))} "
        f"(one-sided 5%); N_c {fmt(float(r.get(f'n_c_{conv}', math.nan)))}"
    )
    return f"{text}; {note}" if note else text
