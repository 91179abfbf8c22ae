"""Claims C2, C3 and C4 (Hessian spectra and the error proxy), each judged once per
a-convention (C13, the proxy against the true linearization error: :mod:`qtrain.claims.proxy`).

Every comparison has a signed margin (positive = on the claim's side) and is judged against
the noise of its replicate estimates (a t or bootstrap interval over training seeds x Lanczos
probes, :func:`qtrain.stats.replicate_estimate`); N_c, the mass beyond the cut-off, is shown.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from qtrain.claims.core import INCONCLUSIVE, NOT_RUN, ClaimRow, convention_row, judge
from qtrain.spectra.density import load_spectrum, mass_row, probe_quadratures
from qtrain.stats import NOISE_LEVEL, fmt, replicate_estimate

__all__ = ["claim_c2", "claim_c3", "claim_c4", "spectra_claims"]


def claim_c2(
    main: Sequence[Mapping[str, float]],
    large: Sequence[Mapping[str, float]],
    conventions: Sequence[str],
    main_label: str,
    large_label: str,
    level: float = NOISE_LEVEL,
    noise_source: str = "seeds x probes",
) -> list[ClaimRow]:
    """C2, one row per convention: the dissipative mass exceeds the divergent one for the main
    model at step 0 and the large model after pruning. ``main``/``large``: one :func:`mass_row`
    per replicate estimate (training seed × Lanczos probe)."""
    rows = []
    for conv in conventions:
        values, margins, noises, verdicts = [], [], [], []
        for label, estimates in ((main_label, main), (large_label, large)):
            if not estimates:
                continue
            diff = replicate_estimate(
                [e[f"dissipative_{conv}"] - e[f"divergent_{conv}"] for e in estimates], level
            )
            diss = replicate_estimate([e[f"dissipative_{conv}"] for e in estimates], level)
            div = replicate_estimate([e[f"divergent_{conv}"] for e in estimates], level)
            n_c = replicate_estimate([e[f"n_c_{conv}"] for e in estimates], level)
            values.append(
                f"{label}: dissipative {fmt(diss.mean)} vs divergent {fmt(div.mean)} "
                f"(N_c {fmt(n_c.mean)})"
            )
            margins.append(f"{label}: {fmt(diff.mean)}")
            noises.append(f"{label}: {_noise_text(diff, noise_source)}")
            verdicts.append(INCONCLUSIVE if not n_c.mean > 0 else judge(diff.mean, diff.noise))
        rows.append(
            convention_row(
                "C2",
                "after pruning, dissipative modes dominate divergent ones (main model at step 0, "
                "large model in Fig. 3)",
                conv,
                "spectral mass with a < -c vs a > c (dissipative vs divergent), mean over "
                "replicate estimates",
                "; ".join(values),
                "margin = dissipative - divergent > noise for both models (N_c = 0: inconclusive)",
                verdicts,
                margins,
                noises,
                "seed_*/spectra/*/step_00000.npz, seed_*/large_model/spectrum.npz",
            )
        )
    return rows


def _noise_text(estimate, source: str) -> str:
    if estimate.count == 0:
        return "undefined (no finite estimate: E or the margin is undefined, e.g. N_c = 0)"
    if estimate.count < 2:
        return "not measured (1 finite estimate)"
    return f"{fmt(estimate.noise)} ({estimate.count} estimates: {source})"


def _segment_shape(curve: pd.DataFrame, conv: str) -> tuple[float, float]:
    """(fall, growth) of ln E on the longest upload segment of ``curve``: ``fall`` = ln E(0) −
    min ln E(t) over 0 < t ≤ T/2 (> 0: E first falls); ``growth`` = fitted slope of ln E against
    t over t ≥ T/2 (> 0: E grows once past the first half). NaN when undefined."""
    rows = curve[(curve["kind"] != "classical") & np.isfinite(curve["t"])]
    if rows.empty:
        return math.nan, math.nan
    longest = rows.groupby("segment")["t"].max().idxmax()
    seg = rows[rows["segment"] == longest].sort_values(["t", "step"])
    seg = seg.drop_duplicates("t", keep="last")
    t = seg["t"].to_numpy(dtype=float)
    log_e = seg[f"logE_{conv}"].to_numpy(dtype=float)
    if t.size < 4 or np.isnan(log_e).all():
        return math.nan, math.nan
    half = t.max() / 2
    start = log_e[t == 0]
    first = log_e[(t > 0) & (t <= half)]
    fall = float(start[0] - np.nanmin(first)) if start.size and first.size else math.nan
    late = (t >= half) & np.isfinite(log_e)
    growth = math.nan
    if late.sum() >= 2 and np.ptp(t[late]) > 0:
        growth = float(np.polyfit(t[late], log_e[late], 1)[0])
    return fall, growth


def claim_c3(
    estimates: Sequence[Mapping[str, pd.DataFrame]],
    conventions: Sequence[str],
    level: float = NOISE_LEVEL,
    n_c: Mapping[str, float] | None = None,
    noise_source: str = "seeds x probes",
) -> list[ClaimRow]:
    """C3, one row per convention: on the longest upload segment (of ``continuous`` when run)
    ln E first falls (``fall`` > 0) and then grows (``growth`` > 0), see :func:`_segment_shape`.
    ``estimates``: one ``{variant: error-proxy curve}`` per replicate estimate."""
    claim = "error proxy first falls, then grows exponentially once divergent modes take over"
    source = "seed_*/spectra/<variant>/error_proxy_probes.csv"
    if not estimates or not estimates[0]:
        return [ClaimRow("C3", claim, "", "no spectra", "", NOT_RUN, source)]
    first = estimates[0]
    name = "continuous" if "continuous" in first else max(first, key=lambda k: len(first[k]))
    rows = []
    for conv in conventions:
        shapes = [_segment_shape(e[name], conv) for e in estimates if name in e]
        fall = replicate_estimate([f for f, _ in shapes], level)
        grow = replicate_estimate([g for _, g in shapes], level)
        nc = math.nan if n_c is None else float(n_c.get(conv, math.nan))
        empty = n_c is not None and not nc > 0
        verdicts = (
            [INCONCLUSIVE]
            if empty
            else [judge(fall.mean, fall.noise), judge(grow.mean, grow.noise)]
        )
        rows.append(
            convention_row(
                "C3",
                claim,
                conv,
                "on the longest segment: fall = ln E(0) - min ln E over the first half; growth "
                "= slope of ln E per step over the second half",
                f"{name}: fall {fmt(fall.mean)}, growth {fmt(grow.mean)} per step "
                f"(N_c at step 0: {fmt(nc)})",
                "fall > noise and growth > noise (N_c = 0: inconclusive)",
                verdicts,
                [f"fall {fmt(fall.mean)}", f"growth {fmt(grow.mean)}"],
                [
                    f"fall {_noise_text(fall, noise_source)}",
                    f"growth {_noise_text(grow, noise_source)}",
                ],
                source,
            )
        )
    return rows


def claim_c4(
    estimates: Sequence[Mapping[str, pd.DataFrame]],
    conventions: Sequence[str],
    level: float = NOISE_LEVEL,
    noise_source: str = "seeds x probes",
    n_c: Mapping[str, float] | None = None,
) -> list[ClaimRow]:
    """C4, one row per convention: in every restarted window of ``sparse`` (segments ≥ 1) the
    maximum of ln E stays below the ``continuous`` variant's maximum over the same steps: the
    margin is ln max E(continuous) − ln max E(sparse) per window, averaged over the replicate
    estimates (each a ``{variant: error-proxy curve}``)."""
    claim = "re-uploading every window restarts the error at 0 and keeps it bounded"
    source = "seed_*/spectra/<variant>/error_proxy_probes.csv"
    if not estimates or not {"sparse", "continuous"} <= set(estimates[0]):
        return [
            ClaimRow(
                "C4",
                claim,
                "max E per window, sparse vs continuous",
                "needs the sparse and continuous variants",
                "",
                NOT_RUN,
                source,
            )
        ]
    segments = sorted(set(estimates[0]["sparse"]["segment"]) - {0})
    rows = []
    for conv in conventions:
        col = f"logE_{conv}"
        values, margins, noises, verdicts = [], [], [], []
        for seg in segments:
            diffs = []
            for e in estimates:
                sparse, cont = e["sparse"], e["continuous"]
                q = sparse[(sparse["segment"] == seg) & (sparse["kind"] != "classical")]
                lo, hi = int(q["step"].min()), int(q["step"].max())
                c = cont[(cont["kind"] != "classical") & cont["step"].between(lo, hi)]
                diffs.append(float(c[col].max()) - float(q[col].max()))
            est = replicate_estimate(diffs, level)
            values.append(f"steps {lo}-{hi}")
            margins.append(f"steps {lo}-{hi}: {fmt(est.mean)}")
            noises.append(f"steps {lo}-{hi}: {_noise_text(est, noise_source)}")
            verdicts.append(judge(est.mean, est.noise))
        rows.append(
            convention_row(
                "C4",
                claim,
                conv,
                "ln max E(continuous) - ln max E(sparse) per restarted window, over the same steps",
                f"{len(segments)} restarted windows: "
                + ", ".join(values)
                + (
                    ""
                    if n_c is None
                    else f" (N_c at step 0: {fmt(float(n_c.get(conv, math.nan)))})"
                ),
                "margin > noise in every restarted window",
                verdicts,
                margins,
                noises,
                source,
            )
        )
    return rows


def _seed_of(path: str) -> int:
    return int(re.search(r"seed_(\d+)/", str(path)).group(1))


def _mass_estimates(
    paths: Sequence[str], lr: float, cutoff: float, conventions: Sequence[str]
) -> list[dict[str, float]]:
    """One mass row per (seed, probe) of the spectra in ``paths``."""
    return [
        mass_row(nodes, weights, lr, cutoff, conventions)
        for path in paths
        for nodes, weights in probe_quadratures(load_spectrum(path))
    ]


def spectra_claims(
    curves: Mapping[str, pd.DataFrame],
    main: Sequence[str],
    large: Sequence[str],
    *,
    lr: float,
    cutoff: float,
    conventions: Sequence[str],
    level: float,
    seeds: Sequence[int],
    main_label: str,
    large_label: str,
) -> list[ClaimRow]:
    """C2, C3 and C4 (one row per convention each): ``curves`` maps each variant's per-probe
    error-proxy table path (every seed) to its table; ``main`` and ``large`` are the spectrum
    files of the main model at step 0 and the large model (every seed)."""
    conventions = list(conventions)
    by_estimate: dict[tuple[int, int], dict[str, pd.DataFrame]] = {}
    for path, table in curves.items():
        for probe, rows in table.groupby("probe"):
            key = (_seed_of(path), int(probe))
            by_estimate.setdefault(key, {})[str(rows["variant"].iloc[0])] = rows
    estimates = [by_estimate[key] for key in sorted(by_estimate)]
    main_masses = _mass_estimates(main, lr, cutoff, conventions)
    large_masses = _mass_estimates(large, lr, cutoff, conventions)
    probes = len({probe for _, probe in by_estimate})
    source = f"{len(seeds)} seed(s) x {probes} probe(s)"
    n_c = {c: float(np.mean([m[f"n_c_{c}"] for m in main_masses])) for c in conventions}
    return [
        *claim_c2(main_masses, large_masses, conventions, main_label, large_label, level, source),
        *claim_c3(estimates, conventions, level, n_c, source),
        *claim_c4(estimates, conventions, level, source, n_c),
    ]
