"""figS1-figS3 (discrete Carleman theory) as functions of their tables, in the project style.

Each function takes the Carleman stage's fit table the figure draws (see
:mod:`qtrain.quantum.carleman.sweeps`) and returns a matplotlib figure; nothing is recomputed
except drawing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from qtrain.figures.style import (
    COLUMN_WIDTH,
    SERIES_COLORS,
    VARIANT_COLORS,
    figure,
    fmt,
    integer_locator,
)
from qtrain.stats import slope_half_width

__all__ = ["plot_figS1", "plot_figS2", "plot_figS3"]

KIND_LABELS = {
    "dissipative": "dissipative",
    "almost_dissipative": "almost dissipative (flat mode)",
    "almost_dissipative_coupled": "almost dissipative, nonlinearity along the flat mode",
    "divergent": "divergent",
    "learning": "digits network",
}
EXTRA_COLORS = {"almost_dissipative_coupled": "#8c564b", "learning": "#4d4d4d"}
DEGREE_STYLES = {2: "-", 3: "--", 4: ":"}


def _color(kind: str) -> str:
    return VARIANT_COLORS.get(kind, EXTRA_COLORS.get(kind, "#7f7f7f"))


def plot_figS1(table: pd.DataFrame, max_factor: float | None = 0.5):
    """Carleman error against N (semilog): (a) random maps, error at T (line style = degree);
    (b) the same maps, largest error over t ≤ T, with the uniform bound ‖u_0‖R^N where R < 1;
    (c) the digits network from each start (error at T, largest error, bound); (d) every map's
    fitted factor per order (from log-domain errors, finite where the exact map overflows) with
    its 95% interval and the claim's threshold ``max_factor`` (claim C6)."""
    fig, axes = figure(ncols=2, nrows=2, width=2 * COLUMN_WIDTH, aspect=0.78)
    axes = axes.ravel()
    random = table[table["kind"] != "learning"]
    learning = table[table["kind"] == "learning"]
    steps = int(table["steps"].iloc[0])
    kinds_seen: list[str] = []
    diverged = sorted(set(random.loc[random["exact_diverged"], "map"]))
    for name, group in random.groupby("map", sort=False):
        kind = group["kind"].iloc[0]
        if kind not in kinds_seen:
            kinds_seen.append(kind)
        if name in diverged:
            continue
        style = DEGREE_STYLES.get(int(group["degree"].iloc[0]), "-.")
        color = _color(kind)
        axes[0].semilogy(
            group["order"], group["error_T"], style, marker="o", color=color, alpha=0.85
        )
        axes[1].semilogy(
            group["order"], group["max_error"], style, marker="o", color=color, alpha=0.85
        )
        if np.isfinite(group["reference"]).any():
            axes[1].semilogy(group["order"], group["reference"], ":", color=color, alpha=0.7)
    axes[0].set_ylabel(r"$\|u(T) - \hat y_1(T)\|$")
    axes[0].set_title(f"(a) random maps, error at T = {steps}")
    axes[1].set_ylabel(r"$\max_{t \leq T} \|u(t) - \hat y_1(t)\|$")
    axes[1].set_title("(b) random maps, largest error")
    ax = axes[2]
    learning_handles = []
    for i, (name, group) in enumerate(learning.groupby("map", sort=False)):
        color = SERIES_COLORS[i % len(SERIES_COLORS)]
        R = group["R"].iloc[0]
        ax.semilogy(group["order"], group["error_T"], "-", marker="o", color=color)
        ax.semilogy(
            group["order"], group["max_error"], "--", marker="s", markersize=2.5, color=color
        )
        if np.isfinite(group["reference"]).any():
            ax.semilogy(group["order"], group["reference"], ":", color=color)
        learning_handles.append(
            Line2D(
                [],
                [],
                color=color,
                marker="o",
                label=rf"{name}: $\|u_0\|$={group['u0_norm'].iloc[0]:.2g}, R={fmt(R)}, "
                f"ρ={group['spectral_radius'].iloc[0]:.3f}",
            )
        )
    ax.set_title("(c) digits quadratic network")
    for ax in axes[:3]:
        ax.set_xlabel("Carleman order N")
        ax.xaxis.set_major_locator(integer_locator())
    _factor_panel(axes[3], table, max_factor, slope_half_width)
    handles = [
        Line2D([], [], color=_color(k), marker="o", label=KIND_LABELS.get(k, k)) for k in kinds_seen
    ]
    handles += [
        Line2D([], [], color="k", linestyle=s, label=f"q = {q}")
        for q, s in DEGREE_STYLES.items()
        if q in set(random["degree"])
    ]
    handles += [
        Line2D(
            [],
            [],
            color="k",
            linestyle="--",
            marker="s",
            markersize=2.5,
            label="(c) largest error over t ≤ T",
        ),
        Line2D([], [], color="k", linestyle=":", label=r"$\|u_0\|R^N$ (only where R < 1)"),
    ]
    if diverged:
        note = (
            f"(a, b) {len(diverged)} divergent maps not drawn: their exact iteration overflows "
            "(errors as logs in the table; factors in (d))"
        )
        handles.append(Line2D([], [], linestyle="none", label=note))
    handles += learning_handles
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    fig.legend(handles=handles, loc="lower center", ncol=3, fontsize=5.5, frameon=False)
    return fig


