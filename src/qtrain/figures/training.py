"""Fig. 2c: training accuracy of the sparse-training variants, as a function of small tables."""

from __future__ import annotations

import numpy as np

from qtrain.figures.style import (
    COLUMN_WIDTH,
    VARIANT_COLORS,
    VARIANT_LABELS,
    figure,
    legend_below,
)

__all__ = ["plot_fig2c"]

# Variants coincide where they train the same way (all of them before the first download; sparse
# and QRAM until QRAM's later download): the wide pale sparse line stays visible under the
# narrow QRAM one, the dashed continuous reference is drawn on top, and download arrows of the
# same step are drawn side by side.
_STYLES = {
    "continuous": {"lw": 0.9, "ls": "--", "alpha": 1.0, "zorder": 4, "offset": 0.0},
    "sparse": {"lw": 3.2, "ls": "-", "alpha": 0.45, "zorder": 2, "offset": -0.3},
    "qram": {"lw": 1.1, "ls": "-", "alpha": 1.0, "zorder": 3, "offset": 0.3},
}


def plot_fig2c(records, downloads, title: str = ""):
    """Training accuracy versus step per variant, downloads marked by their dips (Fig. 2c).

    ``records``: the per-step tables of the variants (``step``, ``variant``, ``train_accuracy``,
    ``phase``); ``downloads``: their download tables (``step``, ``variant``,
    ``train_accuracy_before``, ``train_accuracy_after``). Classical QRAM steps are shaded.
    """
    fig, axes = figure(nrows=2, width=COLUMN_WIDTH * 1.35, aspect=0.5, sharex=True)
    variants = [v for v in ("continuous", "sparse", "qram") if v in set(records["variant"])]
    first_download = downloads["step"].min() if len(downloads) else records["step"].min()
    for ax, zoom in zip(axes, (False, True), strict=True):
        for variant in variants:
            rec = records[(records["variant"] == variant) & records["train_accuracy"].notna()]
            color = VARIANT_COLORS[variant]
            style = _STYLES[variant]
            ax.plot(
                rec["step"],
                rec["train_accuracy"],
                color=color,
                label=VARIANT_LABELS[variant],
                lw=style["lw"],
                ls=style["ls"],
                alpha=style["alpha"],
                zorder=style["zorder"],
            )
            dl = downloads[downloads["variant"] == variant]
            for row in dl.itertuples(index=False):
                x = row.step + style["offset"]  # coinciding downloads stay side by side
                ax.plot(
                    [x, x],
                    [row.train_accuracy_before, row.train_accuracy_after],
                    color=color,
                    lw=2.0,
                    solid_capstyle="butt",
                    zorder=5,
                )
                ax.plot([x], [row.train_accuracy_after], marker="v", color=color, ms=4, zorder=5)
            if variant == "qram":
                classical = records[
                    (records["variant"] == "qram") & (records["phase"] == "classical")
                ]
                for start, stop in _runs(classical["step"].to_numpy()):
                    ax.axvspan(start - 0.5, stop + 0.5, color=color, alpha=0.08, lw=0)
        for step in sorted(set(downloads["step"])):
            ax.axvline(step, color="0.6", lw=0.5, ls=":", zorder=0)
        if zoom:
            late = records[(records["step"] > first_download) & records["train_accuracy"].notna()]
            if len(late):
                later = downloads[downloads["step"] > first_download]
                low = min(
                    late["train_accuracy"].min(),
                    later["train_accuracy_after"].min() if len(later) else 1.0,
                )
                high = late["train_accuracy"].max()
                pad = max(0.1 * (high - low), 0.002)
                ax.set_ylim(low - pad, high + pad)
            ax.set_ylabel("zoom after the\nfirst download")
    axes[0].set_ylabel("training accuracy\n(fixed subset)")
    axes[1].set_xlabel("step (QRAM classical steps shaded)")
    if title:
        axes[0].set_title(title)
    axes[0].plot([], [], marker="v", color="0.3", ls="-", lw=2.2, label="download: before → after")
    handles, _ = axes[0].get_legend_handles_labels()
    legend_below(axes[1], handles, offset=-0.32)  # under the axes: never over a curve
    return fig


def _runs(steps: np.ndarray) -> list[tuple[int, int]]:
    """Consecutive runs of integers as (first, last) pairs."""
    if len(steps) == 0:
        return []
    breaks = np.where(np.diff(steps) != 1)[0]
    starts = np.concatenate([[steps[0]], steps[breaks + 1]])
    stops = np.concatenate([steps[breaks], [steps[-1]]])
    return list(zip(starts.tolist(), stops.tolist(), strict=True))
