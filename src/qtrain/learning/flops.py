"""FLOPs of one SGD step of the CIFAR ResNets, counted by torch, and the classical wall-clock.

The classical side of the break-even analysis (SPEC §1.7): one step = forward + backward of the
mean cross-entropy over a batch + the SGD update. FLOPs are counted by
``torch.utils.flop_counter.FlopCounterMode`` on the ``meta`` device (no memory, no data) at small
batches and scaled linearly to the paper's 2048 (linearity is checked, not assumed). The counter
counts matrix products and convolutions (2 FLOPs per multiply-add), forward and backward;
batch norm, ReLU, pooling and the loss are element-wise and not counted (memory-bound, a few
percent of the time on a GPU); the update adds 2 FLOPs per parameter.

Dense: what masked SGD on a GPU executes (the mask zeroes weights, the convolutions stay
dense). Ideal sparse: every convolution weight that is pruned contributes no FLOPs to the
forward, the input gradient and the weight gradient (the head stays dense), i.e. the conv FLOPs
times the per-layer density. Wall-clock = FLOPs / a stated sustained throughput (an assumption),
checked against measured step times (``results/bench/sparse_step.csv``) through the achieved
FLOP/s of :func:`achieved_throughput`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

import pandas as pd
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from ..paper import KEEP_FRACTION, RESNETS
from .models import HEAD_NAME, cifar_resnet

__all__ = [
    "PAPER_MODELS",
    "achieved_throughput",
    "classical_flops_table",
    "count_step_flops",
    "model_flops",
    "sgd_step_flops",
    "training_flops",
]

#: (depth, widen) of the paper's two models with 100 classes.
PAPER_MODELS = {m.key: (m.depth, m.widen) for m in RESNETS}

NOTE = (
    "FLOPs counted by torch.utils.flop_counter on the meta device (matmul/conv, forward + "
    "backward) + 2 per parameter for the update; wall-clock at a stated sustained throughput"
)


def count_step_flops(
    depth: int,
    widen: int,
    batch: int,
    num_classes: int = 100,
    in_channels: int = 3,
    image_size: int = 32,
) -> dict[str, float]:
    """Counted FLOPs of forward + backward at ``batch`` on the meta device: total, per op, the
    forward FLOPs of every convolution (by module name) and of the head."""
    with torch.device("meta"):
        model = cifar_resnet(depth, widen, num_classes, in_channels)
    x = torch.empty(batch, in_channels, image_size, image_size, device="meta")
    y = torch.zeros(batch, dtype=torch.long, device="meta")
    forward = FlopCounterMode(display=False)
    with forward:
        logits = model(x)
    counter = FlopCounterMode(display=False)
    with counter:
        F.cross_entropy(model(x), y).backward()
    del logits
    per_module = forward.get_flop_counts()
    conv_forward = {}
    head = 0.0
    for name, module in model.named_modules():
        key = f"{type(model).__name__}.{name}" if name else type(model).__name__
        flops = float(sum(per_module.get(key, {}).values()))
        if isinstance(module, torch.nn.Conv2d):
            conv_forward[name] = flops
        elif name == HEAD_NAME:
            head = flops
    by_op = {str(k): float(v) for k, v in counter.get_flop_counts()["Global"].items()}
    params = sum(p.numel() for p in model.parameters())
    return {
        "total": float(counter.get_total_flops()),
        "by_op": by_op,
        "conv_forward": conv_forward,
        "head_forward": head,
        "parameters": float(params),
    }


def sgd_step_flops(
    depth: int,
    widen: int,
    batch: int = 2048,
    keep_fraction: float = KEEP_FRACTION,
    layer_density: Mapping[str, float] | None = None,
    num_classes: int = 100,
    in_channels: int = 3,
    image_size: int = 32,
    count_batches: tuple[int, int] = (1, 2),
) -> dict[str, float]:
    """FLOPs of one SGD step at ``batch``, dense and ideal sparse, from counts at two small
    batches (raises if they are not proportional: the linear scaling is checked).

    ``layer_density`` (conv module name → kept fraction, e.g. from a pruning report) gives
    the sparse count per layer; otherwise every convolution keeps ``keep_fraction``. The stem
    convolution has no input gradient (weight gradient only): its backward is 1× its forward,
    every other convolution's 2× (input and weight gradients).
    """
    small, large = (
        count_step_flops(depth, widen, b, num_classes, in_channels, image_size)
        for b in count_batches
    )
    per_sample = small["total"] / count_batches[0]
    if not math.isclose(large["total"] / count_batches[1], per_sample, rel_tol=1e-9):
        raise RuntimeError(
            f"FLOPs not linear in batch: {small['total']} at {count_batches[0]}, "
            f"{large['total']} at {count_batches[1]}"
        )
    params = small["parameters"]
    conv = small["conv_forward"]
    first = next(iter(conv))
    conv_total = sum((2 if k == first else 3) * v for k, v in conv.items())
    sparse_conv = sum(
        (2 if k == first else 3) * v * (layer_density or {}).get(k, keep_fraction)
        for k, v in conv.items()
    )
    rest = small["total"] - conv_total  # the head, forward and backward
    scale = batch / count_batches[0]
    dense = small["total"] * scale + 2 * params
    sparse = (sparse_conv + rest) * scale + 2 * params * keep_fraction
    return {
        "depth": depth,
        "widen": widen,
        "parameters": int(params),
        "batch": batch,
        "flops_per_sample": per_sample,
        "flops_per_step_dense": dense,
        "flops_per_step_sparse": sparse,
        "conv_share": conv_total / small["total"],
        "count_batches": f"{count_batches[0]},{count_batches[1]}",
        "linear_in_batch": True,
    }


def classical_flops_table(
    models: Mapping[str, tuple[int, int]] | None = None,
    batch: int = 2048,
    keep_fraction: float = KEEP_FRACTION,
    sustained_tflops: float = 200.0,
    steps: Sequence[int] = (100, 400),
) -> pd.DataFrame:
    """One row per model: counted FLOPs per step (dense, ideal sparse), FLOPs per parameter and
    sample, and the wall-clock of one step and of each number of ``steps`` at the stated
    sustained throughput (TFLOP/s, an assumption)."""
    rows = []
    for name, (depth, widen) in (models or PAPER_MODELS).items():
        row = sgd_step_flops(depth, widen, batch, keep_fraction)
        rate = sustained_tflops * 1e12
        row = {
            "model_name": name,
            **row,
            "flops_per_parameter_sample": row["flops_per_sample"] / row["parameters"],
            "sustained_tflops": sustained_tflops,
            "seconds_per_step_dense": row["flops_per_step_dense"] / rate,
            "seconds_per_step_sparse": row["flops_per_step_sparse"] / rate,
        }
        for t in steps:
            row[f"seconds_{t}_steps_dense"] = t * row["seconds_per_step_dense"]
            row[f"seconds_{t}_steps_sparse"] = t * row["seconds_per_step_sparse"]
        row["kind"] = "count"
        rows.append(row)
    frame = pd.DataFrame(rows)
    frame.attrs["note"] = NOTE
    return frame


def _depth_widen(name: str) -> tuple[int, int]:
    match = re.search(r"(\d+)-(\d+)", str(name))
    if not match:
        raise ValueError(f"cannot read depth-widen from model name {name!r}")
    return int(match.group(1)), int(match.group(2))


def _classes_channels(depth: int, widen: int, parameters: int | None) -> tuple[int, int]:
    """(classes, input channels) whose ResNet has ``parameters`` (CIFAR-100 / digits / CIFAR-10
    shapes tried in turn; (100, 3) when ``parameters`` is None)."""
    from .models import count_parameters

    if parameters is None:
        return 100, 3
    for classes, channels in ((100, 3), (10, 1), (10, 3), (100, 1)):
        with torch.device("meta"):
            model = cifar_resnet(depth, widen, classes, channels)
        if count_parameters(model) == parameters:
            return classes, channels
    raise ValueError(f"no ResNet-{depth}-{widen} with {parameters} parameters")


def achieved_throughput(steps: pd.DataFrame, stated_tflops: float | None = None) -> pd.DataFrame:
    """Achieved FLOP/s of measured SGD steps (``results/bench/sparse_step.csv``: columns
    ``model`` like ``ResNet-32-4``, ``parameters``, ``kind``, ``batch``, ``seconds``,
    ``device``): counted dense FLOPs of the step / median seconds, per model, kind, batch and
    device; with ``stated_tflops`` also the ratio of achieved to stated throughput. The number
    of classes and input channels is the one that reproduces the measured parameter count.
    32×32 inputs, as the benchmark uses."""
    rows = []
    keys = ["model", "kind", "batch", "device"]
    for (model, kind, batch, device), group in steps.groupby(keys, sort=False):
        depth, widen = _depth_widen(model)
        measured = int(group["parameters"].iloc[0]) if "parameters" in group else None
        classes, channels = _classes_channels(depth, widen, measured)
        flops = sgd_step_flops(depth, widen, int(batch), num_classes=classes, in_channels=channels)
        seconds = float(group["seconds"].median())
        row = {
            "model": model,
            "kind": kind,
            "batch": int(batch),
            "device": device,
            "median_seconds": seconds,
            "flops_per_step": flops["flops_per_step_dense"],
            "achieved_tflops": flops["flops_per_step_dense"] / seconds / 1e12,
        }
        if stated_tflops:
            row["achieved_over_stated"] = row["achieved_tflops"] / stated_tflops
        rows.append(row)
    return pd.DataFrame(rows)


def training_flops(
    model: torch.nn.Module, input_shape: Sequence[int], batches: tuple[int, int] = (2, 4)
) -> dict[str, float]:
    """Parameters and counted FLOPs per sample of forward + backward (matmuls and convolutions,
    2 per multiply-add; the loss and element-wise layers are not counted) of ``model`` on
    inputs of ``input_shape`` (without the batch axis), on the meta device. Counted at two
    batches and checked to be proportional (eval mode: batch statistics do not change the
    FLOPs of the convolutions)."""
    model = model.to("meta").eval()
    counts = []
    for batch in batches:
        x = torch.empty(batch, *input_shape, device="meta", requires_grad=False)
        counter = FlopCounterMode(display=False)
        with counter:
            out = model(x)
            if isinstance(out, Mapping):
                out = out.get("out", next(iter(out.values())))
            elif isinstance(out, (tuple, list)):
                out = out[0]
            out.float().sum().backward()
        counts.append(float(counter.get_total_flops()) / batch)
    if not math.isclose(counts[0], counts[1], rel_tol=1e-6):
        raise RuntimeError(f"FLOPs per sample not constant in batch: {counts}")
    return {
        "parameters": float(sum(p.numel() for p in model.parameters())),
        "flops_per_sample": counts[0],
    }


def model_flops(name: str, image_size: int | None = None, classes: int | None = None) -> dict:
    """Parameters and counted FLOPs per sample (forward + backward) of a named model: the
    project's CIFAR ResNets (``resnet32_4``, ``ResNet-56-11``, …: 32×32 RGB inputs, 100
    classes by default) or any torchvision classification model by its registered name
    (``resnet50``, ``vit_b_16``, …; ``torchvision:`` prefix optional; 224×224 inputs and
    1000 classes by default). Weights are never downloaded: the model is built on the meta
    device."""
    match = re.fullmatch(r"resnet[-_]?(\d+)[-_](\d+)", name.strip().lower())
    if match:
        depth, widen = int(match.group(1)), int(match.group(2))
        with torch.device("meta"):
            model = cifar_resnet(depth, widen, classes or 100, 3)
        size, label = image_size or 32, f"ResNet-{depth}-{widen} (project CIFAR ResNet)"
    else:
        import torchvision

        tv = name.split(":", 1)[1] if name.startswith("torchvision:") else name
        if tv not in torchvision.models.list_models():
            raise ValueError(
                f"unknown model {name!r}: a project ResNet (resnet<depth>_<widen>) or one of "
                f"torchvision's models ({', '.join(sorted(torchvision.models.list_models())[:8])}, "
                "...)"
            )
        kwargs = {"weights": None}
        if classes:
            kwargs["num_classes"] = classes
        with torch.device("meta"):
            model = torchvision.models.get_model(tv, **kwargs)
        size, label = image_size or 224, f"torchvision {tv}"
    counts = training_flops(model, (3, size, size))
    return {**counts, "name": name, "label": label, "image_size": size}
