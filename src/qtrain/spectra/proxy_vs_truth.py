"""Does the error proxy predict the true linearization error? (claim C13, figS8)

The N = 1 linearized windows of the network beside the proxy E(t) of the spectrum at each
window's first checkpoint, the exact Carleman errors of the small polynomial models
(:mod:`qtrain.quantum.proxy_check`) beside theirs, and Spearman rank correlations of proxy and
truth: over t inside a window (reported) and across settings at the window end (judged, with a
bootstrap noise and a one-sided p-value).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from qtrain.spectra.density import CONVENTIONS, load_spectrum, spectrum_steps
from qtrain.spectra.error_proxy import convention, error_proxy_curve, log_error_proxy_curve
from qtrain.stats import NOISE_LEVEL, spearman, spearman_interval

__all__ = [
    "compare_proxy_tables",
    "network_proxy_table",
    "rank_correlations",
    "window_end_correlations",
]


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
                p = convention(conv, lr, cutoff)
                frame[f"proxy_{conv}"] = error_proxy_curve(nodes, weights, ts, p.cutoff, p.scale)
                frame[f"log_proxy_{conv}"] = log_error_proxy_curve(
                    nodes, weights, ts, p.cutoff, p.scale
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
    level: float = NOISE_LEVEL,
) -> pd.DataFrame:
    """``kind = window_end``: across settings (``setting_columns``), the Spearman correlation
    between the proxy and the true error at each setting's last step, per group (e.g. per
    Carleman order): does a larger proxy go with a larger error? With its bootstrap noise
    (``noise_<convention>``, the half-width of the ``level`` percentile interval) and one-sided
    p-value."""
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
                group[_proxy_column(group, conv)], group[error_column], level
            )
            row[f"spearman_{conv}"] = rho
            row[f"noise_{conv}"] = noise
            row[f"p_value_{conv}"] = p_value
        rows.append(row)
    return pd.DataFrame(rows)


def compare_proxy_tables(
    polynomial: pd.DataFrame,
    windows: Sequence[pd.DataFrame],
    spectrum_paths: Sequence[str],
    cutoff: float,
    conventions: Sequence[str],
    level: float,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(table, correlations): the true errors beside the proxy and their rank correlations.

    Part 1: the exact Carleman error of the digits quadratic network (``polynomial``, rule
    proxy_vs_carleman) across learning-rate scales and windows, per Carleman order. Part 2: the
    N = 1 linearized ``windows`` of the network across windows × learning-rate scales, with E(t)
    from the spectrum measured at the window's first checkpoint."""
    conventions = list(conventions)
    spectra = {}
    for step, path in spectrum_steps(spectrum_paths).items():
        spec = load_spectrum(path)
        spectra[step] = (spec["nodes"], spec["weights"])
    network = network_proxy_table(windows, spectra, cutoff, conventions)
    frames, corr = [], []
    if len(polynomial):
        p = polynomial.assign(measurement="polynomial", true_error=polynomial["error"])
        p["setting"] = [
            f"lr_scale={s:g}, window={w}, N={o}"
            for s, w, o in zip(p["lr_scale"], p["window"], p["order"], strict=True)
        ]
        frames.append(p)
        settings = ["lr_scale", "window", "order"]
        corr.append(rank_correlations(p, settings, "true_error", conventions, "polynomial"))
        corr.append(
            window_end_correlations(
                p,
                ["lr_scale", "window"],
                ["order"],
                "true_error",
                conventions,
                "polynomial",
                level,
            )
        )
    if len(network):
        n = network.assign(measurement="network", true_error=network["gap"])
        n["setting"] = [
            f"window={w}, lr_scale={s:g}" for w, s in zip(n["window"], n["lr_scale"], strict=True)
        ]
        frames.append(n)
        keys = ["window", "lr_scale"]
        corr.append(rank_correlations(n, keys, "true_error", conventions, "network"))
        corr.append(
            window_end_correlations(n, keys, [], "true_error", conventions, "network", level)
        )
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    correlations = pd.concat(corr, ignore_index=True) if corr else pd.DataFrame()
    return table, correlations
