"""Exact gradient and HVP of a CIFAR ResNet, one segment of the network at a time.

With train-mode BatchNorm the loss of every sample depends on every other sample of the batch
through the batch statistics, so the batch cannot be cut into independent chunks (each chunk
with its own statistics is another loss; the whole batch's statistics frozen per chunk drop
their derivative: ``tests/test_linearized.py``). What can be cut is the network: the batch goes
through it whole, one segment (the stem, each residual block, the head) at a time.

:meth:`Segments.grad_hvp` is forward-over-reverse (``jvp`` of ``vjp``) with recomputation:

1. forward, segment by segment, with tangents (``torch.func.jvp``): keeps only the segment
   boundaries ``h_s`` and their tangents ``ḣ_s`` (the directional derivative along ``v``);
2. at the head, the loss gradient and its tangent;
3. backward, segment by segment from the top: each segment's forward is recomputed from its
   boundary and differentiated in reverse (``vjp``) under forward mode (``jvp``), which gives
   its parameter gradient and, as the tangent of that gradient, its block of ``H v``.

The result is the exact ``(∇L, H v)`` of the whole-batch loss (batch statistics included), to
float rounding. Peak memory: the boundaries and their tangents for the whole batch, plus one
segment's forward-over-reverse internals, instead of the whole double-backward graph
(docs/benchmarks.md, "Chunked train-mode BN", has the measured peaks). BatchNorm is evaluated
in elementary operations (``_bn``): torch 2.14's forward-mode derivative of the fused
``batch_norm`` backward in training mode is wrong (see ``tests/test_hvp.py``). Running
statistics are never updated.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call, grad, jvp, vjp

__all__ = ["Segments", "is_segmentable"]

LossFn = Callable[[Tensor, Tensor], Tensor]


def _bn(z: Tensor, bn: nn.BatchNorm2d, weight: Tensor, bias: Tensor, train: bool) -> Tensor:
    """BatchNorm2d in elementary ops: batch statistics (biased variance) or running ones."""
    if train:
        mean = z.mean((0, 2, 3), keepdim=True)
        var = (z - mean).square().mean((0, 2, 3), keepdim=True)
    else:
        mean = bn.running_mean.view(1, -1, 1, 1)
        var = bn.running_var.view(1, -1, 1, 1)
    scale = weight.view(1, -1, 1, 1) * torch.rsqrt(var + bn.eps)
    return (z - mean) * scale + bias.view(1, -1, 1, 1)


class _ElementaryBN(nn.Module):
    """Stands in for a BatchNorm2d (same parameter and buffer names) inside a segment."""

    def __init__(self, bn: nn.BatchNorm2d, train: bool) -> None:
        super().__init__()
        self.weight, self.bias = bn.weight, bn.bias
        self.register_buffer("running_mean", bn.running_mean)
        self.register_buffer("running_var", bn.running_var)
        self.eps, self.train_stats = bn.eps, train

    def forward(self, z: Tensor) -> Tensor:
        return _bn(z, self, self.weight, self.bias, self.train_stats)  # type: ignore[arg-type]


class _Stem(nn.Module):
    def __init__(self, conv1: nn.Module, bn1: nn.Module) -> None:
        super().__init__()
        self.conv1, self.bn1 = conv1, bn1

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.bn1(self.conv1(x)))


class _Head(nn.Module):
    def __init__(self, fc: nn.Module) -> None:
        super().__init__()
        self.fc = fc

    def forward(self, h: Tensor) -> Tensor:
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(h, 1), 1))


def is_segmentable(model: nn.Module) -> bool:
    """Whether ``model`` has the CIFAR ResNet layout this module cuts into segments."""
    return all(hasattr(model, n) for n in ("conv1", "bn1", "layer1", "layer2", "layer3", "fc"))


class Segments:
    """A CIFAR ResNet cut into segments (stem, residual blocks, head) with elementary BN.

    Holds a parameter-free copy of the model's structure (on the meta device): parameters and
    buffers are supplied at each call, so one instance serves every point and batch.
    """

    def __init__(self, model: nn.Module, bn_mode: str = "train") -> None:
        import copy

        if not is_segmentable(model):
            raise ValueError(
                "segmented HVPs need a CIFAR ResNet (conv1, bn1, layer1-3, fc; "
                "qtrain.learning.models.cifar_resnet)"
            )
        train = bn_mode == "train"
        clone = copy.deepcopy(model).to("meta")
        for module in list(clone.modules()):
            for name, child in list(module.named_children()):
                if isinstance(child, nn.BatchNorm2d):
                    setattr(module, name, _ElementaryBN(child, train))
        self.parts: list[tuple[str, nn.Module]] = [("", _Stem(clone.conv1, clone.bn1))]
        for stage in ("layer1", "layer2", "layer3"):
            for index, block in enumerate(getattr(clone, stage)):
                self.parts.append((f"{stage}.{index}.", block))
        self.parts.append(("", _Head(clone.fc)))

    def grad_hvp(
        self,
        loss_fn: LossFn,
        params: Mapping[str, Tensor],
        consts: Mapping[str, Tensor],
        tangents: Mapping[str, Tensor],
        x: Tensor,
        y: Tensor,
    ) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
        """``(∇L, H v)`` w.r.t. ``params`` along ``tangents`` (same keys); ``consts``: the
        buffers and any parameter held fixed."""

        def split(
            prefix: str, seg: nn.Module
        ) -> tuple[dict[str, Tensor], dict[str, Tensor], dict[str, Tensor]]:
            names = [n for n, _ in seg.named_parameters()] + [n for n, _ in seg.named_buffers()]
            p = {n: params[prefix + n] for n in names if prefix + n in params}
            dp = {n: tangents[prefix + n] for n in p}
            c = {n: consts[prefix + n] for n in names if prefix + n in consts}
            return p, dp, c

        def apply(seg: nn.Module, c: dict[str, Tensor]) -> Callable[..., Tensor]:
            def f(h: Tensor, p: dict[str, Tensor]) -> Tensor:
                return functional_call(seg, (p, c), (h,))

            return f

        # 1. forward with tangents, keeping the boundaries
        hs: list[Tensor] = [x]
        dhs: list[Tensor] = [torch.zeros_like(x)]
        for prefix, seg in self.parts[:-1]:
            p, dp, c = split(prefix, seg)
            h, dh = jvp(apply(seg, c), (hs[-1], p), (dhs[-1], dp))
            hs.append(h.detach())
            dhs.append(dh.detach())
        grads: dict[str, Tensor] = {}
        hvps: dict[str, Tensor] = {}

        def record(prefix: str, g: Mapping[str, Any], hv: Mapping[str, Any]) -> None:
            for name in g:
                grads[prefix + name] = g[name].detach()
                hvps[prefix + name] = hv[name].detach()

        # 2. the head: the loss gradient (w.r.t. its input and parameters) and its tangent
        prefix, head = self.parts[-1]
        hp, hdp, hc = split(prefix, head)
        head_fn = apply(head, hc)

        def head_grad(h: Tensor, p: dict[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
            return grad(lambda h, p: loss_fn(head_fn(h, p), y), argnums=(0, 1))(h, p)

        (g_h, g_p), (dg_h, dg_p) = jvp(head_grad, (hs[-1], hp), (dhs[-1], hdp))
        record(prefix, g_p, dg_p)
        del hs[-1], dhs[-1]

        # 3. backward, recomputing each segment from its boundary (freed once used)
        for prefix, seg in reversed(self.parts[:-1]):
            h, dh = hs.pop(), dhs.pop()
            p, dp, c = split(prefix, seg)
            f = apply(seg, c)

            def back(h: Tensor, p: dict[str, Tensor], g: Tensor, f=f) -> tuple[Any, ...]:
                _, pullback = vjp(f, h, p)
                return pullback(g)

            (g_h, g_p), (dg_h, dg_p) = jvp(back, (h, p, g_h.detach()), (dh, dp, dg_h.detach()))
            record(prefix, g_p, dg_p)
        return grads, hvps
