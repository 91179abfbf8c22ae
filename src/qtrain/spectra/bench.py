"""Timing of Hessian-vector products against a gradient on the same batch (bench target).

:func:`hvp_vs_gradient` measures, side by side (round-robin inside each repeat, so the machine's
noise is shared): a plain gradient (forward + ``autograd.grad``), our :class:`HessianOperator`
matvec with the graph reused and recomputed per call, and a PyHessian-style baseline
(``loss.backward(create_graph=True)``, then a second backward through ``.grad``, graph rebuilt
each call). All in eval mode, same dtype, same batch, TF32 off.
"""

from __future__ import annotations

import statistics
import time
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from qtrain.spectra.hvp import HessianOperator, LossFn, fp32_precision

__all__ = ["hvp_vs_gradient"]


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
