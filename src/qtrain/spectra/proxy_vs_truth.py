"""Does the error proxy predict the true linearization error? (claim C13, figS8)

The N = 1 linearized windows of the network beside the proxy E(t) of the spectrum at each
window's first checkpoint, the exact Carleman errors of the small polynomial models
(:mod:`qtrain.quantum.carleman.proxy_check`) beside theirs, and Spearman rank correlations of proxy
and truth: over t inside a window (reported) and across settings at the window end (judged, with a
bootstrap noise and a one-sided p-value).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from qtrain.spectra.density import CONVENTIONS, load_spectrum, spectrum_steps
from qtrain.spectra.error_proxy import convention as convention_parameters
from qtrain.spectra.error_proxy import (
    error_proxy_curve,
    log_error_proxy_curve,
    mode_masses,
)
from qtrain.stats import (
    NOISE_LEVEL,
    detectable_correlation,
    partial_spearman_interval,
    rank_residual_share,
    spearman,
)

__all__ = [
    "TRIVIAL_PREDICTORS",
    "compare_proxy_tables",
    "network_proxy_table",
    "proxy_parameters",
    "rank_correlations",
    "window_end_correlations",
]

#: What a proxy must beat (claim C13): both rise with η and T by construction, so the
#: correlation that counts is the part beyond them. ``eta_t`` = η·T, ``eta_t_lambda`` =
#: η·T·λ_max (λ_max of the spectrum the proxy reads).
TRIVIAL_PREDICTORS = ("eta_t", "eta_t_lambda")


def proxy_parameters(convention: str, lr: float, cutoff: float) -> tuple[float, float]:
    """``(scale, cutoff)`` of E(t) under a convention, with a = −scale·λ and modes |a| > cutoff
    (SPEC §2.5): ``multiplier`` (the GD map's own modes: |λ| > c, multiplier |1 − ηλ|, i.e.
    a = −ηλ with the cut-off at c·η), ``eigenvalue`` (a = −λ, cut-off c) and ``lr_scaled``
    (a = −ηλ, cut-off c on ηλ): the pair of :func:`qtrain.spectra.error_proxy.convention`,
    the one statement of the conventions."""
    p = convention_parameters(convention, lr, cutoff)
    return p.scale, p.cutoff


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
    point; the latest spectrum at or before it if none was measured there: ``rho_step``) and
    the table's own learning rate (:func:`proxy_parameters`). ``proxy_<conv>`` is E(t),
    ``log_proxy_<conv>`` ln E(t) (finite where E overflows), ``n_c_<conv>`` the mass beyond the
    cut-off; ``lambda_max`` the spectrum's largest Ritz value and the trivial predictors
    ``eta_t`` = η·t and ``eta_t_lambda`` = η·t·λ_max.
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
        nodes, weights = spectra[int(before.max())] if before.size else (None, None)
        frame["lambda_max"] = float(np.max(nodes)) if before.size else math.nan
        frame["eta_t"] = lr * ts
        frame["eta_t_lambda"] = frame["eta_t"] * frame["lambda_max"]
        for conv in conventions:
            if before.size:
                scale, cut = proxy_parameters(conv, lr, cutoff)
                frame[f"proxy_{conv}"] = error_proxy_curve(nodes, weights, ts, cut, scale)
                frame[f"log_proxy_{conv}"] = log_error_proxy_curve(nodes, weights, ts, cut, scale)
                frame[f"n_c_{conv}"] = sum(mode_masses(nodes, weights, cut, scale))
            else:
                frame[f"proxy_{conv}"] = math.nan
                frame[f"log_proxy_{conv}"] = math.nan
                frame[f"n_c_{conv}"] = math.nan
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
    trivial: Sequence[str] = TRIVIAL_PREDICTORS,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """``kind = window_end``: across settings (``setting_columns``), rank correlations between
    the proxy and the true error at each setting's last step, per group (e.g. per Carleman
    order): does a larger proxy go with a larger error, beyond what the trivial predictors
    (``trivial`` columns, η·T and η·T·λ_max) already explain?

    Per convention: ``spearman_<conv>`` with its bootstrap ``noise_<conv>`` (half-width of the
    ``level`` percentile interval) and one-sided ``p_value_<conv>`` (the partial correlation
    with no covariate: :func:`qtrain.stats.partial_spearman_interval`); ``partial_<conv>``, the
    Spearman partial correlation controlling for every trivial predictor at once, with
    ``partial_noise_<conv>``, ``partial_p_value_<conv>`` and ``partial_points_<conv>`` (settings
    where the proxy is defined), ``proxy_residual_share_<conv>`` (the share of the proxy's rank
    variance the trivial predictors leave: 0 = the proxy is a function of them) and
    ``n_c_<conv>`` the mean mass beyond the cut-off. Per trivial
    predictor ``spearman_<name>``, its own correlation with the truth (the head-to-head).
    ``detectable_raw`` / ``detectable_partial``: the smallest correlation a one-sided ``alpha``
    test detects at this many settings (:func:`qtrain.stats.detectable_correlation`)."""
    keys = list(setting_columns) + list(group_columns)
    use = table[table["t"] >= 1]
    last = use.loc[use.groupby(keys)["t"].idxmax()]
    groups = last.groupby(list(group_columns), sort=True) if group_columns else [((), last)]
    trivial = [c for c in trivial if c in last]
    rows = []
    for key, group in groups:
        key = key if isinstance(key, tuple) else (key,)
        label = ", ".join(f"{c}={v}" for c, v in zip(group_columns, key, strict=True))
        row: dict[str, Any] = {
            "measurement": measurement,
            "kind": "window_end",
            "setting": f"across {', '.join(setting_columns)}" + (f"; {label}" if label else ""),
            "points": len(group),
            "controls": "+".join(trivial),
            "detectable_raw": detectable_correlation(len(group), alpha),
            "detectable_partial": detectable_correlation(len(group), alpha, len(trivial)),
        }
        truth = group[error_column]
        for name in trivial:
            row[f"spearman_{name}"] = spearman(group[name], truth)
        covariates = [group[name].to_numpy(dtype=float) for name in trivial]
        for conv in conventions:
            proxy = group[_proxy_column(group, conv)]
            rho, noise, p_value, _ = partial_spearman_interval(proxy, truth, [], level)
            row[f"spearman_{conv}"] = rho
            row[f"noise_{conv}"] = noise
            row[f"p_value_{conv}"] = p_value
            rho, noise, p_value, points = partial_spearman_interval(proxy, truth, covariates, level)
            row[f"partial_{conv}"] = rho
            row[f"partial_noise_{conv}"] = noise
            row[f"partial_p_value_{conv}"] = p_value
            row[f"partial_points_{conv}"] = points
            row[f"proxy_residual_share_{conv}"] = rank_residual_share(proxy, covariates)
            n_c = group.get(f"n_c_{conv}")
            row[f"n_c_{conv}"] = float(n_c.mean()) if n_c is not None else math.nan
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
