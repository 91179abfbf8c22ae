"""Fig. 1: the pipeline of the paper, each box naming the workflow rules that implement it."""

from __future__ import annotations

from collections.abc import Sequence

from qtrain.figures.style import COLUMN_WIDTH, figure
from qtrain.paper import KEEP_FRACTION

__all__ = ["PIPELINE_STAGES", "plot_fig1"]

#: Fig. 1 boxes: (title, detail, classical or quantum side); ``{keep}`` and ``{download}`` are
#: the run's kept shares (prune.keep_fraction, sparse_train.keep_fraction). The workflow passes,
#: per box, the rules that implement the step (figures.smk), so the library never spells rule
#: names.
PIPELINE_STAGES = [
    ("dense\npretraining", "CIFAR ResNet,\nSGD", "classical"),
    ("pruning", "keep the\nlargest {keep}", "classical"),
    ("sparse\nupload", "state prep.,\nO(s log n) gates", "quantum"),
    ("Carleman\n+ HHL", "T GD steps as\none linear system", "quantum"),
    ("tomographic\ndownload", "~1/ε² samples,\ntop-{download} readout", "quantum"),
    ("sparse\nnetwork", "classical weights,\nHessian spectra", "classical"),
]


def _percent(fraction: float) -> str:
    return f"{100 * fraction:.3g}%"


def plot_fig1(
    stage_rules: Sequence[Sequence[str]] | None = None,
    stages: Sequence[tuple[str, str, str]] = PIPELINE_STAGES,
    window_steps: int = 100,
    keep_fraction: float = KEEP_FRACTION,
    download_fraction: float = KEEP_FRACTION,
):
    """Fig. 1: the pipeline (classical pretrain → prune → upload → Carleman + HHL → tomography
    download → classical); under each box the workflow rules that implement it.

    ``stages``: ``(title, detail, side)`` per box, ``side`` classical or quantum;
    ``stage_rules``: the rule names of each box (none drawn when not given);
    ``window_steps``, ``keep_fraction``, ``download_fraction``: the run's window length and
    kept shares, written into the figure (the paper's: 100 steps, 10%, 10%).
    """
    shares = {"keep": _percent(keep_fraction), "download": _percent(download_fraction)}
    stages = [(t, d.format(**shares), side) for t, d, side in stages]
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    rules = ["\n".join(names) for names in stage_rules] if stage_rules else [""] * len(stages)
    colors = {"classical": ("#e8e8e8", "#4d4d4d"), "quantum": ("#fbe3e3", "#d62728")}
    fig, ax = figure(width=COLUMN_WIDTH * 2.1, aspect=0.36)
    ax.set_axis_off()
    ax.set_xlim(0, len(stages))
    ax.set_ylim(0, 1)
    box_w, box_h, y0 = 0.86, 0.52, 0.26
    for i, ((title, detail, side), names) in enumerate(zip(stages, rules, strict=True)):
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
            names,
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
    quantum = [i for i, s in enumerate(stages) if s[2] == "quantum"]
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
            f"download and re-upload every window ({window_steps} steps)",
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