def _factor_panel(ax, table: pd.DataFrame, max_factor: float | None, half_width) -> None:
    """(d): each map's fitted factor per order, 95% interval bars, the C6 threshold."""
    maps = table.groupby("map", sort=False).first().reset_index()
    for i, r in enumerate(maps.itertuples(index=False)):
        width = half_width(float(r.log10_factor_se), int(r.fit_dof))
        width = width if np.isfinite(width) else np.nan
        slope = float(r.log10_factor)
        lo, hi = 10 ** (slope - width), 10 ** (slope + width)
        factor = 10**slope
        marker = "x" if bool(r.exact_diverged) else "o"
        ax.errorbar(
            [i],
            [factor],
            yerr=[[factor - lo], [hi - factor]] if np.isfinite(width) else None,
            fmt=marker,
            color=_color(str(r.kind)),
            markersize=3.5,
            capsize=2,
        )
    ax.set_yscale("log")
    if max_factor is not None:
        ax.axhline(max_factor, color="k", linestyle="--", linewidth=0.8)
        ax.text(-0.5, max_factor * 1.08, f"C6 threshold {max_factor:g}", fontsize=5.5, va="bottom")
    ax.set_xticks(range(len(maps)))
    ax.set_xticklabels(maps["map"], rotation=35, ha="right", fontsize=5)
    ax.set_xlim(-0.6, len(maps) - 0.4)
    ax.set_ylabel("fitted factor per order N")
    ax.set_title("(d) factor per order, 95% interval (x: exact map overflows)")


def plot_figS2(table: pd.DataFrame):
    """‖discrete − first_order‖ against η (log-log) per map, with fitted slopes and an η² guide."""
    names = list(dict.fromkeys(table["map"]))
    fig, axes = figure(ncols=len(names), width=COLUMN_WIDTH * max(len(names), 1), aspect=0.85)
    axes = np.atleast_1d(axes)
    measures = {
        "matrix_fro": (r"$\|C_d - C_f\|_F$", "o"),
        "one_step": (r"one step from $\hat y_0$", "s"),
        "trajectory_T": ("first block after T steps", "^"),
    }
    for ax, name in zip(axes, names, strict=True):
        group = table[table["map"] == name].sort_values("eta")
        for (measure, (label, marker)), color in zip(measures.items(), SERIES_COLORS, strict=False):
            slope = group[f"slope_{measure}"].iloc[0]
            ax.loglog(
                group["eta"],
                group[measure],
                marker=marker,
                color=color,
                label=f"{label}: slope {slope:.2f}",
            )
        eta = group["eta"].to_numpy()
        anchor = group["matrix_fro"].to_numpy()[0]
        ax.loglog(eta, anchor * (eta / eta[0]) ** 2, "k--", linewidth=0.8, label=r"$\propto\eta^2$")
        ax.set_xlabel(r"learning rate $\eta$")
        steps, order = int(group["steps"].iloc[0]), int(group["order"].iloc[0])
        ax.set_title(f"{name} (N = {order}, T = {steps})")
        ax.legend(loc="upper left", fontsize=6)
    axes[0].set_ylabel("discrete − first-order")
    fig.tight_layout()
    return fig


def plot_figS3(table: pd.DataFrame):
    """(a) κ(L) against T (log-log, no padding), fitted slopes over the larger half of T;
    (b) the final blocks' share of ‖Y‖² against T, without and with T padding steps."""
    fig, axes = figure(ncols=2, width=2 * COLUMN_WIDTH, aspect=0.85)
    plain = table[table["padding_factor"] == 0]
    ax = axes[0]
    legend: dict[str, list[float]] = {}
    for (_name, order), group in plain.groupby(["map", "order"], sort=False):
        kind = group["kind"].iloc[0]
        style = DEGREE_STYLES.get(int(order), "-.")
        ax.loglog(
            group["steps"],
            group["kappa"],
            style,
            marker="o",
            markersize=2,
            color=_color(kind),
            alpha=0.8,
        )
        legend.setdefault(kind, []).append(group["slope"].iloc[0])
    ax.set_xlabel("steps T")
    ax.set_ylabel(r"$\kappa(L)$ (no padding)")
    methods = sorted(set(table["kappa_method"]))
    ax.set_title(f"(a) condition number ({' / '.join(methods)})")

    ax = axes[1]
    for (_name, _order, factor), group in table.groupby(
        ["map", "order", "padding_factor"], sort=False
    ):
        kind = group["kind"].iloc[0]
        ax.loglog(
            group["steps"],
            group["final_share"],
            "-" if factor == 0 else "--",
            color=_color(kind),
            alpha=0.7,
            linewidth=0.9,
        )
    ax.set_ylim(top=2.0)  # a share is at most 1
    ax.set_xlabel("steps T")
    ax.set_ylabel(r"share of blocks $t \geq T$ in $\|Y\|^2$")
    ax.set_title("(b) final-block share (post-selection probability)")
    handles = [
        Line2D(
            [],
            [],
            color=_color(k),
            marker="o",
            label=f"{KIND_LABELS.get(k, k)}: κ slope {_span(s)}",
        )
        for k, s in legend.items()
    ]
    handles += [
        Line2D(
            [],
            [],
            color="k",
            linestyle=DEGREE_STYLES.get(int(o), "-."),
            label=f"(a) Carleman order N = {o}",
        )
        for o in sorted(set(plain["order"]))
    ]
    handles += [
        Line2D(
            [],
            [],
            color="k",
            linewidth=0.9,
            linestyle="-" if f == 0 else "--",
            label="(b) no padding" if f == 0 else f"(b) {f}·T identity steps after T",
        )
        for f in sorted(set(table["padding_factor"]))
    ]
    fig.tight_layout(rect=(0, 0.16, 1, 1))
    fig.legend(handles=handles, loc="lower center", ncol=2, fontsize=5.5, frameon=False)
    return fig


def _span(values: list[float]) -> str:
    lo, hi = min(values), max(values)
    return f"{lo:.2f}" if f"{lo:.2f}" == f"{hi:.2f}" else f"{lo:.2f} to {hi:.2f}"
