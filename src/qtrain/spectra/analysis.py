"""From raw spectra to the tables of Fig. 2a-b, Fig. 3, figS8 and the claims C2-C4, C13.

Torch-free (numpy, pandas, scipy), so figure and claim rules run in the plotting environment.

Error-proxy time [SPEC §2.5, decided details]: ``t`` counts the (quantum) steps since the last
upload. Uploads happen at step 0 (the pruned start), after every download whose next step is a
quantum step (``sparse``), and after the last classical step of a QRAM block (``qram``); QRAM's
classical steps accrue no linearization error and have no E (NaN). At a download step the table
holds two rows: ``window_end`` (the state before the download, t = window length) and
``upload`` (t = 0: the re-uploaded state). The spectrum ρ used for a row is the latest one
measured at or before its step inside the same upload segment (``rho_in_segment``); when the
segment has none yet (e.g. a QRAM segment that starts between checkpoints) the latest earlier
one is used and the flag is False. A ``window_end`` row never uses the spectrum of its own step
(that checkpoint is taken after the download). ``measured`` marks rows whose ρ was measured at
their own step.

Conventions for a: ``eigenvalue`` (a = −λ, Eq. 7-8 as printed) and ``lr_scaled`` (a = −ηλ, the
authors' draft, and the eigenvalues of F_1 = −ηH).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from qtrain.claims import INCONCLUSIVE, NOT_RUN, ClaimRow, combine_verdicts, judge
from qtrain.io import load_arrays
from qtrain.spectra.error_proxy import error_proxy_curve, log_error_proxy_curve, mode_masses
from qtrain.stats import fmt, replicate_estimate, spearman, spearman_interval

__all__ = [
    "CONVENTIONS",
    "CONVENTION_LABELS",
    "claim_c2",
    "claim_c3",
    "claim_c4",
    "claim_c13",
    "convention_scale",
    "load_spectrum",
    "mass_row",
    "network_proxy_table",
    "probe_quadratures",
    "proxy_curve",
    "rank_correlations",
    "segment_extremes",
    "spearman",
    "upload_steps",
    "window_end_correlations",
]

CONVENTIONS = ("eigenvalue", "lr_scaled")


def convention_scale(convention: str, lr: float) -> float:
    """The factor s in a = −s·λ: 1 for ``eigenvalue``, η for ``lr_scaled``."""
    if convention == "eigenvalue":
        return 1.0
    if convention == "lr_scaled":
        return float(lr)
    raise ValueError(f"convention must be one of {CONVENTIONS}, got {convention!r}")


def load_spectrum(path: str | os.PathLike) -> dict[str, Any]:
    """A spectrum saved by :meth:`qtrain.spectra.lanczos.SpectralDensity.save` (numpy only; a
    damaged file raises :class:`qtrain.io.UnreadableFileError` naming it)."""
    out: dict[str, Any] = {}
    for key, value in load_arrays(path, keys=("nodes", "weights", "meta")).items():
        if key == "meta":
            out[key] = json.loads(str(value))
        elif value.ndim == 0:
            out[key] = value.item()
        else:
            out[key] = value
    return out


def mass_row(
    nodes: np.ndarray,
    weights: np.ndarray,
    lr: float,
    cutoff: float,
    conventions: Sequence[str] = CONVENTIONS,
) -> dict[str, float]:
    """Extreme Ritz values and, per convention, the dissipative (a < −c) and divergent (a > c)
    masses, their ratio and the weight N_c beyond the cut-off."""
    row: dict[str, float] = {
        "lambda_min": float(np.min(nodes)),
        "lambda_max": float(np.max(nodes)),
        "negative_mass": float(np.sum(weights[nodes < 0])),
    }
    for conv in conventions:
        diss, div = mode_masses(nodes, weights, cutoff, convention_scale(conv, lr))
        row[f"dissipative_{conv}"] = diss
        row[f"divergent_{conv}"] = div
        row[f"ratio_{conv}"] = diss / div if div > 0 else (math.inf if diss > 0 else math.nan)
        row[f"n_c_{conv}"] = diss + div
    return row


def upload_steps(records: pd.DataFrame) -> list[int]:
    """Steps after which the weights are (re-)uploaded: 0, then after each download whose next
    step is a quantum step and after each classical block followed by a quantum step."""
    rec = records.sort_values("step").reset_index(drop=True)
    steps = rec["step"].astype(int).tolist()
    phases = rec["phase"].tolist()
    downloads = rec["download"].astype(bool).tolist()
    uploads = [0]
    for i, step in enumerate(steps[:-1]):
        if phases[i + 1] == "quantum" and (downloads[i] or phases[i] == "classical"):
            uploads.append(step)
    return uploads


def _pick_rho(spectrum_steps: np.ndarray, start: int, step: int, strict: bool) -> tuple[int, bool]:
    below = (
        spectrum_steps[spectrum_steps < step] if strict else spectrum_steps[spectrum_steps <= step]
    )
    if below.size == 0:
        return -1, False
    inside = below[below >= start]
    if inside.size:
        return int(inside.max()), True
    return int(below.max()), False


def proxy_curve(
    records: pd.DataFrame,
    spectra: Mapping[int, tuple[np.ndarray, np.ndarray]],
    lr: float,
    cutoff: float = 0.4,
    conventions: Sequence[str] = CONVENTIONS,
) -> pd.DataFrame:
    """E(t) of one variant at every step (module docstring for t, ρ and the row kinds).

    ``records``: the variant's ``records.csv`` (columns ``step``, ``phase``, ``download``);
    ``spectra``: ``{step: (nodes, weights)}`` of its measured spectra.
    """
    if not spectra:
        raise ValueError("no spectra given")
    rec = records.sort_values("step").reset_index(drop=True)
    uploads = set(upload_steps(rec))
    spectrum_steps = np.array(sorted(spectra), dtype=int)
    rows: list[dict[str, Any]] = []
    segment, start = 0, 0

    def add(step: int, kind: str, t: float, strict: bool = False) -> None:
        rho, inside = _pick_rho(spectrum_steps, start, step, strict)
        row: dict[str, Any] = {
            "step": step,
            "kind": kind,
            "segment": segment,
            "t": t,
            "rho_step": rho,
            "rho_in_segment": inside,
            "measured": rho == step and kind != "window_end",
        }
        for conv in conventions:
            if rho < 0 or not np.isfinite(t):
                row[f"E_{conv}"] = math.nan
                row[f"logE_{conv}"] = math.nan
            else:
                nodes, weights = spectra[rho]
                scale = convention_scale(conv, lr)
                row[f"E_{conv}"] = float(error_proxy_curve(nodes, weights, [t], cutoff, scale)[0])
                row[f"logE_{conv}"] = float(
                    log_error_proxy_curve(nodes, weights, [t], cutoff, scale)[0]
                )
        rows.append(row)

    add(0, "upload", 0.0)
    for step, phase, download in zip(
        rec["step"].astype(int), rec["phase"], rec["download"].astype(bool), strict=True
    ):
        if phase == "classical":
            add(step, "classical", math.nan)
        else:
            add(step, "window_end" if download else "quantum", float(step - start), download)
        if step in uploads:
            segment, start = segment + 1, step
            add(step, "upload", 0.0)
    return pd.DataFrame(rows)


def segment_extremes(curve: pd.DataFrame, conv: str) -> pd.DataFrame:
    """Per upload segment: first/last step, E at the start, the minimum (t and value), the
    maximum, the fitted growth rate of ln E per step after the minimum, and whether E first
    falls (minimum below E(0) at t > 0) and then grows (rate > 0 and last E above the minimum)."""
    out = []
    col = f"E_{conv}"
    for seg, rows in curve[curve["kind"] != "classical"].groupby("segment", sort=True):
        rows = rows.sort_values(["t", "step"])
        e = rows[col].to_numpy(dtype=float)
        t = rows["t"].to_numpy(dtype=float)
        record: dict[str, Any] = {
            "segment": int(seg),
            "first_step": int(rows["step"].min()),
            "last_step": int(rows["step"].max()),
            "points": len(rows),
            "E_start": float(e[0]) if e.size else math.nan,
        }
        valid = ~np.isnan(e)
        if valid.sum() < 3:
            record.update(
                t_min=math.nan,
                E_min=math.nan,
                E_max=float(np.nanmax(e)) if valid.any() else math.nan,
                E_end=float(e[-1]) if e.size else math.nan,
                growth_rate=math.nan,
                falls=False,
                grows=False,
            )
            out.append(record)
            continue
        ev, tv = e[valid], t[valid]
        i_min = int(np.argmin(ev))
        after_e, after_t = ev[i_min:], tv[i_min:]
        finite = np.isfinite(after_e) & (after_e > 0)
        rate = math.nan
        if finite.sum() >= 2 and np.ptp(after_t[finite]) > 0:
            rate = float(np.polyfit(after_t[finite], np.log(after_e[finite]), 1)[0])
        overflow = bool(np.isinf(after_e).any())
        grows = bool(after_e[-1] > ev[i_min] and (overflow or rate > 0))
        record.update(
            t_min=float(tv[i_min]),
            E_min=float(ev[i_min]),
            E_max=float(np.max(ev)),
            E_end=float(ev[-1]),
            growth_rate=math.inf if overflow and not np.isfinite(rate) else rate,
            falls=bool(tv[i_min] > 0 and ev[i_min] < ev[0]),
            grows=grows,
        )
        out.append(record)
    return pd.DataFrame(out)


def network_proxy_table(
    windows: Sequence[pd.DataFrame],
    spectra: Mapping[int, tuple[np.ndarray, np.ndarray]],
    cutoff: float = 0.4,
    conventions: Sequence[str] = CONVENTIONS,
) -> pd.DataFrame:
    """The linearized windows beside the proxy: one row per setting (window × learning rate)
    and step t.

    ``windows``: linearized tables (columns ``window``, ``lr``, ``t``, ``start_step``, ``gap``,
    …); the proxy uses the spectrum measured at the window's first checkpoint θ̄ (the expansion
    point; the latest spectrum at or before it if none was measured there: ``rho_step``) and,
    for ``lr_scaled``, the table's own learning rate. ``proxy_<conv>`` is E(t),
    ``log_proxy_<conv>`` ln E(t) (finite where E overflows).
    """
    spectrum_steps = np.array(sorted(spectra), dtype=int)
    frames = []
    for table in sorted(windows, key=lambda t: (int(t["window"].iloc[0]), float(t["lr"].iloc[0]))):
        frame = table.sort_values("t").reset_index(drop=True).copy()
        start = int(frame["start_step"].iloc[0])
        lr = float(frame["lr"].iloc[0])
        before = spectrum_steps[spectrum_steps <= start]
        frame["rho_step"] = int(before.max()) if before.size else -1
        ts = frame["t"].to_numpy(dtype=float)
        for conv in conventions:
            if before.size:
                nodes, weights = spectra[int(before.max())]
                scale = convention_scale(conv, lr)
                frame[f"proxy_{conv}"] = error_proxy_curve(nodes, weights, ts, cutoff, scale)
                frame[f"log_proxy_{conv}"] = log_error_proxy_curve(
                    nodes, weights, ts, cutoff, scale
                )
            else:
                frame[f"proxy_{conv}"] = math.nan
                frame[f"log_proxy_{conv}"] = math.nan
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _proxy_column(table: pd.DataFrame, conv: str) -> str:
    """The column the correlations rank: ln E where present (finite), else E."""
    return f"log_proxy_{conv}" if f"log_proxy_{conv}" in table else f"proxy_{conv}"


def rank_correlations(
    table: pd.DataFrame,
    setting_columns: Sequence[str],
    error_column: str,
    conventions: Sequence[str] = CONVENTIONS,
    measurement: str = "",
) -> pd.DataFrame:
    """``kind = over_t``: per setting, the Spearman correlation between each convention's proxy
    (columns ``proxy_<convention>``) and the true error over the steps t ≥ 1 of the window."""
    rows = []
    use = table[table["t"] >= 1]
    for key, group in use.groupby(list(setting_columns), sort=True):
        key = key if isinstance(key, tuple) else (key,)
        row: dict[str, Any] = {"measurement": measurement, "kind": "over_t"}
        row["setting"] = ", ".join(f"{c}={v}" for c, v in zip(setting_columns, key, strict=True))
        row["points"] = len(group)
        for conv in conventions:
            row[f"spearman_{conv}"] = spearman(
                group[_proxy_column(group, conv)], group[error_column]
            )
        rows.append(row)
    return pd.DataFrame(rows)


def window_end_correlations(
    table: pd.DataFrame,
    setting_columns: Sequence[str],
    group_columns: Sequence[str],
    error_column: str,
    conventions: Sequence[str] = CONVENTIONS,
    measurement: str = "",
    coverage: float = 2.0,
) -> pd.DataFrame:
    """``kind = window_end``: across settings (``setting_columns``), the Spearman correlation
    between the proxy and the true error at each setting's last step, per group (e.g. per
    Carleman order): does a larger proxy go with a larger error? With its bootstrap noise
    (``noise_<convention>``, ``coverage`` standard deviations) and one-sided p-value."""
    keys = list(setting_columns) + list(group_columns)
    use = table[table["t"] >= 1]
    last = use.loc[use.groupby(keys)["t"].idxmax()]
    groups = last.groupby(list(group_columns), sort=True) if group_columns else [((), last)]
    rows = []
    for key, group in groups:
        key = key if isinstance(key, tuple) else (key,)
        label = ", ".join(f"{c}={v}" for c, v in zip(group_columns, key, strict=True))
        row: dict[str, Any] = {
            "measurement": measurement,
            "kind": "window_end",
            "setting": f"across {', '.join(setting_columns)}" + (f"; {label}" if label else ""),
            "points": len(group),
        }
        for conv in conventions:
            rho, noise, p_value, _ = spearman_interval(
                group[_proxy_column(group, conv)], group[error_column], coverage
            )
            row[f"spearman_{conv}"] = rho
            row[f"noise_{conv}"] = noise
            row[f"p_value_{conv}"] = p_value
        rows.append(row)
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------ claims
# Every comparison: a signed margin (positive = on the claim's side), the noise it is judged
# against (coverage x standard error over the replicate estimates: training seeds x Lanczos
# probes), and a three-valued verdict (qtrain.claims.judge). Claims that depend on the
# a-convention get one row per convention, with N_c (the mass beyond the cut-off) shown.

CONVENTION_LABELS = {"eigenvalue": "a = -lambda", "lr_scaled": "a = -eta*lambda"}


def probe_quadratures(spectrum: Mapping[str, Any]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each Lanczos probe's own quadrature ``(nodes, weights)`` of a loaded spectrum, its
    weights rescaled to sum to 1 (one replicate estimate of the density per probe)."""
    nodes = np.asarray(spectrum["nodes"], dtype=float)
    weights = np.asarray(spectrum["weights"], dtype=float)
    probe = spectrum.get("probe")
    if probe is None or np.size(probe) == 0:
        return [(nodes, weights)]
    probe = np.asarray(probe)
    out = []
    for p in np.unique(probe):
        sel = probe == p
        total = weights[sel].sum()
        out.append((nodes[sel], weights[sel] / total if total > 0 else weights[sel]))
    return out


