"""Figures of the cost model (SPEC §1.7): figS6, break-even (quantum vs classical wall-clock),
and figS9, sensitivity to each assumption.

Both draw the cost stage's tables (results/<preset>/costs/, :mod:`qtrain.quantum.cost_tables`);
both say on the figure that they show a MODEL, not a measurement.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from qtrain.figures.style import COLUMN_WIDTH, VARIANT_COLORS, figure

__all__ = ["plot_break_even", "plot_sensitivity"]

_MODEL_COLORS = ["#d62728", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
_SECONDS = {
    "1 s": 1.0,
    "1 day": 86400.0,
    "age of universe": 4.35e17,
}


def _label(name: str) -> str:
    return name.replace("resnet", "ResNet-").replace("_", "-")


def _reference_lines(ax, low: float, high: float) -> None:
    for text, value in _SECONDS.items():
        if low <= value <= high:
            ax.axhline(value, color="0.6", linewidth=0.5, linestyle=":")
            ax.text(ax.get_xlim()[0], value, f" {text}", fontsize=5, va="bottom", color="0.4")


def plot_break_even(curves: pd.DataFrame, summary: pd.DataFrame, resnets: dict | None = None):
    """Quantum (per qubit model) and classical wall-clock of the run versus n (left) and of
    one window versus T (right); crossings marked, or the statement that there is none."""
    fig, axes = figure(ncols=2, width=2 * COLUMN_WIDTH, aspect=0.8)
    for ax, axis in zip(axes, ("n", "T"), strict=True):
        part = curves[curves["axis"] == axis]
        classical = part.drop_duplicates("x").sort_values("x")
        ax.loglog(
            classical["x"],
            classical["classical_seconds"],
            "-",
            color=VARIANT_COLORS["classical"],
            label="classical SGD (FLOPs / stated GPU rate)",
        )
        for i, (qm, g) in enumerate(part.groupby("qubit_model", sort=False)):
            g = g.sort_values("x")
            ax.loglog(
                g["x"],
                g["quantum_seconds"],
                "o-",
                markersize=2.5,
                color=_MODEL_COLORS[i % len(_MODEL_COLORS)],
                label=f"quantum, {qm}",
            )
            row = summary[(summary["axis"] == axis) & (summary["qubit_model"] == qm)]
            if len(row) and math.isfinite(float(row["crossing"].iloc[0])):
                ax.axvline(float(row["crossing"].iloc[0]), color="k", linewidth=0.6)
        values = np.concatenate([part["quantum_seconds"], part["classical_seconds"]])
        values = values[np.isfinite(values) & (values > 0)]
        if len(values):
            _reference_lines(ax, values.min(), values.max())
        statements = summary[summary["axis"] == axis]["statement"].drop_duplicates()
        ax.text(
            0.02,
            0.02,
            "\n".join(statements) if len(statements) else "",
            transform=ax.transAxes,
            fontsize=5.5,
            va="bottom",
        )
        if axis == "n":
            for name, n in (resnets or {}).items():
                ax.axvline(n, color="0.5", linewidth=0.5, linestyle="--")
                ax.text(
                    n,
                    0.5,
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
    axes[0].legend(loc="upper left", fontsize=5.5)
    fig.suptitle(
        "Break-even of quantum vs classical training: cost MODEL, not measurement",
        fontsize=8,
    )
    fig.tight_layout()
    return fig


def plot_sensitivity(table: pd.DataFrame, model_name: str | None = None):
    """Tornado chart: log10 of the change of (quantum / classical wall-clock) of the run when
    one assumption takes each of its sensitivity values, per model (one panel each)."""
    models = [model_name] if model_name else list(table["model_name"].drop_duplicates())
    rows = table[(table["assumption"] != "base") & table["model_name"].isin(models)]
    labels = list(
        dict.fromkeys(f"{a} = {v}" for a, v in zip(rows["assumption"], rows["value"], strict=True))
    )
    height = max(2.0, 0.16 * len(labels) + 0.8)
    fig, axes = figure(
        ncols=len(models),
        width=COLUMN_WIDTH * len(models),
        aspect=height / COLUMN_WIDTH,
        squeeze=False,
    )
    for ax, name in zip(axes[0], models, strict=True):
        part = rows[rows["model_name"] == name].copy()
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
        base = table[(table["model_name"] == name) & (table["assumption"] == "base")]
        ratio = float(base["quantum_over_classical"].iloc[0]) if len(base) else math.nan
        ax.set_title(
            f"{_label(name)}: base quantum/classical = 10^{math.log10(ratio):.1f}"
            if math.isfinite(ratio) and ratio > 0
            else _label(name)
        )
        ax.set_xlabel("log10 change of quantum/classical wall-clock\n(< 0: quantum gains)")
    fig.suptitle(
        "Sensitivity of the break-even to each assumption: cost MODEL, not measurement", fontsize=8
    )
    fig.tight_layout()
    return fig
