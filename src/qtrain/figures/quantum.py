"""figS4, figS5, figS7 (HHL, tomography and upload, quantum-trained model) as functions of their
tables, in the project style (figS6, figS9 and figS10, the cost model: :mod:`qtrain.figures.costs`).

Each function takes the figure table(s) written beside the figure (see
:mod:`qtrain.quantum.circuits.sweeps` and :mod:`qtrain.quantum.circuits.quantum_training`) and
returns a matplotlib figure; nothing is recomputed except drawing.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.ticker import NullFormatter

from qtrain.figures.style import (
    COLUMN_WIDTH,
    MARKERS,
    SERIES_COLORS,
    VARIANT_COLORS,
    figure,
    integer_locator,
    legend_below,
)

__all__ = ["plot_figS4", "plot_figS5", "plot_figS7"]

FLOOR = 1e-16  # machine precision: exact results are drawn here
CAP = 1e3  # relative window errors of diverged runs (and any beyond) are drawn here
ERROR_COLUMN = "relative_window_error"  # figS7 (c-f): the error per download on the vector ε is on


# --------------------------------------------------------------------------- figS4


def plot_figS4(table: pd.DataFrame):
    """(a) HHL infidelity 1 − |<x̂|x>|² against clock qubits; (b) relative error of the recovered
    u(T) (norm from the success probability); (c) success probability; (d) qubits; (e) depth
    and CX count (u, cx basis) where counted; (f) the systems."""
    fig, axes = figure(ncols=3, nrows=2, width=2 * COLUMN_WIDTH, aspect=0.8)
    axes = axes.ravel()
    systems = list(dict.fromkeys(table["system"]))
    handles = []
    for i, name in enumerate(systems):
        g = table[table["system"] == name].sort_values("num_clock")
        color, marker = SERIES_COLORS[i % len(SERIES_COLORS)], MARKERS[i % len(MARKERS)]
        label = (
            f"{name.replace('_', ' ')}\ndim L = {int(g['system_dim'].iloc[0])}, "
            f"κ(L) = {g['kappa_L'].iloc[0]:.2g}, R = {g['R'].iloc[0]:.2g}"
        )
        handles.append(Line2D([], [], color=color, marker=marker, label=label))
        style = {"marker": marker, "color": color}
        axes[0].semilogy(g["num_clock"], np.maximum(g["infidelity"], FLOOR), **style)
        axes[1].semilogy(g["num_clock"], g["final_weights_error"], **style)
        axes[2].semilogy(g["num_clock"], g["success_probability"], **style)
        axes[3].plot(g["num_clock"], g["num_qubits"], **style)
        counted = g[g["depth"].notna()]
        if len(counted):
            axes[4].semilogy(counted["num_clock"], counted["depth"].astype(float), "-", **style)
            axes[4].semilogy(
                counted["num_clock"],
                counted["cx_count"].astype(float),
                ":",
                markerfacecolor="none",
                **style,
            )
    axes[0].set_ylabel(r"$1 - |\langle \hat x | x\rangle|^2$")
    axes[0].set_title("(a) infidelity vs forward substitution")
    axes[1].set_ylabel(r"$\|\hat u(T) - u(T)\| / \|u(T)\|$")
    axes[1].set_title("(b) recovered final weights u(T)")
    axes[2].set_ylabel("P(flag = 1, clock = 0)")
    axes[2].set_title("(c) success probability")
    axes[3].set_ylabel("qubits")
    axes[3].set_title("(d) dilated system + clock + flag")
    counted_systems = table.loc[table["depth"].notna(), "system"].nunique()
    axes[4].set_ylabel("gates")
    axes[4].set_title(
        f"(e) depth (solid), CX (dotted), u+cx basis:\n{counted_systems} of "
        f"{len(systems)} systems (dense synthesis)"
    )
    if not counted_systems:
        axes[4].text(
            0.5,
            0.5,
            "not counted (system registers too large)",
            ha="center",
            va="center",
            transform=axes[4].transAxes,
        )
    for ax in axes[:5]:
        ax.set_xlabel("clock qubits")
        ax.xaxis.set_major_locator(integer_locator())
    axes[2].yaxis.set_minor_formatter(NullFormatter())
    axes[3].yaxis.set_major_locator(integer_locator())
    axes[5].axis("off")
    axes[5].legend(
        handles=handles,
        loc="center",
        fontsize=5.5,
        frameon=False,
        title="block systems (random maps)",
        title_fontsize=6,
        labelspacing=0.9,
    )
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- figS5


def plot_figS5(table: pd.DataFrame, upload: pd.DataFrame | None = None):
    """(a) relative tomography error against samples per stage (log-log, mean ± std over
    repeats) with fitted slopes, the √(d/4N) model and the Kerenidis-Prakash bound; (b) samples
    for a relative error ε from the fits, against ε, beside the Kerenidis-Prakash count; (c) with
    ``upload`` (:func:`~qtrain.quantum.circuits.upload.upload_sweep` rows): measured CX count of
    the sparse upload against n per sparsity s, its O(s·log n) bound, and dense state
    preparation."""
    ncols = 2 if upload is None else 3
    fig, axes = figure(ncols=ncols, width=ncols * COLUMN_WIDTH, aspect=0.8)
    ax = axes[0]
    dims = sorted(set(table["d"]))
    for i, d in enumerate(dims):
        g = table[table["d"] == d].sort_values("samples")
        color = SERIES_COLORS[i % len(SERIES_COLORS)]
        slope = g["slope"].iloc[0]
        interval = ""
        if "slope_ci_low" in g and np.isfinite(g["slope_ci_low"].iloc[0]):
            interval = f" [{g['slope_ci_low'].iloc[0]:.3f}, {g['slope_ci_high'].iloc[0]:.3f}]"
        ax.loglog(
            g["samples"],
            g["mean_error"],
            "o",
            color=color,
            markersize=3,
            label=f"d = {d}: fitted slope {slope:.3f}{interval}",
        )
        lo = np.maximum(g["mean_error"] - g["std_error"].fillna(0), 1e-12)
        ax.fill_between(
            g["samples"],
            lo,
            g["mean_error"] + g["std_error"].fillna(0),
            color=color,
            alpha=0.15,
            linewidth=0,
        )
        fit = g[g["samples"] >= g["fit_min_samples"].iloc[0]]
        ax.loglog(
            fit["samples"],
            g["prefactor"].iloc[0] * fit["samples"] ** slope,
            "-",
            color=color,
            linewidth=0.9,
        )
        ax.loglog(g["samples"], g["model_error"], ":", color=color, linewidth=0.9)
        ax.loglog(g["samples"], g["kp_bound"], "--", color=color, linewidth=0.6, alpha=0.6)
    handles, _ = ax.get_legend_handles_labels()
    ratio = float((table["fit_min_samples"] / table["d"]).iloc[0])
    handles += [
        Line2D(
            [],
            [],
            color="k",
            linestyle="-",
            label=f"least-squares fit, N ≥ {ratio:g}·d [95% bootstrap over vectors]",
        ),
        Line2D([], [], color="k", linestyle=":", label=r"$\sqrt{d/4N}$"),
        Line2D(
            [],
            [],
            color="k",
            linestyle="--",
            alpha=0.6,
            label=r"KP bound $\sqrt{7}\,\delta$, $N = 36 d\ln d/\delta^2$",
        ),
    ]
    ax.legend(handles=handles, loc="lower left", fontsize=5.5)
    ax.set_ylim(top=3)
    ax.set_xlabel("samples per stage N")
    ax.set_ylabel(r"relative error $\|\tilde x - x\|/\|x\|$")
    reps = int(table["repeats"].max())
    ax.set_title(f"(a) error of sampled tomography ({reps} random vectors each)")

    ax = axes[1]
    eps = np.logspace(-3, -0.5, 30)
    for i, d in enumerate(dims):
        g = table[table["d"] == d].iloc[0]
        color = SERIES_COLORS[i % len(SERIES_COLORS)]
        if np.isfinite(g["slope"]) and g["slope"] < 0:
            ax.loglog(
                eps,
                (eps / g["prefactor"]) ** (1 / g["slope"]),
                "-",
                color=color,
                label=f"d = {d}: measured",
            )
        lnd = math.log(max(d, 2))
        ax.loglog(
            eps,
            36 * d * lnd * 7 / eps**2,
            "--",
            color=color,
            linewidth=0.8,
            label=f"d = {d}: KP, δ = ε/√7",
        )
    ax.loglog(eps, 1 / eps**2, "k:", linewidth=0.8, label=r"$\propto 1/\varepsilon^2$")
    ax.set_xlabel(r"target relative error $\varepsilon$")
    ax.set_ylabel("samples per stage")
    ax.set_title("(b) samples for precision ε")
    ax.legend(loc="lower left", fontsize=5.5, ncol=2)
    if upload is not None:
        _upload_panel(axes[2], upload)
    fig.tight_layout()
    return fig


def _upload_panel(ax, upload: pd.DataFrame) -> None:
    """figS5 (c): measured CX of uploading s-sparse vectors against n."""
    sparse = upload[upload["method"] == "sparse"]
    for i, (s_val, g) in enumerate(sparse.groupby("s")):
        g = g.sort_values("n")
        color = SERIES_COLORS[i % len(SERIES_COLORS)]
        ax.loglog(g["n"], g["cx"], "o-", color=color, markersize=3, label=f"s = {s_val}")
        ax.loglog(g["n"], g["model_cx"], "--", color=color, linewidth=0.7)
    dense = upload[upload["method"] == "dense"]
    if len(dense):
        g = dense.groupby("n")["cx"].max().sort_index()
        ax.loglog(g.index, g.values, "ks:", markersize=3, label="dense StatePreparation")
    handles, _ = ax.get_legend_handles_labels()
    handles.append(
        Line2D([], [], color="k", linestyle="--", linewidth=0.7, label="O(s log n) bound")
    )
    ax.legend(handles=handles, loc="upper left", fontsize=5.5)
    ax.set_xlabel("vector dimension n")
    ax.set_ylabel("CX gates (transpiled, u + cx)")
    ax.set_title("(c) sparse upload: measured circuits")


# --------------------------------------------------------------------------- figS7

EXPANSION_STYLES = {"window": "-", "initial": "--"}


def _pick(summary: pd.DataFrame, **query) -> pd.DataFrame:
    mask = np.ones(len(summary), dtype=bool)
    for key, value in query.items():
        if isinstance(value, float):
            mask &= np.isclose(summary[key].astype(float), value)
        else:
            mask &= summary[key] == value
    return summary[mask]


def _headroom(ax, lowest: float, highest: float) -> None:
    """Log y-limits around ``lowest`` … ``highest``."""
    ax.set_ylim(lowest / 3, highest * 3)


def _gap_panel(
    ax,
    windows: pd.DataFrame,
    grid: pd.DataFrame,
    key: str,
    values: list,
    fixed: dict,
    expansions: list,
    fmt: str,
    extra_top: float = 0.0,
) -> None:
    """Relative window error at each download (:data:`ERROR_COLUMN`); colour = ``key``'s value,
    line style = expansion point."""
    lowest, highest, diverged = np.inf, 0.0, False
    for i, value in enumerate(values):
        color = SERIES_COLORS[i % len(SERIES_COLORS)]
        for x in expansions:
            r = _pick(grid, expansion=x, **{key: value}, **fixed)
            if r.empty:
                continue
            g = windows[windows["run_id"] == r["run_id"].iloc[0]]
            gap = np.clip(np.nan_to_num(g[ERROR_COLUMN].to_numpy(), nan=CAP), FLOOR, CAP)
            lowest, highest = min(lowest, gap.min()), max(highest, gap.max())
            if bool(r["diverged"].iloc[0]):
                diverged = True
                ax.plot(r["diverged_at_step"].iloc[0], CAP, "x", color=color, markersize=5)
            ax.semilogy(
                g["end_step"],
                gap,
                EXPANSION_STYLES.get(x, "-"),
                color=color,
                marker=MARKERS[i % len(MARKERS)],
                markersize=2.5,
            )
    handles = [
        Line2D(
            [],
            [],
            color=SERIES_COLORS[i % len(SERIES_COLORS)],
            marker=MARKERS[i % len(MARKERS)],
            markersize=2.5,
            label=fmt.format(v),
        )
        for i, v in enumerate(values)
    ]
    handles += [
        Line2D([], [], color="k", linestyle=EXPANSION_STYLES.get(x, "-"), label=f"expansion: {x}")
        for x in expansions
    ]
    if lowest <= FLOOR:
        handles.append(Line2D([], [], linestyle="none", label="(exact: drawn at 1e-16)"))
    if diverged:
        handles.append(
            Line2D(
                [],
                [],
                linestyle="none",
                marker="x",
                color="k",
                label=f"diverged, stopped (error drawn at {CAP:g})",
            )
        )
    if np.isfinite(lowest) and highest > 0:
        _headroom(ax, lowest, max(highest, extra_top))
    ax.set_xlabel("step")
    legend_below(ax, handles)


def plot_figS7(
    steps: pd.DataFrame,
    windows_table: pd.DataFrame,
    summary: pd.DataFrame,
    hhl_windows: pd.DataFrame,
    hhl_summary: pd.DataFrame,
):
    """(a) training loss, (b) test accuracy of classical GD and quantum-trained runs (markers at
    downloads; ``steps``); the error of each download relative to the downloaded vector, the one
    ε is defined on (``relative_window_error`` of the window tables: ‖θ_q(end) − GD_W(θ_q(start))‖
    / ‖GD_W(θ_q(start)) − θ̄‖), (c) for each Carleman order N, (d) for each window W, (e) for
    each tomography precision ε; (f) the HHL path of the tiniest instances against the same
    windows solved by forward substitution."""
    fig, axes = figure(ncols=3, nrows=2, width=2 * COLUMN_WIDTH, aspect=1.3)
    axes = axes.ravel()
    grid = summary[summary["solver"] == "classical"]
    orders = sorted(set(grid["order"]))
    windows = sorted(set(grid["window"]))
    epsilons = sorted(set(grid["epsilon"]))
    expansions = list(dict.fromkeys(grid["expansion"]))
    w_max, n_max, e_max = max(windows), max(orders), max(epsilons)
    degree = int(grid["degree"].iloc[0])
    n_fixed = degree if degree in orders else n_max

    # (a), (b): classical reference and the largest-window runs of every order at ε_max
    ref = steps[steps["run_id"] == grid["run_id"].iloc[0]]
    chosen = _pick(grid, window=w_max, epsilon=float(e_max))
    for ax, col, ccol in (
        (axes[0], "loss", "classical_loss"),
        (axes[1], "test_accuracy", "classical_test_accuracy"),
    ):
        ax.plot(
            ref["step"],
            ref[ccol],
            color=VARIANT_COLORS["classical"],
            linewidth=2.4,
            alpha=0.45,
            label="classical GD",
        )
        for i, (_, r) in enumerate(chosen.iterrows()):
            g = steps[(steps["run_id"] == r["run_id"]) & steps["downloaded"]]
            diff = float(np.max(np.abs(g[col] - g[ccol])))
            # markers only: the quantum state is read out at downloads, so nothing is known in
            # between (a line would read as the run leading or lagging GD there)
            ax.plot(
                g["step"],
                g[col],
                linestyle="none",
                marker=MARKERS[i % len(MARKERS)],
                markersize=3.5 if r["expansion"] == expansions[0] else 2.5,
                markerfacecolor="none" if r["expansion"] != expansions[0] else None,
                color=SERIES_COLORS[i % len(SERIES_COLORS)],
                label=f"{r['expansion']}, N = {r['order']}: "
                + (
                    f"diverged at step {r['diverged_at_step']}"
                    if r["diverged"]
                    else f"max |Δ| {diff:.1g}"
                ),
            )
        ax.set_xlabel("step")
        if col == "loss":
            legend_below(ax)
    axes[0].set_yscale("log")
    axes[0].set_ylim(ref["classical_loss"].min() / 1.5, ref["classical_loss"].max() * 1.5)
    axes[1].set_ylim(-0.02, 1.02)
    axes[0].set_ylabel("training loss (MSE/2)")
    axes[0].set_title(
        f"(a) training loss; quantum (markers): W = {w_max},\nε = {e_max:g}, read out at downloads"
    )
    axes[1].set_ylabel("test accuracy")
    axes[1].set_title("(b) test accuracy (same runs as (a);\nmarkers: values at downloads)")

    gap_label = "error per download / ‖u(W)‖"
    panels = [  # (axes, swept column, its values, fixed columns, label, title, headroom)
        (2, "order", orders, {"window": w_max, "epsilon": 0.0}, "N = {}",
         f"(c) by Carleman order (W = {w_max}, ε = 0)", 0.0),
        (3, "window", windows, {"order": n_fixed, "epsilon": 0.0}, "W = {}",
         f"(d) by window (N = {n_fixed}, ε = 0)", 0.0),
        (4, "epsilon", [float(e) for e in epsilons], {"order": n_fixed, "window": w_max},
         "ε = {:g}", None, float(e_max)),
    ]  # fmt: skip
    for i, key, values, fixed, label, panel_title, top in panels:
        _gap_panel(axes[i], windows_table, grid, key, values, fixed, expansions, label, top)
        if panel_title:  # (e) has its own title and no y label
            axes[i].set_title(panel_title)
            axes[i].set_ylabel(gap_label)
    for i, e in enumerate(epsilons):
        if e > 0:
            axes[4].axhline(
                e, color=SERIES_COLORS[i % len(SERIES_COLORS)], linestyle=":", linewidth=0.8
            )

    axes[4].set_title(f"(e) by precision ε (N = {n_fixed}, W = {w_max});\ndotted: error = ε")

    ax = axes[5]
    if len(hhl_summary):
        handles = []
        for i, (_, r) in enumerate(
            hhl_summary.drop_duplicates(["features", "order", "window", "epsilon"]).iterrows()
        ):
            color, marker = SERIES_COLORS[i % len(SERIES_COLORS)], MARKERS[i % len(MARKERS)]
            label = (
                f"p = {r['features']}, N = {r['order']}, W = {r['window']}, ε = {r['epsilon']:g}"
            )
            for solver in ("classical", "hhl"):
                run = _pick(
                    hhl_summary,
                    features=r["features"],
                    order=r["order"],
                    window=r["window"],
                    epsilon=float(r["epsilon"]),
                    solver=solver,
                )
                if run.empty:
                    continue
                g = hhl_windows[hhl_windows["run_id"] == run["run_id"].iloc[0]]
                ax.semilogy(
                    g["end_step"],
                    np.clip(np.nan_to_num(g[ERROR_COLUMN], nan=CAP), FLOOR, CAP),
                    "-" if solver == "hhl" else ":",
                    marker=marker,
                    markersize=2.5,
                    color=color,
                    markerfacecolor=color if solver == "hhl" else "none",
                )
                if solver == "hhl":
                    label += f"; HHL 1 − F ≤ {1 - run['min_hhl_fidelity'].iloc[0]:.0e}"
            handles.append(Line2D([], [], color=color, marker=marker, label=label))
        handles += [
            Line2D([], [], color="k", label="HHL circuit (statevector)"),
            Line2D([], [], color="k", linestyle=":", label="forward substitution"),
        ]
        targets = sorted({float(e) for e in hhl_summary["epsilon"] if e > 0})
        for e in targets:
            ax.axhline(e, color="0.4", linestyle=":", linewidth=0.8)
        if targets:
            handles.append(Line2D([], [], color="0.4", linestyle=":", label="error = ε"))
        drawn = np.clip(np.nan_to_num(hhl_windows[ERROR_COLUMN], nan=CAP), FLOOR, CAP)
        if len(drawn):
            _headroom(ax, float(drawn.min()), max(float(drawn.max()), *targets, 0.0))
        legend_below(ax, handles, ncol=1)
    ax.set_xlabel("step")
    ax.set_ylabel(gap_label)
    ax.set_title("(f) tiniest instances through\nthe simulated HHL circuit")
    fig.tight_layout()
    return fig
