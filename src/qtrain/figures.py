"""One shared figure style: readable at paper column width, deterministic PDF and PNG.

Figures are functions of small tables (never of models), so restyling never retrains.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

__all__ = [
    "COLUMN_WIDTH",
    "PIPELINE_STAGES",
    "VARIANT_COLORS",
    "figure",
    "plot_fig1",
    "save_figure",
    "style",
]

COLUMN_WIDTH = 3.4  # inches: one column of Nature Communications
VARIANT_COLORS = {
    "continuous": "#4d4d4d",
    "sparse": "#1f77b4",
    "qram": "#d62728",
    "dissipative": "#2ca02c",
    "almost_dissipative": "#ff7f0e",
    "divergent": "#9467bd",
    "discrete": "#1f77b4",
    "first_order": "#ff7f0e",
    "quantum": "#d62728",
    "classical": "#4d4d4d",
}

_RC = {
    "font.size": 8,
    "axes.titlesize": 8,
    "axes.labelsize": 8,
    "legend.fontsize": 7,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "lines.linewidth": 1.2,
    "lines.markersize": 3.5,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "savefig.dpi": 200,
    "savefig.bbox": "tight",
    "pdf.fonttype": 42,
    "svg.hashsalt": "qtrain",
}


@contextlib.contextmanager
def style() -> Iterator[None]:
    """Apply the project's matplotlib style inside a ``with`` block."""
    with matplotlib.rc_context(_RC):
        yield


def figure(
    ncols: int = 1, nrows: int = 1, width: float = COLUMN_WIDTH, aspect: float = 0.75, **kwargs
):
    """A figure of ``width`` inches with ``nrows`` x ``ncols`` axes, in the project style.

    The style is also applied to matplotlib's global settings, so legends, texts and colour bars
    added after this call use it too.
    """
    matplotlib.rcParams.update(_RC)
    with style():
        fig, axes = plt.subplots(
            nrows, ncols, figsize=(width, width * aspect * nrows / ncols), **kwargs
        )
    return fig, axes


def save_figure(
    fig, path: str | os.PathLike, formats: tuple[str, ...] = ("pdf", "png")
) -> list[Path]:
    """Save ``fig`` to ``path`` (its suffix is replaced per format) without timestamps.

    Returns the written paths. Metadata dates are dropped so reruns give identical bytes.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    written = []
    with style():
        for fmt in formats:
            target = path.with_suffix(f".{fmt}")
            metadata = {"CreationDate": None} if fmt == "pdf" else {"Software": None}
            fig.savefig(target, format=fmt, metadata=metadata)
            written.append(target)
    plt.close(fig)
    return written


# Fig. 1 boxes: (title, detail, the rules that implement the step, classical or quantum side).
PIPELINE_STAGES = [
    ("dense\npretraining", "CIFAR ResNet,\nSGD", "pretrain", "classical"),
    ("pruning", "keep the\nlargest 10%", "prune", "classical"),
    ("sparse\nupload", "state prep.,\nO(s log n) gates", "sparse_train\nresource_model", "quantum"),
    (
        "Carleman\n+ HHL",
        "T GD steps as\none linear system",
        "carleman_sweep\nhhl_sweep\nquantum_training",
        "quantum",
    ),
    (
        "tomographic\ndownload",
        "~1/ε² samples,\ntop-10% readout",
        "sparse_train\ntomography_sweep",
        "quantum",
    ),
    (
        "sparse\nnetwork",
        "classical weights,\nHessian spectra",
        "spectrum\nerror_proxy",
        "classical",
    ),
]


def plot_fig1(stages=None):
    """Fig. 1: the pipeline (classical pretrain → prune → upload → Carleman + HHL → tomography
    download → classical), each box naming the workflow rules that implement it.

    ``stages``: optional ``(title, detail, rules, side)`` tuples, ``side`` classical or quantum.
    """
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    stages = stages or PIPELINE_STAGES
    colors = {"classical": ("#e8e8e8", "#4d4d4d"), "quantum": ("#fbe3e3", "#d62728")}
    fig, ax = figure(width=COLUMN_WIDTH * 2.1, aspect=0.36)
    ax.set_axis_off()
    ax.set_xlim(0, len(stages))
    ax.set_ylim(0, 1)
    box_w, box_h, y0 = 0.86, 0.52, 0.26
    for i, (title, detail, rules, side) in enumerate(stages):
        face, edge = colors[side]
        x0 = i + (1 - box_w) / 2
        ax.add_patch(
            FancyBboxPatch(
                (x0, y0),
                box_w,
                box_h,
                boxstyle="round,pad=0.02",
                facecolor=face,
                edgecolor=edge,
                lw=1.2,
            )
        )
        ax.text(
            i + 0.5,
            y0 + box_h - 0.13,
            title,
            ha="center",
            va="center",
            weight="bold",
            fontsize=6.5,
            linespacing=1.0,
        )
        ax.text(
            i + 0.5, y0 + 0.12, detail, ha="center", va="center", fontsize=5.5, linespacing=1.05
        )
        ax.text(
            i + 0.5,
            y0 - 0.1,
            rules,
            ha="center",
            va="center",
            fontsize=5,
            color="0.35",
            family="monospace",
            linespacing=1.0,
        )
        if i + 1 < len(stages):
            ax.add_patch(
                FancyArrowPatch(
                    (x0 + box_w + 0.01, y0 + box_h / 2),
                    (i + 1 + (1 - box_w) / 2 - 0.01, y0 + box_h / 2),
                    arrowstyle="-|>",
                    mutation_scale=8,
                    lw=1,
                    color="0.2",
                )
            )
    quantum = [i for i, s in enumerate(stages) if s[3] == "quantum"]
    if quantum:
        left, right = quantum[0] + (1 - box_w) / 2, quantum[-1] + 1 - (1 - box_w) / 2
        ax.add_patch(
            FancyArrowPatch(
                (right - 0.3, y0 + box_h + 0.03),
                (left + 0.3, y0 + box_h + 0.03),
                connectionstyle="arc3,rad=0.25",
                arrowstyle="-|>",
                mutation_scale=8,
                lw=1,
                color=colors["quantum"][1],
            )
        )
        ax.text(
            (left + right) / 2,
            0.98,
            "download and re-upload every window (100 steps)",
            ha="center",
            va="bottom",
            fontsize=6,
            color=colors["quantum"][1],
        )
    ax.text(
        0.0,
        -0.04,
        "grey: classical computer; red: fault-tolerant quantum computer "
        "(simulated here); monospace: the workflow rules that implement each step",
        fontsize=5.5,
        color="0.3",
        transform=ax.transAxes,
    )
    return fig


__all__ += ["plot_fig1"]
