"""The one figure style: sizes, colours, labels, number formats, deterministic PDF and PNG.

Figures are functions of small tables (never of models), so restyling never retrains.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt

logging.getLogger("fontTools").setLevel(logging.WARNING)  # PDF font subsetting chatter

__all__ = [
    "COLUMN_WIDTH",
    "CONVENTION_LABELS",
    "MARKERS",
    "SERIES_COLORS",
    "VARIANT_COLORS",
    "VARIANT_LABELS",
    "figure",
    "fmt",
    "integer_locator",
    "legend_below",
    "note_box",
    "save_figure",
    "stamp",
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
#: Colours of series without a name of their own (maps, systems, runs), in order.
SERIES_COLORS = [
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#9467bd",
    "#ff7f0e",
    "#8c564b",
    "#e377c2",
    "#17becf",
]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
#: Legend names of the sparse-training variants.
VARIANT_LABELS = {
    "continuous": "continuous (no download)",
    "sparse": "sparse re-upload",
    "qram": "QRAM",
}
#: Legend names of the conventions for a (SPEC §2.5; the multiplier convention decides).
CONVENTION_LABELS = {
    "multiplier": "multiplier |1 − ηλ|",
    "eigenvalue": "a = −λ",
    "lr_scaled": "a = −ηλ",
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


def fmt(x: float, digits: int = 2) -> str:
    """A number for a legend or label: ``digits`` significant figures, ``∞`` for +inf and
    ``nan`` for nan (or -inf)."""
    if not np.isfinite(x):
        return "∞" if x > 0 else "nan"
    return f"{x:.{digits}g}"


def note_box(ax, lines: list[str], x: float, y: float = 0.97, **text: Any) -> None:
    """A boxed block of text lines in axes coordinates, top-aligned at ``(x, y)`` (the masses
    of Fig. 3, the correlation table of figS8); ``text``: further ``ax.text`` options, and
    ``alpha`` for the box."""
    box = {"fc": "white", "ec": "0.8", "lw": 0.5}
    if "alpha" in text:
        box["alpha"] = text.pop("alpha")
    ax.text(x, y, "\n".join(lines), transform=ax.transAxes, va="top", bbox=box, **text)


def integer_locator():
    """Axis ticks at integers only (orders, clock qubits)."""
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(integer=True)


def legend_below(ax, handles=None, ncol: int = 2, offset: float = -0.24) -> None:
    """A legend under the axes (below its x label, ``offset`` in axes heights), out of the
    data's way."""
    kwargs = {"handles": handles} if handles is not None else {}
    ax.legend(
        **kwargs,
        loc="upper center",
        bbox_to_anchor=(0.5, offset),
        ncol=ncol,
        fontsize=5,
        frameon=False,
        handlelength=1.8,
        columnspacing=1.0,
    )


def stamp(fig, text: str) -> None:
    """Write ``text`` across ``fig`` (large, red, translucent, diagonal) and as a line above it
    (above any title): what a rehearsal's figures say they are
    (:data:`qtrain.run.config.REHEARSAL_LABEL`)."""
    red = {"color": "#d62728", "fontweight": "bold", "transform": fig.transFigure}
    fig.text(
        0.5, 0.5, text, ha="center", va="center", rotation=25, fontsize=11, alpha=0.35,
        zorder=1000, **red,
    )  # fmt: skip
    fig.text(0.5, 1.05, text, ha="center", va="bottom", fontsize=7, **red)
