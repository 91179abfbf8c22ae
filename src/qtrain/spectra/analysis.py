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

from qtrain.claims import HOLDS, NOT_HOLDING, NOT_RUN, ClaimRow
from qtrain.io import load_arrays
from qtrain.spectra.error_proxy import error_proxy_curve, mode_masses

__all__ = [
    "CONVENTIONS",
    "claim_c2",
    "claim_c3",
    "claim_c4",
    "claim_c13",
    "convention_scale",
    "load_spectrum",
    "mass_row",
    "network_proxy_table",
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
            else:
                nodes, weights = spectra[rho]
                scale = convention_scale(conv, lr)
                row[f"E_{conv}"] = float(error_proxy_curve(nodes, weights, [t], cutoff, scale)[0])
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


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman rank correlation over the pairs where both are not NaN (inf ranks highest);
    NaN with fewer than 3 pairs or a constant side."""
    from scipy.stats import spearmanr

    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    keep = ~(np.isnan(x) | np.isnan(y))
    if keep.sum() < 3:
        return math.nan
    xs, ys = x[keep], y[keep]
    if np.unique(xs).size < 2 or np.unique(ys).size < 2:
        return math.nan
    # spearmanr ranks inf correctly (largest) but warns; replace by a value above the maximum
    for arr in (xs, ys):
        fin = arr[np.isfinite(arr)]
        top = (fin.max() if fin.size else 0.0) + 1.0
        arr[np.isposinf(arr)] = top * 2 if top > 0 else 1.0
        arr[np.isneginf(arr)] = (fin.min() if fin.size else 0.0) - 1.0
    return float(spearmanr(xs, ys).statistic)


def network_proxy_table(
    windows: Mapping[int, pd.DataFrame],
    spectra: Mapping[int, tuple[np.ndarray, np.ndarray]],
    lr: float,
    cutoff: float = 0.4,
    conventions: Sequence[str] = CONVENTIONS,
) -> pd.DataFrame:
    """The linearized windows beside the proxy: one row per window and step t ≥ 1.

    ``windows``: ``{window: linearized table}`` (columns ``t``, ``start_step``, ``gap``, …);
    the proxy uses the spectrum measured at the window's first checkpoint θ̄ (the expansion
    point; the latest spectrum at or before it if none was measured there: ``rho_step``).
    """
    spectrum_steps = np.array(sorted(spectra), dtype=int)
    frames = []
    for window, table in sorted(windows.items()):
        table = table.sort_values("t").reset_index(drop=True)
        start = int(table["start_step"].iloc[0])
        before = spectrum_steps[spectrum_steps <= start]
        frame = table.copy()
        frame["window"] = int(window)
        frame["rho_step"] = int(before.max()) if before.size else -1
        for conv in conventions:
            if before.size:
                nodes, weights = spectra[int(before.max())]
                scale = convention_scale(conv, lr)
                frame[f"proxy_{conv}"] = error_proxy_curve(
                    nodes, weights, frame["t"].to_numpy(dtype=float), cutoff, scale
                )
            else:
                frame[f"proxy_{conv}"] = math.nan
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


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
            row[f"spearman_{conv}"] = spearman(group[f"proxy_{conv}"], group[error_column])
        rows.append(row)
    return pd.DataFrame(rows)


def window_end_correlations(
    table: pd.DataFrame,
    setting_columns: Sequence[str],
    group_columns: Sequence[str],
    error_column: str,
    conventions: Sequence[str] = CONVENTIONS,
    measurement: str = "",
) -> pd.DataFrame:
    """``kind = window_end``: across settings (``setting_columns``), the Spearman correlation
    between the proxy and the true error at each setting's last step, per group (e.g. per
    Carleman order); does a larger proxy go with a larger error?"""
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
            row[f"spearman_{conv}"] = spearman(group[f"proxy_{conv}"], group[error_column])
        rows.append(row)
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------ claims


def _fmt(x: float) -> str:
    if isinstance(x, float) and math.isnan(x):
        return "nan"
    if isinstance(x, float) and math.isinf(x):
        return "inf"
    return f"{x:.3g}"


def claim_c2(
    main: Mapping[str, float],
    large: Mapping[str, float] | None,
    conventions: Sequence[str],
    main_label: str,
    large_label: str,
) -> ClaimRow:
    """C2: dissipative mass > divergent mass for the main model at step 0 and the large model
    after pruning (verdict in the first convention; the others are reported)."""
    primary = conventions[0]
    parts, ok = [], True
    for label, row in ((main_label, main), (large_label, large)):
        if row is None:
            continue
        for conv in conventions:
            d, v = row[f"dissipative_{conv}"], row[f"divergent_{conv}"]
            parts.append(f"{label} [{conv}]: {_fmt(d)} vs {_fmt(v)}")
        ok &= row[f"dissipative_{primary}"] > row[f"divergent_{primary}"]
    return ClaimRow(
        claim_id="C2",
        claim="after pruning, dissipative modes dominate divergent ones (main model at step 0, "
        "large model in Fig. 3)",
        quantity="spectral mass with a < -c vs a > c (dissipative vs divergent)",
        value="; ".join(parts),
        comparison=f"dissipative > divergent for both models, a-convention {primary}",
        verdict=HOLDS if ok else NOT_HOLDING,
        source="spectra/masses.csv, large_model/masses.csv",
    )


def claim_c3(curves: Mapping[str, pd.DataFrame], conventions: Sequence[str]) -> ClaimRow:
    """C3: on the longest upload segment (the ``continuous`` variant when run) E first falls to
    a minimum at t > 0, then grows (ln E rises per step after it). Window counts of the other
    variants are reported."""
    primary = conventions[0]
    claim = "error proxy first falls, then grows exponentially once divergent modes take over"
    source = "spectra/<variant>/error_proxy.csv"
    if not curves:
        return ClaimRow("C3", claim, "", "no spectra", "", NOT_RUN, source)
    name = "continuous" if "continuous" in curves else max(curves, key=lambda k: len(curves[k]))
    parts = []
    verdict = NOT_HOLDING
    for conv in conventions:
        ext = segment_extremes(curves[name], conv)
        main = ext.sort_values("points", ascending=False).iloc[0]
        parts.append(
            f"{name} [{conv}]: E falls to {_fmt(main['E_min'])} at t={_fmt(main['t_min'])}, "
            f"then ln E grows {_fmt(main['growth_rate'])}/step to {_fmt(main['E_end'])}"
        )
        if conv == primary and bool(main["falls"]) and bool(main["grows"]):
            verdict = HOLDS
        for other, curve in curves.items():
            if other == name:
                continue
            e = segment_extremes(curve, conv)
            e = e[e["points"] >= 3]
            parts.append(
                f"{other} [{conv}]: {int((e['falls'] & e['grows']).sum())}/{len(e)} segments "
                "fall then grow"
            )
    return ClaimRow(
        claim_id="C3",
        claim=claim,
        quantity="minimum of E(t) inside the segment and the fitted growth of ln E after it",
        value="; ".join(parts),
        comparison=f"minimum at t > 0 below E(0) and growth rate > 0 ({name}, {primary})",
        verdict=verdict,
        source=source,
    )


def claim_c4(curves: Mapping[str, pd.DataFrame], conventions: Sequence[str]) -> ClaimRow:
    """C4: after every restart (segments ≥ 1 of ``sparse``), the maximum of E over the segment
    is below the ``continuous`` variant's maximum over the same steps, and finite."""
    primary = conventions[0]
    if "sparse" not in curves or "continuous" not in curves:
        return ClaimRow(
            "C4",
            "re-uploading every window restarts the error and keeps it bounded",
            "max E per window, sparse vs continuous",
            "needs the sparse and continuous variants",
            "",
            NOT_RUN,
            "spectra/<variant>/error_proxy.csv",
        )
    parts, verdict = [], NOT_HOLDING
    for conv in conventions:
        col = f"E_{conv}"
        sparse = curves["sparse"]
        cont = curves["continuous"]
        cont_q = cont[cont["kind"] != "classical"]
        ok, window_parts = True, []
        segments = sorted(set(sparse["segment"]) - {0})
        for seg in segments:
            rows = sparse[(sparse["segment"] == seg) & (sparse["kind"] != "classical")]
            lo, hi = int(rows["step"].min()), int(rows["step"].max())
            s_max = float(rows[col].max())
            c_max = float(cont_q[(cont_q["step"] >= lo) & (cont_q["step"] <= hi)][col].max())
            window_parts.append(f"steps {lo}-{hi}: {_fmt(s_max)} vs {_fmt(c_max)}")
            ok &= bool(np.isfinite(s_max) and s_max < c_max)
        first = sparse[(sparse["segment"] == 0) & (sparse["kind"] != "classical")][col].max()
        parts.append(
            f"[{conv}] max E sparse vs continuous: first window {_fmt(float(first))}; "
            + "; ".join(window_parts)
        )
        if "qram" in curves:
            q = curves["qram"]
            q_max = q[q["kind"] != "classical"].groupby("segment")[col].max()
            parts.append(f"[{conv}] qram max E per segment: " + ", ".join(map(_fmt, q_max)))
        if conv == primary and segments and ok:
            verdict = HOLDS
    return ClaimRow(
        claim_id="C4",
        claim="re-uploading every window restarts the error at 0 and keeps it bounded",
        quantity="max E(t) per restarted window, sparse vs continuous over the same steps",
        value="; ".join(parts),
        comparison=f"sparse < continuous and finite in every restarted window ({primary})",
        verdict=verdict if set(curves["sparse"]["segment"]) - {0} else NOT_RUN,
        source="spectra/<variant>/error_proxy.csv",
    )


