"""Claims C1 (model sizes, 10% kept) and C5 (download dips) from the training stages' tables.

C1 compares the parameter counts of the costs stage's ``classical_flops`` table with the
paper's (:data:`qtrain.paper.RESNETS`) and the prune stage's kept share; C5 reads the download
records of every training seed (:func:`download_dips`) and judges each dip, the share of it
regained in the next window and the QRAM variant's dips against the sparse variant's on matched
downloads, in train accuracy and train loss, with the training seeds as replicates.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from qtrain.claims import (
    DOES_NOT_HOLD,
    HOLDS,
    NOT_RUN,
    ClaimRow,
    combine_verdicts,
    judge,
)
from qtrain.paper import RESNETS
from qtrain.stats import NOISE_LEVEL, fmt, replicate_estimate, signed

__all__ = [
    "claim_c1",
    "claim_c5",
    "download_dips",
    "parameter_counts",
    "training_claims",
]


def parameter_counts(counted: pd.DataFrame) -> dict[str, int]:
    """``{"ResNet-<depth>-<widen>": parameters}`` from a table of counted models (columns
    ``depth``, ``widen``, ``parameters``: the costs stage's ``classical_flops.csv``)."""
    missing = {"depth", "widen", "parameters"} - set(counted.columns)
    if missing:
        raise ValueError(f"the counted parameters table lacks the columns {sorted(missing)}")
    return {
        f"ResNet-{int(r.depth)}-{int(r.widen)}": int(r.parameters)
        for r in counted.itertuples(index=False)
    }


def claim_c1(counts: Mapping[str, int], sparsity: Any, keep_fraction: float) -> ClaimRow:
    """C1 from exact parameter counts (``{"ResNet-32-4": n, "ResNet-56-11": n}``) and the prune
    stage's sparsity table (final ``total (prunable)`` row): the counts are 7,451,044 and
    103,703,700, and the kept share equals ``keep_fraction`` up to one weight of rounding."""
    expected = {r.label: r.parameters for r in RESNETS}
    total = sparsity.iloc[-1]
    density = float(total["kept"]) / float(total["total"])
    counts_ok = all(counts.get(k) == v for k, v in expected.items())
    tolerance = 1.0 / float(total["total"])
    slack = tolerance - abs(density - keep_fraction)
    density_ok = slack >= 0
    return ClaimRow(
        claim_id="C1",
        claim="7 M and 103 M parameter models; the largest 10% of weights kept",
        quantity="exact parameter counts (100 classes); kept share of prunable weights",
        value="; ".join(f"{k}: {v:,}" for k, v in counts.items())
        + f"; kept {int(total['kept']):,} of {int(total['total']):,} = {density:.6f}",
        comparison=f"counts {expected}; |density - {keep_fraction}| <= 1/total",
        verdict=HOLDS if counts_ok and density_ok else DOES_NOT_HOLD,
        source="prune/sparsity.csv, costs/classical_flops.csv",
        margin="; ".join(
            f"{k} count - paper {counts.get(k, 0) - v:+,d}" for k, v in expected.items()
        )
        + f"; 1/total - |kept share - {keep_fraction}| {signed(slack)}",
        noise="0: exact integer counts and a deterministic top-k selection (nothing is sampled)",
    )


DIP_COLUMNS = [
    "seed",
    "variant",
    "download",
    "step",
    "accuracy_before",
    "accuracy_after",
    "accuracy_end",
    "loss_before",
    "loss_after",
    "loss_end",
    "dip_accuracy",
    "dip_loss",
    "recovery_accuracy",
    "recovery_loss",
]


def _share(dip: float, regained: float) -> float:
    """The share of a dip regained (NaN when there is no dip to regain or no end value)."""
    if not (np.isfinite(dip) and np.isfinite(regained)) or dip <= 0:
        return math.nan
    return float(regained / dip)


def download_dips(records: Any, downloads: Any, seed: int = 0) -> pd.DataFrame:
    """Per download: the dip in train accuracy and train loss and the share of it regained by
    the end of the next window.

    ``dip_accuracy`` = accuracy right before − right after the download (fresh BatchNorm
    statistics); ``dip_loss`` = loss right after − right before (on the same fixed subset);
    ``accuracy_end``/``loss_end`` = the values right before the next download, i.e. at the end
    of the next window (NaN for the last download: no complete window follows);
    ``recovery_accuracy`` = (accuracy_end − accuracy_after) / dip_accuracy and
    ``recovery_loss`` = (loss_after − loss_end) / dip_loss: 1 = the whole dip regained, 0 =
    nothing (NaN without a dip or an end value). ``records`` is kept for the signature of the
    stage tables (the end values come from the next download's "before")."""
    del records  # the next download's "before" values are the end of each window
    rows = []
    table = downloads.reset_index(drop=True)
    for i, row in table.iterrows():
        loss_before = float(row.get("train_loss_before", math.nan))
        loss_after = float(row.get("train_loss_after", math.nan))
        nxt = table.iloc[i + 1] if i + 1 < len(table) else None
        acc_end = math.nan if nxt is None else float(nxt["train_accuracy_before"])
        loss_end = math.nan if nxt is None else float(nxt.get("train_loss_before", math.nan))
        dip_acc = float(row["train_accuracy_before"]) - float(row["train_accuracy_after"])
        dip_loss = loss_after - loss_before
        rows.append(
            {
                "seed": seed,
                "variant": row["variant"],
                "download": i,
                "step": int(row["step"]),
                "accuracy_before": float(row["train_accuracy_before"]),
                "accuracy_after": float(row["train_accuracy_after"]),
                "accuracy_end": acc_end,
                "loss_before": loss_before,
                "loss_after": loss_after,
                "loss_end": loss_end,
                "dip_accuracy": dip_acc,
                "dip_loss": dip_loss,
                "recovery_accuracy": _share(dip_acc, acc_end - float(row["train_accuracy_after"])),
                "recovery_loss": _share(dip_loss, loss_after - loss_end),
            }
        )
    return pd.DataFrame(rows, columns=DIP_COLUMNS)


RECOVERY_SHARE = 0.5
"""C5's "then recovers": more than this share of a dip is regained by the end of the next
window (most of it), decided before any run of the share-based test (issue 19)."""


def _paired(values: Sequence[float], level: float) -> Any:
    """The replicate estimate of per-seed values (seeds are the replicates of C5)."""
    return replicate_estimate([float(v) for v in values], level)


def claim_c5(
    dips: pd.DataFrame, level: float = NOISE_LEVEL, recovery_share: float = RECOVERY_SHARE
) -> ClaimRow:
    """C5 from :func:`download_dips` of the ``sparse`` and ``qram`` variants, every training
    seed a replicate (Student-t or bootstrap over seeds; one seed: noise not measured):

    - dips: per variant and download, the mean dip in accuracy and in loss > noise;
    - recovers: per download followed by a complete window, the mean share of the dip regained
      by its end − ``recovery_share`` > noise, in accuracy and in loss;
    - the QRAM variant dips less: per matched download (the same download index, i.e. the
      same window, in both variants), the per-seed paired difference dip(sparse) − dip(qram)
      > noise, in accuracy and in loss. A download that is the same event in both variants
      (the same step and the same accuracies and losses in every seed: the variants coincide
      until the first download) is shown, not judged.
    """
    variants = set(dips["variant"])
    claim = "accuracy dips after each download, then recovers; the QRAM variant dips less"
    source = "claims/download_dips.csv (seed_*/sparse_train/{sparse,qram}/downloads.csv)"
    if not {"sparse", "qram"} <= variants or dips.empty:
        return ClaimRow(
            "C5",
            claim,
            "train-accuracy and train-loss dip per download",
            f"not measured: this preset runs the variants {sorted(variants)}",
            "needs the sparse and qram variants",
            NOT_RUN,
            "seed_*/sparse_train/*",
        )
    seeds = sorted(set(dips["seed"]))
    parts: dict[str, list[str]] = {"dips": [], "recovers": [], "QRAM dips less": []}
    margins, noises, values = [], [], []

    def add(part: str, name: str, estimate: Any) -> None:
        parts[part].append(judge(estimate.mean, estimate.noise, DOES_NOT_HOLD))
        margins.append(f"{name} {fmt(estimate.mean)}")
        noises.append(f"{name} {_noise(estimate)}")

    for (variant, _download), group in dips.groupby(["variant", "download"], sort=True):
        step = int(group["step"].iloc[0])
        tag = f"{variant}@{step}"
        values.append(
            f"{tag}: accuracy {fmt(float(group['accuracy_before'].mean()))} -> "
            f"{fmt(float(group['accuracy_after'].mean()))}, loss "
            f"{fmt(float(group['loss_before'].mean()))} -> "
            f"{fmt(float(group['loss_after'].mean()))}"
            + (
                f", regained {fmt(float(group['recovery_accuracy'].mean()))} (accuracy) and "
                f"{fmt(float(group['recovery_loss'].mean()))} (loss) of the dip"
                if group["recovery_accuracy"].notna().any()
                else ", no complete window follows"
            )
        )
        add("dips", f"{tag} dip accuracy", _paired(group["dip_accuracy"], level))
        add("dips", f"{tag} dip loss", _paired(group["dip_loss"], level))
        for metric in ("accuracy", "loss"):
            shares = group[f"recovery_{metric}"].dropna()
            if len(shares):
                est = _paired(shares - recovery_share, level)
                add("recovers", f"{tag} regained {metric} - {recovery_share:g}", est)
    keys = ["seed", "download"]
    matched = dips[dips["variant"] == "sparse"].merge(
        dips[dips["variant"] == "qram"], on=keys, suffixes=("_sparse", "_qram")
    )
    measured = ["step", "accuracy_before", "accuracy_after", "loss_before", "loss_after"]
    same_event = []
    for download, group in matched.groupby("download", sort=True):
        tag = f"download {download} (sparse@{int(group['step_sparse'].iloc[0])}, "
        tag += f"qram@{int(group['step_qram'].iloc[0])})"
        if all(
            np.array_equal(group[f"{c}_sparse"], group[f"{c}_qram"], equal_nan=True)
            for c in measured
        ):
            same_event.append(tag)  # one state downloaded at one step in both variants
            continue
        for metric in ("accuracy", "loss"):
            diff = group[f"dip_{metric}_sparse"] - group[f"dip_{metric}_qram"]
            add("QRAM dips less", f"{tag} sparse - qram dip {metric}", _paired(diff, level))
    summary = "; ".join(
        f"{part}: {combine_verdicts(verdicts) if verdicts else NOT_RUN}"
        for part, verdicts in parts.items()
    )
    unjudged = f"; same event in both variants (not judged): {', '.join(same_event)}"
    return ClaimRow(
        claim_id="C5",
        claim=claim,
        quantity="per download, paired over training seeds: dip in train accuracy and train "
        "loss (before - after, fresh BatchNorm statistics), the share of each dip regained by "
        "the end of the next window, and sparse - qram dips on matched downloads",
        value=f"{summary} ({len(seeds)} seed(s)); "
        + "; ".join(values)
        + (unjudged if same_event else ""),
        comparison=f"every dip > noise; every share regained - {recovery_share:g} > noise; "
        "every matched sparse - qram dip > noise (accuracy and loss)",
        verdict=combine_verdicts([v for verdicts in parts.values() for v in verdicts]),
        source=source,
        margin="; ".join(margins),
        noise=f"over {len(seeds)} training seed(s): " + "; ".join(noises),
    )


def _noise(estimate: Any) -> str:
    if estimate.count < 2:
        return "not measured (1 seed)"
    return f"{fmt(estimate.noise)} ({estimate.method})"


def training_claims(
    sparsity: pd.DataFrame,
    records: Mapping[tuple[int, str], pd.DataFrame],
    downloads: Mapping[tuple[int, str], pd.DataFrame],
    keep_fraction: float,
    level: float = NOISE_LEVEL,
    *,
    counts: pd.DataFrame,
) -> tuple[list[ClaimRow], pd.DataFrame]:
    """C1 and C5 with the download-dip table they read: ``records`` and ``downloads`` map each
    sparse_train run's (seed, variant) to its table (every seed and variant); ``counts`` is the
    table of counted parameters (:func:`parameter_counts`)."""
    by_key, dl = dict(records), dict(downloads)
    dips = pd.concat(
        [
            download_dips(by_key[k], dl[k], seed=k[0])
            for k in sorted(dl)
            if k[1] in ("sparse", "qram")
        ]
        or [download_dips(pd.DataFrame({"step": []}), pd.DataFrame({"step": []}))],
        ignore_index=True,
    )
    rows = [
        claim_c1(parameter_counts(counts), sparsity, keep_fraction),
        claim_c5(dips, level),
    ]
    return rows, dips
