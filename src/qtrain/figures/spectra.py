"""Figures of the spectra stage (Fig. 2a, Fig. 2b, Fig. 3) as functions of small tables.

Torch-free: the spectra arrive as the spectra stage's tables (densities, Ritz nodes, masses),
turned into per-spectrum mappings by :func:`qtrain.spectra.density.spectra_from_tables`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from qtrain.figures.style import (
    COLUMN_WIDTH,
    CONVENTION_LABELS,
    VARIANT_COLORS,
    VARIANT_LABELS,
    figure,
    note_box,
)
from qtrain.spectra.error_proxy import DECIDING_CONVENTION, convention

__all__ = ["plot_fig2a", "plot_fig2b", "plot_fig3", "ridge_table"]

_FLOOR = 1e-6  # relative density floor of the log-scaled ridges


def ridge_table(spectra: Mapping[tuple[str, int], Mapping[str, Any]]) -> pd.DataFrame:
    """Long table (variant, step, lambda, density) of the smoothed densities as stored."""
    frames = []
    for (variant, step), spec in sorted(spectra.items()):
        frames.append(
            pd.DataFrame(
                {
                    "variant": variant,
                    "step": step,
                    "lambda": spec["grid"],
                    "density": spec["density"],
                    "sigma": spec["sigma"],
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def plot_fig2a(
    spectra: Mapping[tuple[str, int], Mapping[str, Any]],
    downloads: Mapping[str, Sequence[int]] | None = None,
    cutoff: float = 0.4,
    title: str = "",
):
    """Ridge plot: one column per variant, one ridge per measured step (bottom = step 0).

    Each ridge is the Gaussian-smoothed density on a log scale between a floor of 10⁻⁶ of
    its peak and its peak (shapes, not heights, are compared); the smoothing is re-done on a
    common λ grid with each spectrum's own σ. Steps right after a download are drawn dashed.
    The grey band is |λ| ≤ c, the modes the deciding multiplier convention leaves out (outside
    it a mode is dissipative iff 0 < ηλ < 2).
    """
    variants = [v for v in ("continuous", "sparse", "qram") if any(k[0] == v for k in spectra)]
    downloads = downloads or {}
    # wide enough that every smoothed ridge falls to its floor inside the axes (nothing clipped)
    reach = math.sqrt(2 * math.log(1 / _FLOOR))  # Gaussian tails reach the floor at this many σ
    lo = min(
        min(float(s["grid"][0]), float(np.min(s["nodes"])) - reach * float(s["sigma"]))
        for s in spectra.values()
    )
    hi = max(
        max(float(s["grid"][-1]), float(np.max(s["nodes"])) + reach * float(s["sigma"]))
        for s in spectra.values()
    )
    grid = np.linspace(lo, hi, 1600)
    fig, axes = figure(
        ncols=len(variants), width=COLUMN_WIDTH * 2, aspect=1.0, sharey=True, squeeze=False
    )
    axes = axes[0]
    for ax, variant in zip(axes, variants, strict=True):
        steps = sorted(k[1] for k in spectra if k[0] == variant)
        gap = max(np.diff(steps).min() if len(steps) > 1 else 1, 1)
        height = 1.6 * gap
        color = VARIANT_COLORS[variant]
        for step in reversed(steps):
            spec = spectra[(variant, step)]
            dens = _smooth(spec["nodes"], spec["weights"], grid, spec["sigma"])
            peak = dens.max()
            level = np.log10(np.maximum(dens / peak, _FLOOR)) / -math.log10(_FLOOR) + 1.0
            y = step + height * level
            ls = "--" if step in set(downloads.get(variant, ())) else "-"
            ax.fill_between(grid, step, y, color="white", zorder=2 * (len(steps) - step))
            ax.plot(grid, y, color=color, lw=0.9, ls=ls, zorder=2 * (len(steps) - step) + 1)
            ax.plot(grid, np.full_like(grid, step), color=color, lw=0.3, alpha=0.5)
        ax.axvspan(-cutoff, cutoff, color="0.85", lw=0, zorder=0)
        ax.set_title(VARIANT_LABELS[variant], color=color)
        ax.set_xlabel("Hessian eigenvalue λ")
        ax.set_xlim(lo, hi)
        ax.set_yticks(steps)
        ax.grid(False)
    axes[0].set_ylabel("step (ridge: log density, 10⁻⁶ to peak)")
    handles = [
        Line2D([], [], color="0.3", lw=0.9, label="measured step"),
        Line2D([], [], color="0.3", lw=0.9, ls="--", label="right after a download"),
    ]
    fig.legend(handles=handles, loc="upper right", bbox_to_anchor=(1.0, 1.0), ncol=2, frameon=False)
    if title:
        fig.suptitle(title, fontsize=8, x=0.02, ha="left", y=1.0)
    fig.subplots_adjust(top=0.84)
    return fig


def _smooth(nodes, weights, grid, sigma):
    z = (grid[:, None] - np.asarray(nodes)[None, :]) / sigma
    return np.exp(-0.5 * z * z) @ np.asarray(weights) / (sigma * math.sqrt(2 * math.pi))


def plot_fig2b(
    curves: pd.DataFrame,
    conventions: Sequence[str],
    lr: float,
    cutoff: float = 0.4,
    title: str = "",
):
    """log10 E(t) against step for every variant, one panel per a-convention.

    t restarts only at uploads (step 0, after each download, after QRAM's classical steps):
    there E drops to 1 (log10 E = 0), marked with an open circle. Inside an upload segment ρ
    switches to each newly measured spectrum without restarting t: the line breaks there and a
    thin dotted connector joins the two pieces, so a jump is never mistaken for a restart. QRAM
    classical steps (no E) leave gaps. Values come from ln E computed in log space (finite
    where E overflows float64).
    """
    fig, axes = figure(
        nrows=len(conventions), width=COLUMN_WIDTH * 1.5, aspect=0.42, sharex=True, squeeze=False
    )
    axes = axes[:, 0]
    variants = [v for v in ("continuous", "sparse", "qram") if v in set(curves["variant"])]
    for ax, conv in zip(axes, conventions, strict=True):
        col = f"logE_{conv}" if f"logE_{conv}" in curves else None
        for variant in variants:
            rows = curves[(curves["variant"] == variant) & (curves["kind"] != "classical")]
            # table order is chronological: a download's window_end row precedes its upload
            color = VARIANT_COLORS[variant]
            ref = variant == "continuous"
            style = {"color": color, "lw": 0.9 if ref else 1.2, "ls": "--" if ref else "-"}
            y_all = _log10_proxy(rows, conv, col)
            previous = None
            for (segment, _rho), piece in rows.groupby(["segment", "rho_step"], sort=False):
                y = _log10_proxy(piece, conv, col)
                ax.plot(piece["step"], y, zorder=3 if ref else 2, **style)
                if previous is not None and previous[0] == segment:  # ρ switched, t did not
                    ax.plot(
                        [previous[1], piece["step"].iloc[0]],
                        [previous[2], y[0]],
                        color=color,
                        lw=0.6,
                        ls=":",
                        zorder=1,
                    )
                previous = (segment, piece["step"].iloc[-1], y[-1])
            uploads = rows[rows["kind"] == "upload"]
            ax.plot(
                uploads["step"],
                np.zeros(len(uploads)),
                ls="none",
                marker="o",
                mfc="white",
                ms=3,
                color=color,
                zorder=5,
                label=VARIANT_LABELS[variant] if conv == conventions[0] else None,
            )
            meas = rows[rows["measured"].astype(bool) & (rows["kind"] != "upload")]
            ax.plot(
                meas["step"],
                y_all[
                    rows["measured"].astype(bool).to_numpy() & (rows["kind"] != "upload").to_numpy()
                ],
                ls="none",
                marker=".",
                ms=3,
                color=color,
                zorder=4,
            )
        ax.axhline(0.0, color="0.5", lw=0.5, ls=":")
        label = CONVENTION_LABELS.get(conv, conv)
        ax.set_ylabel(f"log10 E(t), {label}")
        values = _log10_proxy(curves, conv, col)
        quantum = (curves["kind"] != "classical").to_numpy()
        gaps = bool(np.isnan(values[quantum]).any()) and not np.isnan(values).all()
        ax.set_title(
            _convention_title(conv, lr, cutoff)
            + ("; gaps: N_c = 0 (no weight beyond the cut-off), E undefined" if gaps else ""),
            loc="left",
            fontsize=7,
        )
        if np.isnan(values).all():
            ax.text(
                0.5,
                0.5,
                "no spectral weight beyond the cut-off (N_c = 0): E undefined",
                transform=ax.transAxes,
                ha="center",
            )
    downloads = sorted(set(curves.loc[curves["kind"] == "window_end", "step"]))
    for ax in axes:
        for step in downloads:
            ax.axvline(step, color="0.6", lw=0.5, ls=":", zorder=0)
    axes[-1].set_xlabel(
        "step (open circles: restart at an upload; dots: a new spectrum, t not restarted)"
    )
    # the legend below the x label: above the top panel it would cover that panel's title
    handles, labels = axes[0].get_legend_handles_labels()
    axes[-1].legend(
        handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=3, frameon=False
    )
    if title:
        fig.suptitle(title, fontsize=8)
    return fig


def _convention_title(conv: str, lr: float, cutoff: float) -> str:
    """``label, cut-off (, η)`` and whether the convention decides or is for comparison."""
    label = CONVENTION_LABELS.get(conv, conv)
    if conv == "multiplier":
        text = f"{label}, |λ| > c = {cutoff:g}, η = {lr:g}"
    elif conv == "lr_scaled":
        text = f"{label}, |ηλ| > c = {cutoff:g}, η = {lr:g}"
    else:
        text = f"{label}, |λ| > c = {cutoff:g}"
    return text + (" (decides)" if conv == DECIDING_CONVENTION else " (for comparison)")


def _regions(conv: str, lr: float, cutoff: float) -> tuple[list, list]:
    """The λ intervals of the dissipative and the divergent modes beyond the cut-off."""
    p = convention(conv, lr, cutoff)
    edge = p.cutoff / p.scale
    if p.split == "multiplier":  # |1 − ηλ| < 1 iff 0 < λ < 2/η
        top = 2.0 / p.scale
        return [(edge, top)], [(-math.inf, -edge), (top, math.inf)]
    return [(edge, math.inf)], [(-math.inf, -edge)]


def _log10_proxy(rows: pd.DataFrame, conv: str, column: str | None) -> np.ndarray:
    """log10 E of ``rows``: from the log-space column when present, else from E."""
    if column is not None:
        return rows[column].to_numpy(dtype=float) / math.log(10)
    with np.errstate(divide="ignore"):
        return np.log10(rows[f"E_{conv}"].to_numpy(dtype=float))


def plot_fig3(
    spec: Mapping[str, Any],
    masses: Mapping[str, float],
    conventions: Sequence[str],
    lr: float,
    cutoff: float = 0.4,
    title: str = "",
    note: str = "",
):
    """The large model's smoothed Hessian density right after pruning (log scale), the
    dissipative and divergent regions shaded for the first (deciding) convention (multiplier:
    c < λ < 2/η dissipative, λ < −c or λ > 2/η divergent), the other conventions' cut-offs
    dashed, and all masses printed (``masses``: the spectra stage's masses, per convention;
    ``note``: a last line of the box, e.g. which training seed the masses are of)."""
    fig, ax = figure(width=COLUMN_WIDTH * 1.3, aspect=0.62)
    grid, dens = np.asarray(spec["grid"]), np.asarray(spec["density"])
    floor = max(dens.max() * 1e-7, 1e-300)
    ax.plot(grid, np.maximum(dens, floor), color="0.15", lw=1.0)
    ax.set_yscale("log")
    ax.set_ylim(floor, dens.max() * 300)  # two empty decades on top: the masses' box
    primary = conventions[0]
    diss_color, div_color = VARIANT_COLORS["dissipative"], VARIANT_COLORS["divergent"]
    dissipative, divergent = _regions(primary, lr, cutoff)
    for intervals, color in ((dissipative, diss_color), (divergent, div_color)):
        for lo, hi in intervals:
            lo, hi = max(lo, grid[0]), min(hi, grid[-1])
            if lo < hi:
                ax.axvspan(lo, hi, color=color, alpha=0.12, lw=0)
    for conv in conventions[1:]:
        p = convention(conv, lr, cutoff)
        b = p.cutoff / p.scale
        for x in (-b, b):
            if grid[0] < x < grid[-1]:
                ax.axvline(x, color="0.4", lw=0.6, ls="--")
    lines = []
    for conv in conventions:
        d, v = masses[f"dissipative_{conv}"], masses[f"divergent_{conv}"]
        role = "" if conv == DECIDING_CONVENTION else " (comparison)"
        lines.append(
            f"{CONVENTION_LABELS.get(conv, conv)}{role}: dissipative {d:.3g}, divergent {v:.3g}"
        )
    if note:
        lines.append(note)
    note_box(ax, lines, 0.98, ha="right", fontsize=6.5)
    ax.set_xlabel("Hessian eigenvalue λ")
    ax.set_ylabel("spectral density (log)")
    split = convention(primary, lr, cutoff).split
    handles = [
        plt.Rectangle(
            (0, 0),
            1,
            1,
            color=diss_color,
            alpha=0.3,
            label="dissipative, |1 − ηλ| < 1" if split == "multiplier" else "dissipative, a < −c",
        ),
        plt.Rectangle(
            (0, 0),
            1,
            1,
            color=div_color,
            alpha=0.3,
            label="divergent, |1 − ηλ| > 1" if split == "multiplier" else "divergent, a > c",
        ),
    ]
    if len(conventions) > 1:
        handles.append(
            Line2D(
                [],
                [],
                color="0.4",
                lw=0.6,
                ls="--",
                label=f"±c for {CONVENTION_LABELS.get(conventions[1], conventions[1])}",
            )
        )
    ax.legend(handles=handles, loc="center right", frameon=True, framealpha=0.9, fontsize=6.5)
    if title:
        ax.set_title(title)
    return fig
