"""Figure S8 (claim C13): the error proxy against the true error, for the exact Carleman error of
a polynomial network and the network's linearized windows, with their rank correlations (the
proxy-check tables of ``qtrain.spectra.proxy_vs_truth``)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from qtrain.figures.style import (
    COLUMN_WIDTH,
    CONVENTION_LABELS,
    figure,
    note_box,
)

__all__ = ["plot_figS8"]


def _median_corr(
    correlations: pd.DataFrame, measurement: str, kind: str, conv: str, stat: str = "spearman"
) -> str:
    sub = correlations[
        (correlations["measurement"] == measurement) & (correlations["kind"] == kind)
    ]
    column = f"{stat}_{conv}"
    vals = sub[column].to_numpy(dtype=float) if len(sub) and column in sub else np.array([])
    vals = vals[np.isfinite(vals)]
    return f"{np.median(vals):+.2f}" if vals.size else "n/a"


def _corr_box(ax, correlations: pd.DataFrame, measurement: str, conventions: Sequence[str]):
    """Median Spearman correlations over t and at the window end, and the window-end partial
    correlation beyond η·T and η·T·λ_max that claim C13 judges."""
    lines = ["Spearman (median)   over t   window end   beyond ηT"]
    for conv in conventions:
        over = _median_corr(correlations, measurement, "over_t", conv)
        end = _median_corr(correlations, measurement, "window_end", conv)
        partial = _median_corr(correlations, measurement, "window_end", conv, "partial")
        lines.append(
            f"{CONVENTION_LABELS.get(conv, conv):<10}          {over:>6}   {end:>6}       "
            f"{partial:>6}"
        )
    note_box(ax, lines, 0.02, fontsize=6, family="monospace", alpha=0.9)


def _log_limits(ax, values, floor: float = 1e-30, headroom: float = 0.45) -> bool:
    """Log y-limits over the positive finite values, clipped below at ``floor``, with empty
    ``headroom`` (a fraction of the decades) above for an annotation box; True if anything
    was clipped."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    if not v.size:
        return False
    low, high = max(v.min(), floor) / 3, v.max() * 3
    decades = math.log10(high / low)
    ax.set_ylim(low, high * 10 ** (headroom * decades))
    return bool(v.min() < floor)


def _log_limits_with_note(ax, values) -> None:
    """:func:`_log_limits`, with a note in the axes when values were clipped."""
    if _log_limits(ax, values):
        ax.text(
            0.98, 0.03, "values below 1e-30 clipped", transform=ax.transAxes, ha="right", fontsize=6
        )


def _log_column(table: pd.DataFrame, conv: str) -> str:
    """ln E where the table has it (finite where E overflows), else E."""
    return f"log_proxy_{conv}" if f"log_proxy_{conv}" in table else f"proxy_{conv}"


def _log_scale(table: pd.DataFrame, conv: str) -> float:
    """Divisor from the column of :func:`_log_column` to log10 (ln 10 for ln E)."""
    return math.log(10) if f"log_proxy_{conv}" in table else 1.0


