"""Timing and memory of Hessian-vector products against a gradient on the same batch (bench).

:func:`hvp_vs_gradient` measures, side by side (round-robin inside each repeat, so the machine's
noise is shared): a plain gradient (forward + ``autograd.grad``), our :class:`HessianOperator`
matvec with the graph reused and recomputed per call, and a PyHessian-style baseline
(``loss.backward(create_graph=True)``, then a second backward through ``.grad``, graph rebuilt
each call). All in eval mode, same dtype, same batch, TF32 off.

:func:`hvp_variants` times the faster HVP variants (forward-over-reverse, compiled, channels-last,
bf16) beside them with their error against the reference; :func:`hessian_at_scale` measures a
pruned model at its full parameter count (gradient, HVP, peak memory, a short Lanczos run) and
extrapolates to a paper spectrum; :func:`activation_copies` fits the memory model of
:mod:`qtrain.run.resources`; :func:`peak_memory` measures on CUDA or on the CPU.
"""

from __future__ import annotations

import copy
import statistics
import time
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from qtrain.spectra.hvp import HessianOperator, LossFn, fp32_precision

__all__ = [
    "VARIANTS",
    "activation_copies",
    "exact_cpu_rss",
    "hessian_at_scale",
    "hvp_variants",
    "hvp_vs_gradient",
    "peak_memory",
]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(fn: Callable[[], Any], device: torch.device) -> float:
    _sync(device)
    t0 = time.perf_counter()
    fn()
    _sync(device)
    return time.perf_counter() - t0


