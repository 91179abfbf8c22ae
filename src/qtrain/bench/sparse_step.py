"""Benchmarks of the training stages (run by ``make bench``; never by unit tests)."""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F

from qtrain.learning.models import cifar_resnet, count_parameters
from qtrain.learning.pruning import global_magnitude_masks
from qtrain.paper import KEEP_FRACTION

__all__ = ["sparse_step_throughput"]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def sparse_step_throughput(
    depth: int = 32,
    widen: int = 4,
    batch: int = 2048,
    micro_batch: int | None = None,
    repeats: int = 3,
    keep_fraction: float = KEEP_FRACTION,
    device: torch.device | str = "cpu",
    seed: int = 0,
) -> list[dict]:
    """Seconds per SGD step, dense versus masked, measured alternately on synthetic data.

    A step is forward + backward over ``batch`` samples (accumulated over ``micro_batch``
    chunks when given) + the SGD update; the masked step also zeroes pruned gradients and
    re-applies the mask. Returns one row per (kind, repeat) plus the first warm-up discarded.
    """
    device = torch.device(device)
    torch.manual_seed(seed)
    model = cifar_resnet(depth, widen, 100, 3).to(device)
    masks = global_magnitude_masks(model, keep_fraction).to(device)
    masks.apply(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, 3, 32, 32, generator=gen).to(device)
    y = torch.randint(100, (batch,), generator=gen).to(device)
    chunk = micro_batch or batch

    def step(masked: bool) -> float:
        _sync(device)
        tic = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        for start in range(0, batch, chunk):
            xb, yb = x[start : start + chunk], y[start : start + chunk]
            loss = F.cross_entropy(model(xb), yb) * (len(yb) / batch)
            loss.backward()
        if masked:
            masks.mask_gradients(model)
        optimizer.step()
        if masked:
            masks.apply(model)
        _sync(device)
        return time.perf_counter() - tic

    model.train()
    step(True)  # warm-up
    rows = []
    for repeat in range(repeats):
        for kind in ("dense", "masked"):
            seconds = step(kind == "masked")
            rows.append(
                {
                    "model": f"ResNet-{depth}-{widen}",
                    "parameters": count_parameters(model),
                    "kind": kind,
                    "repeat": repeat,
                    "batch": batch,
                    "micro_batch": chunk,
                    "seconds": seconds,
                    "samples_per_second": batch / seconds,
                    "device": str(device),
                }
            )
    return rows
