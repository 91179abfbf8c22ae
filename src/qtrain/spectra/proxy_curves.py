"""The error proxy E(t) of Eq. 7-8 along a training run (Fig. 2b; claims C3, C4).

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

Per convention each row carries E, ln E (computed in log space: finite where E overflows),
``rate`` = d ln E/dt and ``divergent_rate``, the part of that growth the divergent modes carry
(:func:`qtrain.spectra.error_proxy.growth_rates`; claim C3).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from qtrain.spectra.density import (
    CONVENTIONS,
    load_spectrum,
    mass_row,
    probe_quadratures,
    spectrum_steps,
)
from qtrain.spectra.error_proxy import (
    convention,
    error_proxy_curve,
    growth_rates,
    log_error_proxy_curve,
)

__all__ = ["error_proxy_tables", "proxy_curve", "segment_extremes", "upload_steps"]


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
                for name in ("E", "logE", "rate", "divergent_rate"):
                    row[f"{name}_{conv}"] = math.nan
            else:
                nodes, weights = spectra[rho]
                p = convention(conv, lr, cutoff)
                args = (nodes, weights, [t], p.cutoff, p.scale)
                row[f"E_{conv}"] = float(error_proxy_curve(*args)[0])
                row[f"logE_{conv}"] = float(log_error_proxy_curve(*args)[0])
                rate, divergent_rate = growth_rates(*args, p.split)
                row[f"rate_{conv}"] = float(rate[0])
                row[f"divergent_rate_{conv}"] = float(divergent_rate[0])
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


def error_proxy_tables(
    records: pd.DataFrame,
    spectrum_paths: Sequence[str],
    variant: str,
    lr: float,
    cutoff: float,
    conventions: Sequence[str] = CONVENTIONS,
    seed: int | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(curve, probe_curves, masses) of one variant and training ``seed``: E(t) from each
    spectrum's density (all probes), the same per Lanczos probe (``probe`` column), and per
    spectrum and probe the masses of :func:`~qtrain.spectra.density.mass_row` (``seed``,
    ``variant``, ``step``, ``probe`` columns). Every table leads with the ``seed`` column."""
    spectra, per_probe, masses = {}, {}, []
    for step, path in spectrum_steps(spectrum_paths).items():
        spec = load_spectrum(path)
        spectra[step] = (spec["nodes"], spec["weights"])
        for probe, (nodes, weights) in enumerate(probe_quadratures(spec)):
            per_probe.setdefault(probe, {})[step] = (nodes, weights)
            masses.append(
                {
                    "model": "main",
                    "seed": seed,
                    "variant": variant,
                    "step": step,
                    "probe": probe,
                    "dim": spec["meta"].get("dim"),
                    **mass_row(nodes, weights, lr, cutoff, conventions),
                }
            )
    curve = proxy_curve(records, spectra, lr, cutoff, conventions)
    curve.insert(0, "variant", variant)
    curve.insert(0, "seed", seed)
    probe_curves = pd.concat(
        [
            proxy_curve(records, probe_spectra, lr, cutoff, conventions).assign(probe=probe)
            for probe, probe_spectra in sorted(per_probe.items())
        ],
        ignore_index=True,
    )
    probe_curves.insert(0, "variant", variant)
    probe_curves.insert(0, "seed", seed)
    return curve, probe_curves, pd.DataFrame(masses)
