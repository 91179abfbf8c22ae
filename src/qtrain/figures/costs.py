"""Figures of the cost model (SPEC §1.7): figS6, break-even (quantum vs classical wall-clock,
base and favourable bound, with the oracle-data floor); figS9, sensitivity to each assumption;
figS10, the waterfall from the base to the favourable bound.

All draw the cost stage's tables (results/<preset>/costs/, :mod:`qtrain.quantum.costs.tables`);
all say on the figure that they show a MODEL, not a measurement.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from qtrain.figures.style import COLUMN_WIDTH, VARIANT_COLORS, figure, legend_below

__all__ = ["COST_MODEL_NOTE", "plot_break_even", "plot_sensitivity", "plot_waterfall"]

#: The provenance note of every cost figure.
COST_MODEL_NOTE = (
    "cost MODEL (SPEC 1.7, docs/cost_model.md): logical counts from stated formulas and "
    "assumptions, physical counts from qdk's resource estimator; not measurements"
)
_MODEL_COLORS = ["#d62728", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
_SCENARIO_STYLE = {"base": "-", "favourable": "--"}
_MARK_COLORS = {
    "premise violated by ResNets": "#1f77b4",
    "algorithmic necessity": "#7f7f7f",
    "assumption": "#ff7f0e",
}
_SECONDS = {"1 s": 1.0, "1 day": 86400.0, "age of universe": 4.35e17}


def _label(name: str) -> str:
    return name.replace("resnet", "ResNet-").replace("_", "-")


def _reference_lines(ax, low: float, high: float) -> None:
    for text, value in _SECONDS.items():
        if low <= value <= high:
            ax.axhline(value, color="0.6", linewidth=0.5, linestyle=":")
            ax.text(ax.get_xlim()[0], value, f" {text}", fontsize=5, va="bottom", color="0.4")


def plot_break_even(curves: pd.DataFrame, summary: pd.DataFrame, resnets: dict | None = None):
    """Quantum (per scenario and qubit model) and classical wall-clock of the run versus n
    (left) and of one window versus T (right), with the classical preparation of the oracle
    data (the floor) of the favourable bound; crossings marked, or the statements that there
    are none."""
    if "scenario" not in curves:
        curves = curves.assign(scenario="base")
    fig, axes = figure(ncols=2, width=2 * COLUMN_WIDTH, aspect=0.9)
    for ax, axis in zip(axes, ("n", "T"), strict=True):
        part = curves[curves["axis"] == axis]
        for scenario, g0 in part.groupby("scenario", sort=False):
            classical = g0.drop_duplicates("x").sort_values("x")
            ax.loglog(
                classical["x"],
                classical["classical_seconds"],
                _SCENARIO_STYLE.get(scenario, "-"),
                color=VARIANT_COLORS["classical"],
            )
            if scenario == "favourable" and "oracle_floor_seconds" in classical:
                ax.loglog(
                    classical["x"],
                    classical["oracle_floor_seconds"],
                    ":",
                    color="#2ca02c",
                    linewidth=1.4,
                )
            for i, (qm, g) in enumerate(g0.groupby("qubit_model", sort=True)):
                g = g.sort_values("x")
                ax.loglog(
                    g["x"],
                    g["quantum_seconds"],
                    _SCENARIO_STYLE.get(scenario, "-"),
                    marker="o",
                    markersize=2,
                    color=_MODEL_COLORS[i % len(_MODEL_COLORS)],
                )
                row = summary[(summary["axis"] == axis) & (summary["qubit_model"] == qm)]
                if "scenario" in summary:
                    row = row[row["scenario"] == scenario]
                if len(row) and math.isfinite(float(row["crossing"].iloc[0])):
                    ax.axvline(float(row["crossing"].iloc[0]), color="k", linewidth=0.6)
        values = np.concatenate([part["quantum_seconds"], part["classical_seconds"]])
        values = values[np.isfinite(values) & (values > 0)]
        if len(values):
            _reference_lines(ax, values.min(), values.max())
        statements = summary[summary["axis"] == axis]
        lines = [
            f"{getattr(r, 'scenario', 'base')}, {r.qubit_model}: {r.statement}"
            for r in statements.itertuples(index=False)
        ]
        ax.text(0.02, 0.98, "\n".join(lines), transform=ax.transAxes, fontsize=4.5, va="top")
        if axis == "n":
            for name, n in (resnets or {}).items():
                ax.axvline(n, color="0.5", linewidth=0.5, linestyle="--")
                ax.text(
                    n,
                    0.45,
                    f" {_label(name)}",
                    fontsize=5,
                    rotation=90,
                    va="center",
                    transform=ax.get_xaxis_transform(),
                )
            steps = int(part["steps"].iloc[0]) if len(part) else 0
            ax.set_xlabel("parameters n")
            ax.set_title(f"(a) the run ({steps} steps) versus n")
        else:
            n_ref = int(part["n"].iloc[0]) if len(part) else 0
            ax.set_xlabel("steps per window T")
            ax.set_title(f"(b) one window versus T (n = {n_ref:,})")
        ax.set_ylabel("wall-clock (s)")
    models = sorted(curves["qubit_model"].unique())
    handles = [
        Line2D([], [], color=VARIANT_COLORS["classical"], label="classical SGD (FLOPs / GPU rate)"),
        Line2D([], [], color="#2ca02c", linestyle=":", label="oracle data prepared classically"),
        *[
            Line2D(
                [],
                [],
                color=_MODEL_COLORS[i % len(_MODEL_COLORS)],
                marker="o",
                markersize=2,
                label=f"quantum, {qm}",
            )
            for i, qm in enumerate(models)
        ],
        Line2D([], [], color="k", linestyle="-", label="base case"),
        Line2D([], [], color="k", linestyle="--", label="favourable bound"),
    ]
    legend_below(axes[0], handles=handles, ncol=3, offset=-0.2)
    fig.suptitle(
        "Break-even of quantum vs classical training: cost MODEL, not measurement", fontsize=8
    )
    fig.tight_layout()
    return fig


def plot_sensitivity(table: pd.DataFrame, model_name: str | None = None):
    """Tornado charts: log10 of the change of (quantum / classical wall-clock) of the run when
    one assumption takes each of its values, per model (rows) and scenario (columns: the base
    over ``sensitivity``, the favourable bound over its plausible variants)."""
    if "scenario" not in table:
        table = table.assign(scenario="base")
    models = [model_name] if model_name else list(table["model_name"].drop_duplicates())
    scenarios = list(table["scenario"].drop_duplicates())
    rows = table[(table["assumption"] != "base") & table["model_name"].isin(models)]
    per = {
        sc: list(
            dict.fromkeys(f"{a} = {v}" for a, v in zip(g["assumption"], g["value"], strict=True))
        )
        for sc, g in rows.groupby("scenario", sort=False)
    }
    height = max(2.0, 0.16 * max((len(v) for v in per.values()), default=1) + 0.8)
    fig, axes = figure(
        ncols=len(scenarios),
        nrows=len(models),
        width=COLUMN_WIDTH * len(scenarios),
        aspect=height / COLUMN_WIDTH,
        squeeze=False,
    )
    for i, name in enumerate(models):
        for j, scenario in enumerate(scenarios):
            ax = axes[i][j]
            labels = per.get(scenario, [])
            part = rows[(rows["model_name"] == name) & (rows["scenario"] == scenario)].copy()
            part["label"] = [
                f"{a} = {v}" for a, v in zip(part["assumption"], part["value"], strict=True)
            ]
            part = part.set_index("label").reindex(labels)
            values = part["log10_factor_ratio"].to_numpy(float)
            finite = np.where(np.isfinite(values), values, 0.0)
            colors = ["#2ca02c" if v < 0 else "#d62728" for v in finite]
            y = np.arange(len(labels))
            ax.barh(y, finite, color=colors, height=0.7)
            for yi, v in zip(y, values, strict=True):
                if not np.isfinite(v):
                    ax.text(0, yi, " not finite", fontsize=5, va="center")
            ax.axvline(0, color="k", linewidth=0.6)
            ax.set_yticks(y)
            ax.set_yticklabels(labels, fontsize=5.5)
            ax.invert_yaxis()
            base = table[
                (table["model_name"] == name)
                & (table["scenario"] == scenario)
                & (table["assumption"] == "base")
            ]
            ratio = float(base["quantum_over_classical"].iloc[0]) if len(base) else math.nan
            title = f"{_label(name)}, {scenario}"
            if math.isfinite(ratio) and ratio > 0:
                title += f": quantum/classical = 10^{math.log10(ratio):.1f}"
            ax.set_title(title, fontsize=7)
            ax.set_xlabel("log10 change of quantum/classical\n(< 0: quantum gains)")
    fig.suptitle(
        "Sensitivity of the break-even to each assumption: cost MODEL, not measurement", fontsize=8
    )
    fig.tight_layout()
    return fig


def plot_waterfall(waterfall: pd.DataFrame, decomposition: pd.DataFrame | None = None):
    """Per paper model (columns): top, log10(quantum / classical wall-clock) of the run from the
    base case to the favourable bound, one group of assumptions at a time, each bar coloured by
    its mark (premise violated by ResNets, algorithmic necessity, assumption), the break-even
    line at 0; bottom, every factor of that ratio in decades for the base (light) and the
    favourable bound (dark), each coloured by its own mark (``decomposition``)."""
    models = list(waterfall["model_name"].drop_duplicates())
    rows = 2 if decomposition is not None and len(decomposition) else 1
    fig, axes = figure(
        ncols=len(models), nrows=rows, width=COLUMN_WIDTH * len(models), aspect=1.2, squeeze=False
    )
    for col, name in enumerate(models):
        ax = axes[0][col]
        part = waterfall[waterfall["model_name"] == name].sort_values("step")
        x = np.arange(len(part))
        levels = part["log10_ratio"].to_numpy(float)
        for xi, r, level in zip(x, part.itertuples(index=False), levels, strict=True):
            color = "0.3" if r.step == 0 else _MARK_COLORS.get(r.mark, "0.5")
            if not np.isfinite(level):  # a window map overflows: kappa = inf, no price
                ax.text(xi, 0, "not priced", rotation=90, ha="center", va="bottom", fontsize=5)
                continue
            if r.step == 0 or not np.isfinite(r.log10_change):
                # the first priced level: its change from an unpriced one is undefined
                hatch = None if r.step == 0 else "///"
                ax.bar(xi, level, color=color, width=0.7, hatch=hatch)
            else:
                ax.bar(xi, r.log10_change, bottom=level - r.log10_change, width=0.7, color=color)
            ax.text(xi, level, f"{level:.1f}", ha="center", va="bottom", fontsize=4.5)
        end = len(part)
        if np.isfinite(levels[-1]):
            ax.bar(end, levels[-1], color="#2ca02c", width=0.7)
            ax.text(end, levels[-1], f"{levels[-1]:.1f}", ha="center", va="bottom", fontsize=5)
        else:
            ax.text(end, 0, "not priced", rotation=90, ha="center", va="bottom", fontsize=5)
        ax.axhline(0, color="k", linewidth=0.8)
        ax.text(end + 0.4, 0, "break-even", fontsize=5, va="bottom", ha="right")
        finite = levels[np.isfinite(levels)]
        low, high = (finite.min(), finite.max()) if finite.size else (0.0, 0.0)
        ax.set_ylim(min(0.0, low) - 1, max(high, 0.0) * 1.12 + 1)
        ax.set_xticks([*x, end])
        ax.set_xticklabels(
            ["base", *part["label"].iloc[1:], "favourable bound"],
            rotation=60,
            ha="right",
            fontsize=5,
        )
        ax.set_ylabel("log10(quantum / classical)")
        ax.set_title(f"(a) {_label(name)}: base to favourable bound", fontsize=7)
        if rows == 2:
            _factor_bars(axes[1][col], decomposition[decomposition["model_name"] == name], name)
    handles = [Line2D([], [], color=c, linewidth=5, label=mark) for mark, c in _MARK_COLORS.items()]
    fig.legend(handles=handles, loc="lower center", ncol=3, fontsize=6, frameon=False)
    fig.suptitle(
        "From the base case to the bound most favourable to quantum: cost MODEL, not measurement",
        fontsize=8,
    )
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig


def _factor_bars(ax, dec: pd.DataFrame, name: str) -> None:
    factors = [f for f in dec["factor"].drop_duplicates() if f != "total"]
    y = np.arange(len(factors))
    for offset, scenario, alpha in ((-0.2, "base", 0.4), (0.2, "favourable", 1.0)):
        part = dec[dec["scenario"] == scenario].set_index("factor").reindex(factors)
        colors = [_MARK_COLORS.get(m, "0.5") for m in part["mark"].fillna("")]
        values = part["log10"].to_numpy(float)
        finite = np.where(np.isfinite(values), values, 0.0)
        ax.barh(y + offset, finite, height=0.38, color=colors, alpha=alpha)
        for yi, v in zip(y + offset, values, strict=True):
            if not np.isfinite(v):  # unbounded (kappa = inf) or not priced after it
                ax.text(0, yi, f" {scenario}: not finite", fontsize=4.5, va="center")
        total = dec[(dec["scenario"] == scenario) & (dec["factor"] == "total")]["log10"]
        if len(total):
            value = float(total.iloc[0])
            ax.text(
                0.99,
                0.02 if scenario == "base" else 0.1,
                f"{scenario}: total {value:+.1f}"
                if math.isfinite(value)
                else f"{scenario}: not priced",
                transform=ax.transAxes,
                ha="right",
                fontsize=5.5,
                alpha=max(alpha, 0.7),
            )
    ax.axvline(0, color="k", linewidth=0.6)
    ax.set_yticks(y)
    ax.set_yticklabels(factors, fontsize=5.5)
    ax.invert_yaxis()
    ax.set_xlabel("decades (light: base, dark: favourable bound)")
    ax.set_title(f"(b) {_label(name)}: the factors of quantum / classical", fontsize=7)
