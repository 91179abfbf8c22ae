"""Peak memory of a call, on CUDA or on the CPU (:func:`peak_memory`), and the fit behind the
memory model of :mod:`qtrain.run.resources` (:func:`activation_copies`: rule bench_memory)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from qtrain.spectra.hvp import HessianOperator

__all__ = ["activation_copies", "exact_cpu_rss", "peak_memory"]


def _proc_status(field: str) -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    raise OSError(f"{field} is not in /proc/self/status")


def exact_cpu_rss() -> None:
    """Make glibc serve large blocks by ``mmap`` and unmap them when freed
    (``mallopt(M_MMAP_THRESHOLD, 64 KiB)``) and give back free heap memory (``malloc_trim``),
    so that resident memory tracks live tensors. Call it before allocating what is measured;
    a no-op where the C library is not glibc."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 65536)  # M_MMAP_THRESHOLD
        libc.malloc_trim(0)
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        pass


def peak_memory(fn: Callable[[], Any], device: torch.device) -> tuple[float, Any]:
    """``(bytes, fn())``: the peak memory ``fn`` adds above what is allocated before it.

    CUDA: ``torch.cuda.max_memory_allocated`` after ``reset_peak_memory_stats`` (the caching
    allocator's live tensors; the CUDA context and cached free blocks are not counted). CPU:
    the peak resident set (``VmHWM`` after resetting it through ``/proc/self/clear_refs``)
    above the resident set before, with glibc set to unmap freed large blocks at once
    (:func:`exact_cpu_rss`; blocks freed to the heap before that call may be reused unseen);
    it also counts memory other threads of this process allocate meanwhile.
    """
    import gc

    gc.collect()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        before = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        out = fn()
        torch.cuda.synchronize(device)
        return float(torch.cuda.max_memory_allocated(device) - before), out
    exact_cpu_rss()
    before = _proc_status("VmRSS")
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")  # reset VmHWM to the current resident set
    out = fn()
    return float(max(_proc_status("VmHWM") - before, 0)), out


def activation_copies(
    depth: int,
    widen: int,
    kind: str,
    batches: tuple[int, int] = (2, 6),
    device: torch.device | str = "cpu",
    seed: int = 0,
) -> dict[str, Any]:
    """Fit of the memory model of :mod:`qtrain.run.resources`: bytes per sample of one pass,
    from its peak memory at two batch sizes (slope), in units of the model's float32 activation
    bytes.

    ``kind``: ``train`` (forward + backward), ``hvp_eval`` / ``hvp_train`` (an exact HVP by
    double backward, graph rebuilt, BN in eval / train mode), ``hvp_segmented`` (the exact
    train-mode-BN HVP of :mod:`qtrain.spectra.segmented`). Synthetic 32×32 inputs.
    """
    from qtrain.learning.arithmetic import resnet_stats
    from qtrain.learning.models import cifar_resnet

    device = torch.device(device)
    exact_cpu_rss()
    torch.manual_seed(seed)
    model = cifar_resnet(depth, widen, 100, 3).to(device)
    peaks = []
    for batch in batches:
        gen = torch.Generator().manual_seed(seed)
        x = torch.randn(batch, 3, 32, 32, generator=gen).to(device)
        y = torch.randint(100, (batch,), generator=gen).to(device)
        if kind == "train":
            model.train()
            params = list(model.parameters())

            def run(x: Tensor = x, y: Tensor = y, params: list = params) -> Any:
                return torch.autograd.grad(F.cross_entropy(model(x), y), params)
        elif kind in ("hvp_eval", "hvp_train", "hvp_segmented"):
            op = HessianOperator(
                model, F.cross_entropy, x, y, space="dense",
                bn_mode="eval" if kind == "hvp_eval" else "train",
                backend="segmented" if kind == "hvp_segmented" else "autograd",
            )  # fmt: skip
            v = torch.randn(op.dim, generator=gen).to(device)

            def run(op: HessianOperator = op, v: Tensor = v) -> Any:
                return op.matvec(v)
        else:
            raise ValueError(
                f"kind must be train, hvp_eval, hvp_train or hvp_segmented, got {kind!r}"
            )
        run()  # warm-up: allocator pools, kernels
        tic = time.perf_counter()
        peaks.append(peak_memory(run, device)[0])
        seconds = time.perf_counter() - tic
        del run
    stats = resnet_stats(depth, widen)
    per_sample = (peaks[1] - peaks[0]) / (batches[1] - batches[0])
    return {
        "model": stats.name,
        "kind": kind,
        "batches": f"{batches[0]}/{batches[1]}",
        "peak_mb_small": peaks[0] / 1e6,
        "peak_mb_large": peaks[1] / 1e6,
        "mb_per_sample": per_sample / 1e6,
        "activation_mb_per_sample": stats.activations * 4 / 1e6,
        "copies": per_sample / (stats.activations * 4),
        "seconds_large": seconds,
        "device": str(device),
    }