def plot_figS8(
    table: pd.DataFrame, correlations: pd.DataFrame, conventions: Sequence[str], title: str = ""
):
    """True linearization errors beside the error proxy (claim C13).

    Top: the digits quadratic network (exact Carleman error ‖u_N − u‖ per learning-rate scale,
    N as line style; its proxy per convention). Middle: the network's N = 1 linearized windows
    per setting (window × learning-rate scale, colour = scale): ‖θ_lin − θ‖ and log10 E from
    the spectrum at each window start. Bottom: the window-end points claim C13 correlates
    (one per setting and convention, with ρ and its noise), and the accuracy of the linearized
    weights against the real ones at η × 1. t = 1 is not drawn in the error panels (both maps
    agree exactly there: the error is round-off). Boxes give the median Spearman correlations
    (over t per setting; across settings at the window end).
    """
    fig, axes = figure(ncols=2, nrows=3, width=COLUMN_WIDTH * 2, aspect=0.7, squeeze=False)
    poly = table[table["measurement"] == "polynomial"]
    net = table[table["measurement"] == "network"]
    styles = {1: "-", 2: "--", 3: ":"}
    cmap = plt.get_cmap("viridis")
    conv_styles = dict(zip(conventions, ("-", "--", ":"), strict=False))
    conv_handles = [
        Line2D([], [], color="0.3", ls=conv_styles[c], label=CONVENTION_LABELS.get(c, c))
        for c in conventions
    ]

    ax_e, ax_p = axes[0]
    if len(poly):
        scales = sorted(poly["lr_scale"].unique())
        colors = {s: cmap(i / max(len(scales) - 1, 1) * 0.85) for i, s in enumerate(scales)}
        first_order = int(poly["order"].min())
        for (scale, _window, order), g in poly.groupby(["lr_scale", "window", "order"]):
            g = g.sort_values("t")
            x = g["start_step"] + g["t"]
            late = g["t"] >= 2
            ax_e.plot(
                x[late],
                g["true_error"][late],
                color=colors[scale],
                ls=styles.get(int(order), "-"),
                lw=0.9,
            )
            if int(order) == first_order:
                for conv in conventions:
                    ax_p.plot(
                        x, g[f"proxy_{conv}"], color=colors[scale], ls=conv_styles[conv], lw=0.9
                    )
        for start in sorted(poly["start_step"].unique())[1:]:
            for ax in (ax_e, ax_p):
                ax.axvline(start, color="0.6", lw=0.5, ls=":")
        handles = [Line2D([], [], color=colors[s], label=f"η·λmax(θ₀) = {s:g}") for s in scales]
        handles += [
            Line2D([], [], color="0.3", ls=styles.get(int(o), "-"), label=f"N = {int(o)}")
            for o in sorted(poly["order"].unique())
        ]
        ax_e.legend(
            handles=handles, loc="lower right", fontsize=5.5, ncol=2, frameon=True, framealpha=0.9
        )
        proxies = np.concatenate([poly[f"proxy_{c}"].to_numpy(dtype=float) for c in conventions])
        _log_limits_with_note(ax_p, proxies)
        _corr_box(ax_p, correlations, "polynomial", conventions)
    ax_e.set_yscale("log")
    ax_e.set_ylabel("‖u_N(t) − u(t)‖")
    ax_e.set_title("quadratic net (digits): exact Carleman error")
    ax_p.set_yscale("log")
    ax_p.set_ylabel("E(t)")
    ax_p.set_title("its error proxy (exact Hessian at window start)")
    ax_p.legend(handles=conv_handles, loc="lower left", fontsize=6)

    ax_g, ax_q = axes[1]
    ax_s, ax_a = axes[2]
    if len(net):
        scales = sorted(net["lr_scale"].unique())
        colors = {s: cmap(i / max(len(scales) - 1, 1) * 0.85) for i, s in enumerate(scales)}
        marks = dict(zip(conventions, ("o", "s", "^"), strict=False))
        for (_window, scale), g in net.groupby(["window", "lr_scale"]):
            g = g.sort_values("t")
            color = colors[scale]
            x = g["start_step"] + g["t"]
            late = g["t"] >= 2
            ax_g.plot(x[late], g["true_error"][late], color=color, lw=1.0)
            pos = g["t"] >= 1
            for conv in conventions:
                ax_q.plot(
                    x[pos],
                    g[_log_column(g, conv)][pos] / _log_scale(g, conv),
                    color=color,
                    ls=conv_styles[conv],
                    lw=0.9,
                )
            end = g.iloc[-1]
            for conv in conventions:
                ax_s.plot(
                    end[_log_column(g, conv)] / _log_scale(g, conv),
                    end["true_error"],
                    ls="none",
                    marker=marks[conv],
                    mfc=color if conv == conventions[0] else "none",
                    color=color,
                    ms=4,
                )
            if float(scale) == 1.0:
                ev = g[g["accuracy_lin"].notna()]
                xe = ev["start_step"] + ev["t"]
                ax_a.plot(xe, ev["accuracy_real"], color="0.3", lw=1.1)
                ax_a.plot(xe, ev["accuracy_lin"], color="0.3", lw=1.1, ls="--")
        for start in sorted(net["start_step"].unique())[1:]:
            for ax in (ax_g, ax_q, ax_a):
                ax.axvline(start, color="0.6", lw=0.5, ls=":")
        ax_g.legend(
            handles=[Line2D([], [], color=colors[s], label=f"η × {s:g}") for s in scales],
            loc="lower right",
            fontsize=6,
            frameon=True,
            framealpha=0.9,
        )
        _corr_box(ax_q, correlations, "network", conventions)
        ends = correlations[
            (correlations["measurement"] == "network") & (correlations["kind"] == "window_end")
        ]
        ax_s.legend(
            handles=[
                Line2D(
                    [],
                    [],
                    color="0.3",
                    ls="none",
                    marker=marks[c],
                    mfc="0.3" if c == conventions[0] else "none",
                    label=f"{CONVENTION_LABELS.get(c, c)}: ρ = "
                    + (
                        f"{float(ends[f'spearman_{c}'].iloc[0]):+.2f} "
                        f"± {float(ends[f'noise_{c}'].iloc[0]):.2f}"
                        if len(ends) and f"noise_{c}" in ends
                        else "n/a"
                    ),
                )
                for c in conventions
            ],
            loc="best",
            fontsize=6,
            frameon=True,
            framealpha=0.9,
        )
    ax_g.set_yscale("log")
    ax_g.set_ylabel("‖θ_lin(t) − θ(t)‖")
    ax_g.set_title("network, N = 1 linearized windows: true error")
    ax_q.set_ylabel("log10 E(t)")
    ax_q.set_title("its error proxy (spectrum at window start)")
    ax_q.legend(handles=conv_handles, loc="lower right", fontsize=6)
    ax_s.set_yscale("log")
    ax_s.set_xlabel("log10 E(T) at the window end")
    ax_s.set_ylabel("‖θ_lin(T) − θ(T)‖")
    ax_s.set_title("C13: across windows × learning rates")
    ax_a.set_ylabel("accuracy (fixed subset)")
    ax_a.set_xlabel("step")
    ax_a.set_title("η × 1: real (solid) and linearized (dashed)")
    ax_e.set_xlabel("GD step")
    ax_p.set_xlabel("GD step")
    if title:
        fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    return fig