def hvp_vs_gradient(
    model: nn.Module,
    inputs: Tensor,
    targets: Tensor,
    repeats: int = 5,
    *,
    loss_fn: LossFn = F.cross_entropy,
    warmup: int = 1,
    space: str = "dense",
    masks: Mapping[str, Tensor] | None = None,
    micro_batch: int | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Median seconds per gradient, per HVP (reuse / recompute) and per baseline HVP; ratios.

    The model, batch and dtype are used as given (move them to the device first). Returns
    ``gradient_s``, ``hvp_reuse_s``, ``hvp_reuse_build_s`` (first reuse matvec: build + one HVP),
    ``hvp_recompute_s``, ``baseline_s``, the ratios to the gradient (``ratio_*``), and
    ``params``, ``dim``, ``batch``, ``device``, ``dtype``, ``repeats``, ``torch_threads``.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    params = [p for p in model.parameters() if p.requires_grad]
    device = params[0].device
    dtype = params[0].dtype
    x = inputs.to(device=device, dtype=dtype if inputs.is_floating_point() else None)
    y = targets.to(device)
    saved = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        kwargs: dict[str, Any] = dict(space=space, masks=masks, micro_batch=micro_batch)
        reuse = HessianOperator(model, loss_fn, x, y, reuse_graph=True, **kwargs)
        recompute = HessianOperator(model, loss_fn, x, y, reuse_graph=False, **kwargs)
        gen = torch.Generator(device="cpu").manual_seed(seed)
        v_space = torch.randn(reuse.dim, generator=gen, dtype=dtype).to(device)
        v_full = [t.clone() for t in reuse.vector_to_params(v_space).values()]

        def gradient() -> None:
            loss = loss_fn(model(x), y)
            torch.autograd.grad(loss, params)

        def baseline() -> None:
            model.zero_grad(set_to_none=True)
            loss = loss_fn(model(x), y)
            with warnings.catch_warnings():  # the leak warning is the point of the baseline
                warnings.filterwarnings("ignore", message=".*create_graph=True.*")
                loss.backward(create_graph=True)
            grads = [p.grad for p in params]
            torch.autograd.grad(grads, params, grad_outputs=v_full)
            model.zero_grad(set_to_none=True)  # break the .grad reference cycle

        with fp32_precision(False):
            cases = {
                "gradient": gradient,
                "hvp_reuse": lambda: reuse.matvec(v_space),
                "hvp_recompute": lambda: recompute.matvec(v_space),
                "baseline": baseline,
            }
            for _ in range(warmup):
                for name, fn in cases.items():
                    if name != "hvp_reuse":
                        fn()
            build_s = _timed(cases["hvp_reuse"], device)  # builds the graph, applies it once
            for _ in range(warmup):
                cases["hvp_reuse"]()
            times: dict[str, list[float]] = {k: [] for k in cases}
            for _ in range(repeats):
                for name, fn in cases.items():
                    times[name].append(_timed(fn, device))
        reuse.release()
    finally:
        for m, flag in saved:
            m.training = flag
        model.zero_grad(set_to_none=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    grad_s = med["gradient"]
    return {
        "gradient_s": grad_s,
        "hvp_reuse_s": med["hvp_reuse"],
        "hvp_reuse_build_s": build_s,
        "hvp_recompute_s": med["hvp_recompute"],
        "baseline_s": med["baseline"],
        "ratio_reuse": med["hvp_reuse"] / grad_s,
        "ratio_recompute": med["hvp_recompute"] / grad_s,
        "ratio_baseline": med["baseline"] / grad_s,
        "params": sum(p.numel() for p in params),
        "dim": reuse.dim,
        "space": space,
        "batch": int(x.shape[0]),
        "device": str(device),
        "dtype": str(dtype).replace("torch.", ""),
        "repeats": repeats,
        "torch_threads": torch.get_num_threads(),
    }


# ------------------------------------------------------------------------------ peak memory
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
    """Fit of the memory model (:mod:`qtrain.run.resources`): bytes per sample of one pass, from its
    peak memory at two batch sizes (slope), in units of the model's float32 activation bytes.

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


# ------------------------------------------------------------------------- HVP variants
VARIANTS: tuple[str, ...] = (
    "gradient",
    "recompute",
    "reuse",
    "baseline",
    "func",
    "compile",
    "channels_last",
    "bf16",
)
"""What :func:`hvp_variants` can time: a gradient; the autograd HVP with the graph rebuilt
(``recompute``, the reference) and kept (``reuse``); the PyHessian-style baseline;
forward-over-reverse eager (``func``) and compiled (``compile``); the reference HVP with
channels-last tensors (``channels_last``) and under bf16 autocast (``bf16``, not exact)."""


def hvp_variants(
    model: nn.Module,
    inputs: Tensor,
    targets: Tensor,
    variants: tuple[str, ...] = VARIANTS,
    repeats: int = 3,
    *,
    loss_fn: LossFn = F.cross_entropy,
    space: str = "restricted",
    masks: Mapping[str, Tensor] | None = None,
    micro_batch: int | None = None,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Median seconds of each HVP variant beside a gradient, side by side (round-robin in each
    repeat, after one warm-up call each; ``compile`` is compiled during its warm-up, whose time
    is reported as ``first_call_s``), with each HVP's relative error against the reference
    (``recompute``) on the same vector. Eval-mode BN, TF32 off. One row per variant."""
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        raise ValueError(f"unknown variants {unknown}; known: {VARIANTS}")
    params = [p for p in model.parameters() if p.requires_grad]
    device, dtype = params[0].device, params[0].dtype
    x = inputs.to(device=device, dtype=dtype)
    y = targets.to(device)
    saved = [(m, m.training) for m in model.modules()]
    model.eval()
    kwargs: dict[str, Any] = dict(space=space, masks=masks, micro_batch=micro_batch)
    ops: dict[str, HessianOperator] = {}
    try:
        ref = HessianOperator(model, loss_fn, x, y, **kwargs)
        gen = torch.Generator(device="cpu").manual_seed(seed)
        v = torch.randn(ref.dim, generator=gen, dtype=dtype).to(device)
        v_full = [t.clone() for t in ref.vector_to_params(v).values()]
        chunks = list(zip(torch.split(x, ref.micro_batch), torch.split(y, ref.micro_batch),
                          strict=True))  # fmt: skip
        cases: dict[str, Callable[[], Any]] = {}
        for name in variants:
            if name == "gradient":

                def gradient() -> None:  # in the operator's chunks, as the HVPs
                    for xc, yc in chunks:
                        torch.autograd.grad(loss_fn(model(xc), yc), params)

                cases[name] = gradient
            elif name == "baseline":

                def baseline() -> Tensor:
                    total = None
                    for xc, yc in chunks:
                        model.zero_grad(set_to_none=True)
                        loss = loss_fn(model(xc), yc) * (len(yc) / len(y))
                        with warnings.catch_warnings():
                            warnings.filterwarnings("ignore", message=".*create_graph=True.*")
                            loss.backward(create_graph=True)
                        grads = [p.grad for p in params]
                        out = torch.autograd.grad(grads, params, grad_outputs=v_full)
                        model.zero_grad(set_to_none=True)
                        flat = ref.params_to_vector(dict(zip(ref.names, out, strict=True)))
                        total = flat if total is None else total + flat
                    return total

                cases[name] = baseline
            elif name == "recompute":
                cases[name] = lambda: ref.matvec(v)
            else:
                if name == "channels_last":
                    m_cl = copy.deepcopy(model).to(memory_format=torch.channels_last)
                    x_cl = x.contiguous(memory_format=torch.channels_last)
                    op = HessianOperator(m_cl, loss_fn, x_cl, y, **kwargs)
                else:
                    extra = {
                        "reuse": {"reuse_graph": True},
                        "func": {"backend": "func"},
                        "compile": {"backend": "compile"},
                        "bf16": {"autocast": "bfloat16"},
                    }[name]
                    op = HessianOperator(model, loss_fn, x, y, **kwargs, **extra)
                ops[name] = op
                cases[name] = lambda op=op: op.matvec(v)
        with fp32_precision(False):
            first: dict[str, float] = {}
            reference = ref.matvec(v)
            errors: dict[str, float] = {}
            for name, fn in cases.items():
                tic = time.perf_counter()
                out = fn()
                _sync(device)
                first[name] = time.perf_counter() - tic
                if name != "gradient":
                    diff = torch.linalg.vector_norm(out.to(reference.dtype) - reference)
                    errors[name] = float(diff / torch.linalg.vector_norm(reference))
            times: dict[str, list[float]] = {k: [] for k in cases}
            for _ in range(repeats):
                for name, fn in cases.items():
                    times[name].append(_timed(fn, device))
    finally:
        for op in ops.values():
            op.release()
        for m, flag in saved:
            m.training = flag
        model.zero_grad(set_to_none=True)
    med = {k: statistics.median(t) for k, t in times.items()}
    grad_s = med.get("gradient", float("nan"))
    batch = int(x.shape[0])
    label = (
        f"ResNet-{model.depth}-{model.widen}" if hasattr(model, "widen") else type(model).__name__
    )
    return [
        {
            "model": label,
            "variant": name,
            "seconds": med[name],
            "seconds_per_sample": med[name] / batch,
            "ratio_to_gradient": med[name] / grad_s,
            "first_call_s": first[name],
            "relative_error": errors.get(name, float("nan")),
            "exact": name not in ("bf16",),
            "batch": batch,
            "micro_batch": micro_batch or batch,
            "dim": ref.dim,
            "space": space,
            "repeats": repeats,
            "device": str(device),
            "torch_threads": torch.get_num_threads(),
        }
        for name in cases
    ]


# -------------------------------------------------------------- Hessian at full model size
def hessian_at_scale(
    depth: int,
    widen: int,
    batch: int,
    micro_batch: int | None = None,
    lanczos_steps: int = 8,
    *,
    keep_fraction: float = 0.1,
    space: str = "dense",
    device: torch.device | str = "cpu",
    seed: int = 0,
    target_batch: int = 2048,
    target_hvps: int = 256 + 64,
    lanczos_dtype: torch.dtype = torch.float64,
) -> dict[str, Any]:
    """Gradient, HVP and a short Lanczos run of a pruned CIFAR ResNet at full parameter count.

    Builds ``cifar_resnet(depth, widen)`` (100 classes), prunes it to ``keep_fraction`` by
    global magnitude (:func:`qtrain.learning.pruning.global_magnitude_masks`) and, on synthetic
    32×32 inputs (timing only), runs ``lanczos_steps`` Lanczos steps over ``space`` (``dense``:
    every coordinate) with ``lanczos_dtype`` vectors, HVPs recomputed in ``micro_batch`` chunks;
    after each HVP it times a gradient on the same chunks, so HVP and gradient alternate
    (medians; the ratio is measured side by side). Peak memory: of one gradient, and of the
    whole Lanczos run (operator, graph of one chunk, Lanczos vectors). Extrapolates to one paper
    spectrum, ``target_hvps`` Lanczos steps at ``target_batch`` samples: HVP time linear in
    samples, the Lanczos vector work per step as measured.
    """
    from qtrain.learning.models import cifar_resnet, count_parameters
    from qtrain.learning.pruning import global_magnitude_masks
    from qtrain.spectra.lanczos import gauss_quadrature, lanczos_tridiagonal

    device = torch.device(device)
    exact_cpu_rss()
    tic = time.perf_counter()
    torch.manual_seed(seed)
    model = cifar_resnet(depth, widen, 100, 3)
    masks = global_magnitude_masks(model, keep_fraction)
    masks.apply(model)
    model.to(device).eval()
    build_s = time.perf_counter() - tic
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, 3, 32, 32, generator=gen).to(device)
    y = torch.randint(100, (batch,), generator=gen).to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    chunk = micro_batch or batch
    dev_masks = {k: m.to(device) for k, m in masks.masks.items()}
    op = HessianOperator(model, F.cross_entropy, x, y, space=space, masks=dev_masks,
                         micro_batch=chunk)  # fmt: skip

    def gradient() -> None:  # in the same chunks as the HVP
        for start in range(0, batch, chunk):
            loss = F.cross_entropy(model(x[start : start + chunk]), y[start : start + chunk])
            torch.autograd.grad(loss, params)

    hvp_times: list[float] = []
    grad_times: list[float] = []

    def matvec(w: Tensor) -> Tensor:
        _sync(device)
        t0 = time.perf_counter()
        out = op.matvec(w.to(op.dtype))
        _sync(device)
        hvp_times.append(time.perf_counter() - t0)
        grad_times.append(_timed(gradient, device))
        return out

    with fp32_precision(False):
        gradient()  # warm-up
        grad_peak, _ = peak_memory(gradient, device)

        def run_lanczos() -> tuple[Any, Any]:
            return lanczos_tridiagonal(matvec, op.dim, lanczos_steps, seed, device=device,
                                       dtype=lanczos_dtype)  # fmt: skip

        t0 = time.perf_counter()
        lanczos_peak, (alpha, beta) = peak_memory(run_lanczos, device)
        lanczos_s = time.perf_counter() - t0
    grad_s = statistics.median(grad_times)
    hvp_s = statistics.median(hvp_times)
    steps_done = len(alpha)
    nodes, _ = gauss_quadrature(alpha, beta)
    vector_s = (lanczos_s - sum(hvp_times) - sum(grad_times)) / max(steps_done, 1)
    vector_s = max(vector_s, 0.0)
    # one Lanczos step: an HVP (linear in samples) and the vector updates (independent of them)
    spectrum_s = target_hvps * (hvp_s * target_batch / batch + vector_s)
    return {
        "model": f"ResNet-{depth}-{widen}",
        "parameters": count_parameters(model),
        "kept_fraction": masks.density,
        "space": space,
        "dim": op.dim,
        "batch": batch,
        "micro_batch": chunk,
        "device": str(device),
        "torch_threads": torch.get_num_threads(),
        "build_prune_s": build_s,
        "gradient_s": grad_s,
        "hvp_s": hvp_s,
        "ratio_hvp_gradient": hvp_s / grad_s,
        "gradient_s_per_sample": grad_s / batch,
        "hvp_s_per_sample": hvp_s / batch,
        "gradient_peak_mb": grad_peak / 1e6,
        "lanczos_peak_mb": lanczos_peak / 1e6,
        "lanczos_steps": steps_done,
        "lanczos_s": lanczos_s,
        "lanczos_vector_s_per_step": vector_s,
        "lanczos_dtype": str(lanczos_dtype).replace("torch.", ""),
        "ritz_min": float(np.min(nodes)),
        "ritz_max": float(np.max(nodes)),
        "target_batch": target_batch,
        "target_hvps": target_hvps,
        "spectrum_hours_extrapolated": spectrum_s / 3600,
        "extrapolation": (
            f"{target_hvps} x (median HVP s x {target_batch}/{batch} samples + vector s per step)"
        ),
        "inputs": "synthetic 32x32x3, 100 classes (timing only)",
    }
