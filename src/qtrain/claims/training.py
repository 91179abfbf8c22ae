"""Claims C1 (model sizes, 10% kept) and C5 (download dips) from the training stages' tables.

C1 compares exact parameter counts of the paper's ResNets (:data:`PAPER_RESNETS`) and the prune
stage's kept share; C5 reads the download records of every training seed
(:func:`download_dips`) and judges each dip, its recovery and the QRAM variant's smaller dips
against the binomial sampling error of the accuracies (with the spread over seeds).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from qtrain.claims import HOLDS, NOT_HOLDING, NOT_RUN, ClaimRow, combine_verdicts, judge
from qtrain.claims.core import PAPER_RESNETS
from qtrain.stats import NOISE_LEVEL, fmt, replicate_estimate, signed, t_multiplier

__all__ = [
    "claim_c1",
    "claim_c5",
    "download_dips",
    "resnet_parameter_counts",
    "training_claims",
]


def resnet_parameter_counts() -> dict[str, int]:
    """Exact parameter counts of the paper's ResNets (100 classes, 3 input channels), built on
    the meta device (no memory): ``{"ResNet-32-4": n, "ResNet-56-11": n}``."""
    from qtrain.learning.models import cifar_resnet, count_parameters

    return {
        r.label: count_parameters(cifar_resnet(r.depth, r.widen, 100, 3, device="meta"))
        for r in PAPER_RESNETS
    }


def claim_c1(counts: Mapping[str, int], sparsity: Any, keep_fraction: float) -> ClaimRow:
    """C1 from exact parameter counts (``{"ResNet-32-4": n, "ResNet-56-11": n}``) and the prune
    stage's sparsity table (final ``total (prunable)`` row): the counts are 7,451,044 and
    103,703,700, and the kept share equals ``keep_fraction`` up to one weight of rounding."""
    expected = {r.label: r.parameters for r in PAPER_RESNETS}
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
        verdict=HOLDS if counts_ok and density_ok else NOT_HOLDING,
        source="prune/sparsity.csv, qtrain.learning.models",
        margin="; ".join(
            f"{k} count - paper {counts.get(k, 0) - v:+,d}" for k, v in expected.items()
        )
        + f"; 1/total - |kept share - {keep_fraction}| {signed(slack)}",
        noise="0: exact integer counts and a deterministic top-k selection (nothing is sampled)",
    )


def download_dips(records: Any, downloads: Any, seed: int = 0) -> pd.DataFrame:
    """Per download: the accuracy dip and whether the next window recovers it.

    ``dip`` = train accuracy right before the download − right after (fresh BatchNorm
    statistics); ``recovery`` = the best train accuracy measured in the following window (until
    the next download or the end) minus the accuracy before the download (nan when nothing
    follows); ``recovered`` = ``recovery >= 0``.
    """
    rows = []
    steps = list(downloads["step"])
    for i, row in enumerate(downloads.itertuples(index=False)):
        end = steps[i + 1] if i + 1 < len(steps) else int(records["step"].max()) + 1
        after = records[(records["step"] > row.step) & (records["step"] <= end)]
        best = after["train_accuracy"].max() if len(after) else np.nan
        recovery = best - row.train_accuracy_before if np.isfinite(best) else np.nan
        rows.append(
            {
                "seed": seed,
                "variant": row.variant,
                "download": i,
                "step": row.step,
                "accuracy_before": row.train_accuracy_before,
                "accuracy_after": row.train_accuracy_after,
                "dip": row.train_accuracy_before - row.train_accuracy_after,
                "best_next_window": best,
                "recovery": recovery,
                "recovered": float(recovery >= 0) if np.isfinite(recovery) else np.nan,
            }
        )
    columns = [
        "seed",
        "variant",
        "download",
        "step",
        "accuracy_before",
        "accuracy_after",
        "dip",
        "best_next_window",
        "recovery",
        "recovered",
    ]
    return pd.DataFrame(rows, columns=columns)


def _binomial_se(p: Any, n: int) -> np.ndarray:
    """Standard error of an accuracy p measured on n samples."""
    p = np.clip(np.asarray(p, dtype=float), 0.0, 1.0)
    return np.sqrt(p * (1.0 - p) / max(int(n), 1))


def _difference_estimate(
    per_seed: Sequence[float], sampling_se: float, level: float
) -> tuple[float, float, int]:
    """A margin averaged over seeds, with noise = t(k−1) × √(SE_seeds² + SE_sampling²) at
    ``level``; nan with fewer than two seeds (a rerun's spread is then not measured)."""
    rep = replicate_estimate(per_seed, level)
    if rep.count < 2:
        return rep.mean, math.nan, rep.count
    se_seeds = rep.spread / math.sqrt(rep.count)
    noise = t_multiplier(rep.count, level) * math.sqrt(se_seeds**2 + sampling_se**2)
    return rep.mean, noise, rep.count


def claim_c5(dips: pd.DataFrame, accuracy_samples: int, level: float = NOISE_LEVEL) -> ClaimRow:
    """C5 from :func:`download_dips` of the ``sparse`` and ``qram`` variants (every training
    seed): every download dips (dip > noise), every dip is recovered in the next window (the
    best accuracy there minus the accuracy before the download > noise), and the QRAM variant
    dips less (mean dip sparse − qram > noise). Noise: the binomial sampling error
    of accuracies on ``accuracy_samples`` samples, with the spread over seeds where several ran.
    """
    variants = set(dips["variant"])
    claim = "accuracy dips after each download, then recovers; the QRAM variant dips less"
    if not {"sparse", "qram"} <= variants or dips.empty:
        return ClaimRow(
            "C5",
            claim,
            "train-accuracy dip per download",
            f"not measured: this preset runs the variants {sorted(variants)}",
            "needs the sparse and qram variants",
            NOT_RUN,
            "seed_*/sparse_train/*",
        )
    seeds = sorted(set(dips["seed"]))
    verdicts, margins, noises, values = [], [], [], []
    for (variant, _download), group in dips.groupby(["variant", "download"], sort=True):
        se = float(
            np.sqrt(
                np.mean(
                    _binomial_se(group["accuracy_before"], accuracy_samples) ** 2
                    + _binomial_se(group["accuracy_after"], accuracy_samples) ** 2
                )
                / len(group)
            )
        )
        step = int(group["step"].iloc[0])
        dip, dip_noise, _ = _difference_estimate(group["dip"], se, level)
        verdicts.append(judge(dip, dip_noise))
        margins.append(f"{variant}@{step} dip {fmt(dip)}")
        noises.append(f"{variant}@{step} {fmt(dip_noise)}")
        values.append(
            f"{variant}@{step}: {fmt(float(group['accuracy_before'].mean()))} -> "
            f"{fmt(float(group['accuracy_after'].mean()))}"
        )
        rec = group["recovery"].dropna()
        if len(rec):
            recovery, rec_noise, _ = _difference_estimate(rec, se, level)
            verdicts.append(judge(recovery, rec_noise))
            margins.append(f"{variant}@{step} recovery {fmt(recovery)}")
    per_seed = []
    se_parts = []
    for seed in seeds:
        d = dips[dips["seed"] == seed]
        s_dip = d[d["variant"] == "sparse"]["dip"]
        q_dip = d[d["variant"] == "qram"]["dip"]
        per_seed.append(float(s_dip.mean() - q_dip.mean()))
        se_parts.append(
            float(np.mean(_binomial_se(d["accuracy_after"], accuracy_samples) ** 2))
            * (1 / max(len(s_dip), 1) + 1 / max(len(q_dip), 1))
            * 2
        )
    less, less_noise, _ = _difference_estimate(
        per_seed, math.sqrt(float(np.mean(se_parts)) / len(seeds)), level
    )
    verdicts.append(judge(less, less_noise))
    margins.append(f"mean dip sparse - qram {fmt(less)}")
    noises.append(f"sparse - qram {fmt(less_noise)}")
    mean = dips.groupby("variant")["dip"].mean()
    return ClaimRow(
        claim_id="C5",
        claim=claim,
        quantity="train-accuracy dip per download (before - after, fresh BatchNorm statistics); "
        "recovery in the next window; mean dip per variant; averaged over training seeds",
        value=f"mean dip sparse {fmt(float(mean['sparse']))}, qram {fmt(float(mean['qram']))} "
        f"({len(seeds)} seed(s), {len(dips)} downloads); " + "; ".join(values),
        comparison="every dip > noise; every recovery > noise; mean dip sparse - qram > noise",
        verdict=combine_verdicts(verdicts),
        source="seed_*/sparse_train/{sparse,qram}/downloads.csv, records.csv",
        margin="; ".join(margins),
        noise=f"t(seeds - 1) {level:.0%} x sqrt(binomial SE on {accuracy_samples} samples^2 + "
        f"seed SE^2): " + "; ".join(noises),
    )


def _seed_and_variant(path: str) -> tuple[int, str]:
    """(seed, variant) of a sparse_train output path (``…/seed_<s>/sparse_train/<variant>/…``)."""
    match = re.search(r"seed_(\d+)/sparse_train/(\w+)/", str(path))
    return int(match.group(1)), match.group(2)


def training_claims(
    sparsity: pd.DataFrame,
    records: Mapping[str, pd.DataFrame],
    downloads: Mapping[str, pd.DataFrame],
    accuracy_samples: int,
    keep_fraction: float,
    level: float = NOISE_LEVEL,
    counts: Mapping[str, int] | None = None,
) -> tuple[list[ClaimRow], pd.DataFrame]:
    """C1 and C5 with the download-dip table they read: ``records`` and ``downloads`` map each
    sparse_train output path (every seed and variant) to its table; ``counts`` defaults to
    :func:`resnet_parameter_counts`."""
    by_key = {_seed_and_variant(p): t for p, t in records.items()}
    dl = {_seed_and_variant(p): t for p, t in downloads.items()}
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
        claim_c1(resnet_parameter_counts() if counts is None else counts, sparsity, keep_fraction),
        claim_c5(dips, accuracy_samples, level),
    ]
    return rows, dips
