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
    ``log10_factor_se``, ``fit_dof`` of log10 ‖u(T) − ŷ_1(T)‖ against N, ``R``,
    ``spectral_radius``): every map with R < 1 falls at least by ``max_factor`` per order, and
    every divergent map (ρ(I + F_1) > 1) does not (its fitted factor is above ``max_factor``, or
    its error grows). The errors are taken from log-domain norms, so a divergent map whose exact
    iteration overflows still has a finite slope. Each map is one comparison: margin (decades
    per order, positive on the claim's side) against the 95% half-width of the slope. Maps with
    R ≥ 1 that are not divergent (R is only a sufficient condition) are listed, not judged."""
    maps = table.groupby("map", sort=False).first().reset_index()
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
    for half in (diss_items, div_items):
        if not half:  # that half of the claim is not measured in this run
            verdicts.append(NOT_RUN)

    def describe(mask) -> str:
        parts = []
        for r in maps[mask].itertuples(index=False):
            width = noise[r.map]
            slope = float(r.log10_factor)
            text = (
                f"{r.map}: {fmt(_pow10(slope))} "
                f"[{fmt(_pow10(slope - width))}, {fmt(_pow10(slope + width))}]"
            )
            if bool(getattr(r, "exact_diverged", False)):
                text += (
                    f" (exact iteration overflows: ||u(T)|| = 10^{fmt(float(r.log10_norm_u_T))})"
                )
            parts.append(text)
        return "; ".join(parts) if parts else "none"

    value = (
        f"factor per order [95% interval], R<1 maps: {describe(dissipative)} | divergent maps: "
        f"{describe(divergent)} | R>=1 non-divergent (not judged): {describe(other)}"
    )
    return ClaimRow(
        claim_id="C6",
        claim="discrete Carleman error falls geometrically with N when dissipative (R < 1), "
        "not otherwise",
        quantity="least-squares factor per order of the error at T, fitted to log10 of the error "
        "computed from log-domain norms (finite where the exact map overflows)",
        value=value,
        comparison=f"R<1 maps: factor <= {max_factor}; divergent maps: factor > {max_factor} "
        "(no geometric fall); every map is one comparison",
        verdict=combine_verdicts(verdicts),
        source="figS1.csv",
        margin="decades per order, log10(factor) beyond log10("
        f"{max_factor}) on the claim's side: {margin}",
        noise=f"95% half-width of the fitted slope (t x residual SE, {_dofs(maps['fit_dof'])} "
        f"dof): {spread}",
    )


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
