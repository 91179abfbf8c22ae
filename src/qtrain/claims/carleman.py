"""Claims C6-C8 (discrete Carleman theory, SPEC §1.2-1.4) from the Carleman stage's fit tables.

The tables (results/<preset>/carleman/*_fits.csv, the same ones figS1-figS3 draw) hold per map
the fitted slopes with their standard errors. Fits are judged against the 95% confidence
half-width of their slope (Student's t with the fit's degrees of freedom times the standard
error from the residuals): a deterministic sweep has no seed noise, but a slope read off 4-8
points is only known to within that width.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from qtrain.claims.core import NOT_RUN, ClaimRow, combine_verdicts, judged
from qtrain.stats import fmt, loglog_fit_with_error, slope_half_width

__all__ = ["claim_c6", "claim_c7", "claim_c8"]


def claim_c6(table: Any, max_factor: float = 0.5) -> ClaimRow:
    """C6 from the figS1 table (one row per map and order, with the per-map fit ``log10_factor``,
    ``log10_factor_se``, ``fit_dof`` of the log10 relative error at T, log10(‖u(T) − ŷ_1(T)‖ /
    ‖u(T)‖), against N, ``R``, ``spectral_radius``): every map with R < 1 falls at least by
    ``max_factor`` per order, and every divergent map (ρ(I + F_1) > 1) does not (its fitted
    factor is above ``max_factor``). Both norms are log-domain, so no verdict rests on an
    overflow: a divergent map's exact iterate that exceeds float64 (``overflow_step``) is only
    shown, and the step at which the best order's relative error reaches 1/2
    (``saturation_step``: the truncation has lost the trajectory) says when the fall stopped.
    Each judged map is one comparison: margin (decades per order, positive on the claim's side)
    against the 95% half-width of the slope. Maps with R ≥ 1 that are not divergent (R is only a
    sufficient condition; the theorem says nothing about them) are listed, not judged. Without a
    map with R < 1 the claim's premise is absent (inconclusive, said so)."""
    maps = table.groupby("map", sort=False).first().reset_index()
    last = table.sort_values("order").groupby("map", sort=False).last()
    threshold = math.log10(max_factor)
    dissipative = maps["R"] < 1
    divergent = maps["spectral_radius"] > 1 + 1e-12
    other = ~dissipative & ~divergent
    noise = {
        r.map: slope_half_width(float(r.log10_factor_se), int(r.fit_dof))
        for r in maps.itertuples(index=False)
    }

    def items(mask, sign: float) -> list[tuple[str, float, float]]:
        return [
            (r.map, sign * (threshold - float(r.log10_factor)), noise[r.map])
            for r in maps[mask].itertuples(index=False)
        ]

    diss_items, div_items = items(dissipative, 1.0), items(divergent, -1.0)
    verdicts, margin, spread = judged(diss_items + div_items)
    absent = []
    for half, premise in ((diss_items, "no map with R < 1"), (div_items, "no divergent map")):
        if not half:  # that half of the claim is not measured in this run
            verdicts.append(NOT_RUN)
            absent.append(premise)

    def describe(mask, divergent_maps: bool = False) -> str:
        parts = []
        for r in maps[mask].itertuples(index=False):
            width = noise[r.map]
            slope = float(r.log10_factor)
            text = (
                f"{r.map}: {fmt(_pow10(slope))} "
                f"[{fmt(_pow10(slope - width))}, {fmt(_pow10(slope + width))}]"
            )
            if divergent_maps:
                text += _divergent_note(last.loc[r.map])
            parts.append(text)
        return "; ".join(parts) if parts else "none"

    value = (
        (f"premise absent: {', '.join(absent)} | " if absent else "")
        + f"factor per order [95% interval], R<1 maps: {describe(dissipative)} | divergent maps "
        f"(relative error at T in log space): {describe(divergent, True)} | R>=1 non-divergent "
        f"(not judged: the theorem says nothing about them): {describe(other)}"
    )
    return ClaimRow(
        claim_id="C6",
        claim="discrete Carleman error falls geometrically with N when dissipative (R < 1), "
        "not otherwise",
        quantity="least-squares factor per order of the relative error at T, "
        "||u(T) - y_1(T)|| / ||u(T)||, fitted to its log10 computed from log-domain norms "
        "(finite where the exact map overflows float64; no verdict rests on an overflow)",
        value=value,
        comparison=f"R<1 maps: factor <= {max_factor}; divergent maps: factor > {max_factor} "
        "(no geometric fall by T); every judged map is one comparison",
        verdict=combine_verdicts(verdicts),
        source="figS1.csv",
        margin="decades per order, log10(factor) beyond log10("
        f"{max_factor}) on the claim's side: {margin}",
        noise=f"95% half-width of the fitted slope (t x residual SE, {_dofs(maps['fit_dof'])} "
        f"dof): {spread}",
    )


def _divergent_note(r: Any) -> str:
    """Where a divergent map's truncation lost the trajectory (largest order's row ``r``)."""
    relative = float(r.get("log10_relative_error_T", math.nan))
    parts = [f"N = {int(r['order'])}: relative error at T 10^{fmt(relative)}"]
    saturation = int(r.get("saturation_step", -1))
    if saturation >= 0:
        parts.append(f"reaches 1/2 at step {saturation}")
    overflow = int(r.get("overflow_step", -1))
    if overflow >= 0:
        parts.append(
            f"exact ||u|| beyond float64 from step {overflow} "
            f"(10^{fmt(float(r.get('log10_norm_u_T', math.nan)))} at T, in log space: not an "
            "overflow)"
        )
    return " (" + "; ".join(parts) + ")"


def _pow10(x: float) -> float:
    """10**x as a float that overflows to inf instead of raising."""
    with np.errstate(over="ignore"):
        return float(np.power(10.0, x))


def _dofs(dofs: Any) -> str:
    values = sorted({int(d) for d in dofs})
    return "/".join(str(d) for d in values) if values else "0"


def claim_c7(table: Any, target: float = 2.0, tolerance: float = 0.25) -> ClaimRow:
    """C7 from the figS2 table (``map``, ``eta``, ``matrix_fro``, ``one_step``): the log-log
    slopes of ‖C_d − C_f‖_F and of the one-step lifted difference against η are ``target``
    within ``tolerance`` for every map. Each slope is one comparison: margin ``tolerance −
    |slope − target|`` against the 95% half-width of the slope (residuals of the fit)."""
    items, slopes, dofs = [], {}, []
    for name, group in table.groupby("map", sort=False):
        for measure in ("matrix_fro", "one_step"):
            slope, _, se, dof = loglog_fit_with_error(group["eta"], group[measure])
            key = f"{name}/{measure}"
            slopes[key] = slope
            dofs.append(dof)
            items.append((key, tolerance - abs(slope - target), slope_half_width(se, dof)))
    verdicts, margin, spread = judged(items)
    return ClaimRow(
        claim_id="C7",
        claim="discrete and first-order (continuous-style) Carleman differ at O(eta^2)",
        quantity="fitted log-log slope of the difference against eta",
        value="; ".join(f"{k}: {fmt(v)}" for k, v in slopes.items()),
        comparison=f"|slope - {target}| <= {tolerance} for all",
        verdict=combine_verdicts(verdicts),
        source="figS2.csv",
        margin=f"{tolerance} - |slope - {target}|: {margin}",
        noise=f"95% half-width of the slope (t x residual SE, {_dofs(dofs)} dof): {spread}",
    )


def claim_c8(table: Any, bounded_max: float = 0.25, linear_tolerance: float = 0.25) -> ClaimRow:
    """C8 from the figS3 table (``map``, ``kind``, ``order``, ``padding_factor``, ``steps``,
    ``kappa`` and the fitted ``slope``, ``slope_se``, ``fit_dof`` per map and order): without
    padding, the κ-vs-T slope of every dissipative map is at most ``bounded_max`` and that of
    every almost-dissipative (flat-mode) map is 1 within ``linear_tolerance``. Each slope is one
    comparison against its 95% half-width. Other kinds are listed, not judged."""
    fits = (
        table[table["padding_factor"] == 0]
        .groupby(["map", "order"], sort=False)
        .first()
        .reset_index()
    )
    fits["map"] = fits["map"] + "/N=" + fits["order"].astype(str)
    fits["noise"] = [
        slope_half_width(float(se), int(dof))
        for se, dof in zip(fits["slope_se"], fits["fit_dof"], strict=True)
    ]
    diss = fits[fits["kind"] == "dissipative"]
    almost = fits[fits["kind"] == "almost_dissipative"]
    other = fits[~fits["kind"].isin(["dissipative", "almost_dissipative"])]
    items = [(r.map, bounded_max - r.slope, r.noise) for r in diss.itertuples(index=False)] + [
        (r.map, linear_tolerance - abs(r.slope - 1.0), r.noise)
        for r in almost.itertuples(index=False)
    ]
    verdicts, margin, spread = judged(items)
    for half in (diss, almost):
        if half.empty:
            verdicts.append(NOT_RUN)

    def describe(frame) -> str:
        parts = [
            f"{m}: {fmt(s)} +- {fmt(w)}"
            for m, s, w in zip(frame["map"], frame["slope"], frame["noise"], strict=True)
        ]
        return "; ".join(parts) if parts else "none"

    return ClaimRow(
        claim_id="C8",
        claim="kappa(L) bounded in T when fully dissipative, ~linear in T when almost dissipative",
        quantity="fitted log-log slope of kappa(L) against T over the larger half of T",
        value=f"dissipative: {describe(diss)} | almost dissipative: {describe(almost)} | "
        f"other (not judged): {describe(other)}",
        comparison=f"dissipative <= {bounded_max}; almost dissipative within "
        f"{linear_tolerance} of 1",
        verdict=combine_verdicts(verdicts),
        source="figS3.csv",
        margin=f"{bounded_max} - slope (dissipative), {linear_tolerance} - |slope - 1| (almost "
        f"dissipative): {margin}",
        noise=f"95% half-width of the slope (t x residual SE, {_dofs(fits['fit_dof'])} dof): "
        f"{spread}",
    )
