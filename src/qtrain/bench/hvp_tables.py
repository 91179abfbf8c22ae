"""The HVP benchmarks of the workflow (rules bench_hvp and bench_hvp_variants): a pruned CIFAR
ResNet on a random batch per case, timed by :mod:`qtrain.bench.hessian`, as one table.

A case is a mapping with ``depth``, ``widen``, ``batch`` and ``repeats`` (optional
``micro_batch``; for the variants, ``skip``: variants left out), as workflow/rules/bench.smk
lists them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import torch
from torch import Tensor, nn

from qtrain.bench.hessian import VARIANTS, hvp_variants, hvp_vs_gradient
from qtrain.learning.models import cifar_resnet
from qtrain.learning.pruning import global_magnitude_masks

__all__ = ["hvp_table", "pruned_case", "spectrum_estimate", "variants_table"]

log = logging.getLogger(__name__)

CLASSES = 100  # CIFAR-100 labels; the inputs are CIFAR-shaped (3 x 32 x 32)


def pruned_case(
    case: Mapping[str, Any], keep_fraction: float, device: torch.device
) -> tuple[nn.Module, Tensor, Tensor, dict[str, Tensor]]:
    """``(model, inputs, targets, masks)`` of one case on ``device``: the ResNet of the case
    (initialised from seed 0), pruned by global magnitude to ``keep_fraction`` (the spectra's
    restricted space), and ``case["batch"]`` random CIFAR-shaped samples with random labels
    (seed 0)."""
    torch.manual_seed(0)
    model = cifar_resnet(case["depth"], case["widen"], CLASSES, 3)
    masks = global_magnitude_masks(model, keep_fraction)
    masks.apply(model)
    model.to(device)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(case["batch"], 3, 32, 32, generator=gen).to(device)
    y = torch.randint(CLASSES, (case["batch"],), generator=gen).to(device)
    return model, x, y, {k: m.to(device) for k, m in masks.masks.items()}


def spectrum_estimate(
    result: Mapping[str, float], batch: int, spectrum_hvps: int, spectrum_batch: int
) -> dict[str, Any]:
    """The wall time of a spectrum of ``spectrum_hvps`` HVPs on ``spectrum_batch`` samples,
    extrapolated linearly in the batch from the HVP times measured on ``batch`` samples (both
    the kept-graph ``reuse`` and the rebuilt-graph ``recompute`` HVP), with how it was got."""
    if batch < 1 or spectrum_hvps < 1 or spectrum_batch < 1:
        raise ValueError(
            f"batch, spectrum_hvps and spectrum_batch must be positive, "
            f"got {batch}, {spectrum_hvps}, {spectrum_batch}"
        )
    scale = spectrum_batch / batch
    out: dict[str, Any] = {
        f"spectrum_{mode}_s": spectrum_hvps * result[f"hvp_{mode}_s"] * scale
        for mode in ("reuse", "recompute")
    }
    out["spectrum_estimate"] = "measured batch" if scale == 1 else f"scaled x{scale:g}"
    return out


def hvp_table(
    cases: Sequence[Mapping[str, Any]],
    keep_fraction: float,
    device: torch.device,
    spectrum_hvps: int,
    spectrum_batch: int,
) -> pd.DataFrame:
    """Rule bench_hvp: per case, HVP time against gradient time on one batch, ours against a
    PyHessian-style baseline (:func:`.hessian.hvp_vs_gradient`, restricted space), and the
    estimated wall time of a spectrum (:func:`spectrum_estimate`). One row per case."""
    rows = []
    for case in cases:
        model, x, y, masks = pruned_case(case, keep_fraction, device)
        log.info("case %s on %s", case, device)
        result = hvp_vs_gradient(
            model,
            x,
            y,
            repeats=case["repeats"],
            space="restricted",
            masks=masks,
            micro_batch=case.get("micro_batch"),
        )
        result.update(spectrum_estimate(result, case["batch"], spectrum_hvps, spectrum_batch))
        rows.append({"model": f"ResNet-{case['depth']}-{case['widen']}", **case, **result})
        log.info(
            "%s batch %d: gradient %.3g s, HVP reuse %.2fx, recompute %.2fx, baseline %.2fx",
            rows[-1]["model"],
            case["batch"],
            result["gradient_s"],
            result["ratio_reuse"],
            result["ratio_recompute"],
            result["ratio_baseline"],
        )
    return pd.DataFrame(rows)


def variants_table(
    case: Mapping[str, Any], keep_fraction: float, device: torch.device, machine: str
) -> pd.DataFrame:
    """Rule bench_hvp_variants: every HVP variant of :data:`.hessian.VARIANTS` but the case's
    ``skip`` beside a gradient on one batch (:func:`.hessian.hvp_variants`, restricted space),
    each with its error against the reference HVP; one row per variant, tagged ``machine``."""
    model, x, y, masks = pruned_case(case, keep_fraction, device)
    rows = hvp_variants(
        model,
        x,
        y,
        tuple(v for v in VARIANTS if v not in case.get("skip", ())),
        case["repeats"],
        space="restricted",
        masks=masks,
        micro_batch=case.get("micro_batch"),
    )
    return pd.DataFrame(rows).assign(machine=machine)