def _convention_row(
    claim_id: str,
    claim: str,
    conv: str,
    quantity: str,
    value: str,
    comparison: str,
    verdicts: Sequence[str],
    margins: Sequence[str],
    noises: Sequence[str],
    source: str,
) -> ClaimRow:
    return ClaimRow(
        claim_id=claim_id,
        claim=f"{claim} [{CONVENTION_LABELS.get(conv, conv)}]",
        quantity=quantity,
        value=value,
        comparison=comparison,
        verdict=combine_verdicts(verdicts),
        source=source,
        margin="; ".join(margins),
        noise="; ".join(noises),
    )


def claim_c2(
    main: Sequence[Mapping[str, float]],
    large: Sequence[Mapping[str, float]],
    conventions: Sequence[str],
    main_label: str,
    large_label: str,
    coverage: float = 2.0,
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
                [e[f"dissipative_{conv}"] - e[f"divergent_{conv}"] for e in estimates], coverage
            )
            diss = replicate_estimate([e[f"dissipative_{conv}"] for e in estimates], coverage)
            div = replicate_estimate([e[f"divergent_{conv}"] for e in estimates], coverage)
            n_c = replicate_estimate([e[f"n_c_{conv}"] for e in estimates], coverage)
            values.append(
                f"{label}: dissipative {fmt(diss.mean)} vs divergent {fmt(div.mean)} "
                f"(N_c {fmt(n_c.mean)})"
            )
            margins.append(f"{label}: {fmt(diff.mean)}")
            noises.append(f"{label}: {_noise_text(diff, noise_source)}")
            verdicts.append(INCONCLUSIVE if not n_c.mean > 0 else judge(diff.mean, diff.noise))
        rows.append(
            _convention_row(
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
    coverage: float = 2.0,
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
        fall = replicate_estimate([f for f, _ in shapes], coverage)
        grow = replicate_estimate([g for _, g in shapes], coverage)
        nc = math.nan if n_c is None else float(n_c.get(conv, math.nan))
        empty = n_c is not None and not nc > 0
        verdicts = (
            [INCONCLUSIVE]
            if empty
            else [judge(fall.mean, fall.noise), judge(grow.mean, grow.noise)]
        )
        rows.append(
            _convention_row(
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
    coverage: float = 2.0,
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
            est = replicate_estimate(diffs, coverage)
            values.append(f"steps {lo}-{hi}")
            margins.append(f"steps {lo}-{hi}: {fmt(est.mean)}")
            noises.append(f"steps {lo}-{hi}: {_noise_text(est, noise_source)}")
            verdicts.append(judge(est.mean, est.noise))
        rows.append(
            _convention_row(
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


def claim_c13(
    correlations: pd.DataFrame,
    conventions: Sequence[str],
    min_correlation: float = 0.5,
    n_c: Mapping[str, float] | None = None,
) -> list[ClaimRow]:
    """C13, one row per convention: in each measurement (``polynomial``: exact Carleman error of
    small polynomial models, per Carleman order; ``network``: N = 1 linearized windows × learning
    rates) the Spearman correlation across settings between the proxy and the true error at the
    window end exceeds ``min_correlation`` by more than its bootstrap noise. Correlations over t
    inside one window are reported, not judged (both curves rise from 0 by construction)."""
    claim = "the error proxy predicts the true linearization error"
    source = "proxy_check/correlations.csv"
    rows = []
    for conv in conventions:
        values, margins, noises, verdicts = [], [], [], []
        for measurement in ("polynomial", "network"):
            sub = correlations[
                (correlations["measurement"] == measurement)
                & (correlations["kind"] == "window_end")
            ]
            if sub.empty:
                values.append(f"{measurement}: not run")
                verdicts.append(NOT_RUN)
                continue
            for r in sub.itertuples(index=False):
                rho = float(getattr(r, f"spearman_{conv}"))
                noise = float(getattr(r, f"noise_{conv}"))
                p_value = float(getattr(r, f"p_value_{conv}"))
                label = f"{measurement} ({r.setting}, {int(r.points)} points)"
                values.append(f"{label}: rho {fmt(rho)}, p {fmt(p_value, 2)}")
                margins.append(f"{label}: {fmt(rho - min_correlation)}")
                noises.append(f"{label}: {fmt(noise)} (bootstrap over settings)")
                verdicts.append(judge(rho - min_correlation, noise))
            over = correlations[
                (correlations["measurement"] == measurement) & (correlations["kind"] == "over_t")
            ][f"spearman_{conv}"].to_numpy(dtype=float)
            over = over[np.isfinite(over)]
            if over.size:
                values.append(
                    f"{measurement} over t (not judged): median {fmt(float(np.median(over)))}"
                )
        if n_c is not None:
            values.append(f"N_c at the window starts: {fmt(float(n_c.get(conv, math.nan)))}")
        present = [v for v in verdicts if v != NOT_RUN]
        rows.append(
            _convention_row(
                "C13",
                claim,
                conv,
                "Spearman correlation across settings of E(T) and the true error at the window "
                "end (T = window length), with a bootstrap interval",
                "; ".join(values),
                f"rho - {min_correlation} > noise in every measurement",
                verdicts if len(present) == len(verdicts) else [*present, INCONCLUSIVE],
                margins,
                noises,
                source,
            )
        )
    return rows