def claim_c13(
    correlations: pd.DataFrame, conventions: Sequence[str], min_correlation: float = 0.5
) -> ClaimRow:
    """C13, in the first convention: in each measurement (``polynomial``: exact Carleman error of
    the small polynomial models; ``network``: N = 1 linearized windows) the median ``over_t``
    correlation (the proxy tracks the error's growth inside a window) and the median
    ``window_end`` correlation (a larger proxy goes with a larger error across settings) are at
    least ``min_correlation``. A ``window_end`` correlation that is undefined (fewer than three
    settings) is reported and not judged."""
    primary = conventions[0]
    parts, ok, present = [], True, 0
    for measurement in ("polynomial", "network"):
        rows = correlations[correlations["measurement"] == measurement]
        if rows.empty:
            parts.append(f"{measurement}: not run")
            ok = False
            continue
        present += 1
        for kind in ("over_t", "window_end"):
            sub = rows[rows["kind"] == kind]
            for conv in conventions:
                vals = sub[f"spearman_{conv}"].to_numpy(dtype=float)
                vals = vals[np.isfinite(vals)]
                med, lo, hi = (
                    (float(np.median(vals)), float(vals.min()), float(vals.max()))
                    if vals.size
                    else (math.nan, math.nan, math.nan)
                )
                parts.append(
                    f"{measurement} {kind} [{conv}]: median {_fmt(med)} over {vals.size} of "
                    f"{len(sub)} (range {_fmt(lo)} to {_fmt(hi)})"
                )
                if conv == primary and (kind == "over_t" or vals.size):
                    ok &= bool(np.isfinite(med) and med >= min_correlation)
    return ClaimRow(
        claim_id="C13",
        claim="the error proxy predicts the true linearization error",
        quantity="Spearman rank correlation of E(t) with the true error: over t inside each "
        "window, and across settings at the window end",
        value="; ".join(parts),
        comparison=f"medians >= {min_correlation} in both measurements and both kinds ({primary})",
        verdict=(HOLDS if ok else NOT_HOLDING) if present == 2 else NOT_RUN,
        source="proxy_check/correlations.csv",
    )
