"""Exact Hessian-vector products of a model's loss on a fixed batch (SPEC §2.5).

:class:`HessianOperator` is the Hessian of ``loss_fn(model(inputs), targets)`` with respect to
the model's trainable parameters, at the parameters the model has when the operator is built,
as a linear map on flat vectors in one of three coordinate spaces:

- ``restricted`` (default): the kept weights of the masked tensors plus every parameter without
  a mask (biases, BN, the head): exactly the coordinates masked GD evolves. The operator is the
  principal submatrix ``H[R, R]``; ``dim`` is the number of those coordinates.
- ``masked``: all coordinates, with the rows and columns of pruned coordinates zeroed
  (``P H P``; pruned coordinates give a spike at 0 in the spectrum).
- ``dense``: the full Hessian ``H`` at the (sparse) point.

Flat vectors follow ``model.named_parameters()`` order (trainable parameters only), each tensor
row-major; in the restricted space the pruned entries are dropped in that same order (the
coordinates: :mod:`qtrain.spectra.coordinates`).

HVPs are exact: double backward, ``torch.autograd.grad(grads, params, grad_outputs=v)`` with
``grads = torch.autograd.grad(loss, params, create_graph=True)`` (never
``loss.backward(create_graph=True)``, which leaks through ``.grad``). The operator is the same
function at every call: it holds its own copies of the parameters, buffers and batch (a snapshot
taken at construction), every module but BatchNorm is in eval mode (no dropout), and BatchNorm is
in eval mode by default. With ``bn_mode="train"`` BatchNorm uses batch statistics; its running
statistics are updated only on the operator's private copies of the buffers, so the model is
never changed. Precision is explicit: computations run in ``dtype`` with autocast off and TF32
off (unless ``allow_tf32``); the settings are logged and exposed as :attr:`precision`.

Backends (``backend``): ``"autograd"`` (the reference: reverse-over-reverse double backward, any
BN mode); ``"func"`` (forward-over-reverse, ``torch.func.jvp(torch.func.grad(loss))``: the same
Hessian up to float rounding, eval-mode BN only, since torch's forward-mode derivative of
batch-statistics BN is wrong in torch 2.14 and train mode mutates buffers); ``"compile"`` (the
``"func"`` HVP through ``torch.compile``: the same numbers, faster after a compilation of
minutes); ``"segmented"`` (CIFAR ResNets only: forward-over-reverse one network segment at a
time with recomputation, :mod:`qtrain.spectra.segmented`; exact in either BN mode, and with
train-mode BN it needs far less memory than ``"autograd"`` over the whole batch, the one exact
way to bound that memory since the batch cannot be chunked). ``autocast="bfloat16"`` runs the
model under bf16 autocast with float32 parameters and accumulation: faster on hardware with bf16
units, NOT exact (relative error ~1e-2; docs/benchmarks.md), never a default.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor, nn
from torch.func import functional_call

from .coordinates import ParameterSpace, Space

__all__ = [
    "BACKENDS",
    "BN_MODES",
    "HessianOperator",
    "LossFn",
    "fp32_precision",
]

log = logging.getLogger(__name__)

BN_MODES: tuple[str, ...] = ("eval", "train")
BACKENDS: tuple[str, ...] = ("autograd", "func", "compile", "segmented")
LossFn = Callable[[Tensor, Tensor], Tensor]
"""``loss_fn(outputs, targets) -> scalar``; must be a mean over the samples it is given."""


@contextlib.contextmanager
def fp32_precision(allow_tf32: bool = False) -> Iterator[None]:
    """Set the CUDA float32 matmul/conv precision to IEEE (or TF32) inside the block; restore after.

    Uses torch's ``fp32_precision`` API where it exists (torch ≥ 2.9) and the legacy
    ``allow_tf32`` flags otherwise. On the CPU these flags change nothing.
    """
    mode = "tf32" if allow_tf32 else "ieee"
    matmul = torch.backends.cuda.matmul
    conv = getattr(torch.backends.cudnn, "conv", None)
    if hasattr(matmul, "fp32_precision") and conv is not None and hasattr(conv, "fp32_precision"):
        saved = (matmul.fp32_precision, conv.fp32_precision)
        matmul.fp32_precision, conv.fp32_precision = mode, mode
        try:
            yield
        finally:
            matmul.fp32_precision, conv.fp32_precision = saved
    else:  # pragma: no cover - older torch
        saved_legacy = (matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
        matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = allow_tf32
        try:
            yield
        finally:
            matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved_legacy


def _forward_over_reverse(
    model: nn.Module,
    loss_fn: LossFn,
    params: dict[str, Tensor],
    consts: dict[str, Tensor],
    tangents: dict[str, Tensor],
    x: Tensor,
    y: Tensor,
) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
    """``(∇L, H v)`` of ``loss_fn(model(x), y)`` at ``params`` by ``jvp(grad(loss))``: one pass.

    A module-level function of its inputs only, so that ``torch.compile`` reuses one compiled
    graph for every operator on the same model and shapes.
    """
    from torch.func import grad, jvp

    def loss_of(p: dict[str, Tensor]) -> Tensor:
        return loss_fn(functional_call(model, (p, consts), (x,)), y)

    return jvp(grad(loss_of), (params,), (tangents,))


def _is_batchnorm(module: nn.Module) -> bool:
    return isinstance(module, nn.modules.batchnorm._BatchNorm)


class HessianOperator(ParameterSpace):
    """Hessian of a model's loss on a fixed batch, as a linear operator on flat vectors of a
    :class:`~qtrain.spectra.coordinates.ParameterSpace` (its conversions: ``flatten``,
    ``unflatten``, ``to_restricted``, ``from_restricted``, ``params_to_vector``,
    ``vector_to_params``).

    Args:
        model: any ``nn.Module``; it is only read (its modes are set during each call and
            restored after).
        loss_fn: ``loss_fn(outputs, targets) -> scalar mean loss`` (e.g. ``F.cross_entropy``).
        inputs, targets: the fixed batch (no augmentation).
        space: ``"restricted"``, ``"masked"`` or ``"dense"`` (module docstring).
        masks: ``{parameter name: bool tensor of the parameter's shape}`` (True = kept) for the
            pruned weights; parameters without a mask are never pruned. ``None``: nothing pruned.
        bn_mode: ``"eval"`` (default: running statistics) or ``"train"`` (batch statistics).
        micro_batch: chunk size; the HVP is the sum of per-chunk HVPs weighted by chunk size
            over the batch size (exact for eval-mode BN; with train-mode BN each chunk uses its
            own batch statistics). ``None``: one chunk.
        reuse_graph: build the gradient graph once and reuse it for every matvec (faster, holds
            the activations of the whole batch); ``False`` rebuilds it per call (less memory).
        dtype: floating dtype of the computation (``None``: the model's); float64 for tests.
        device: where to compute (``None``: the device of the model's first parameter).
        allow_tf32: allow TF32 for float32 convolutions and matmuls on CUDA (default off).
        backend: ``"autograd"`` (default), ``"func"``, ``"compile"`` or ``"segmented"`` (module
            docstring).
        autocast: ``None`` (default: exact) or ``"bfloat16"`` (not exact; module docstring).
    """

    def __init__(
        self,
        model: nn.Module,
        loss_fn: LossFn,
        inputs: Tensor,
        targets: Tensor,
        space: Space = "restricted",
        masks: Mapping[str, Tensor] | None = None,
        *,
        bn_mode: Literal["eval", "train"] = "eval",
        micro_batch: int | None = None,
        reuse_graph: bool = False,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        allow_tf32: bool = False,
        backend: str = "autograd",
        autocast: str | None = None,
    ) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        if backend in ("func", "compile") and bn_mode == "train":
            raise ValueError(
                f"backend={backend!r} needs bn_mode='eval' (torch's forward-mode derivative of "
                "batch-statistics BatchNorm is wrong); use backend='autograd' or 'segmented' "
                "with train-mode BN"
            )
        if autocast not in (None, "bfloat16"):
            raise ValueError(f"autocast must be None or 'bfloat16', got {autocast!r}")
        if bn_mode not in BN_MODES:
            raise ValueError(f"bn_mode must be one of {BN_MODES}, got {bn_mode!r}")
        named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        if not named:
            raise ValueError("the model has no trainable parameters")
        first = named[0][1]
        dtype = first.dtype if dtype is None else dtype
        if not dtype.is_floating_point:
            raise ValueError(f"dtype must be a floating dtype, got {dtype}")
        device = first.device if device is None else torch.device(device)
        n_samples = int(inputs.shape[0])
        if int(targets.shape[0]) != n_samples or n_samples == 0:
            raise ValueError(
                f"inputs and targets must hold the same non-zero number of samples, "
                f"got {n_samples} and {int(targets.shape[0])}"
            )
        if micro_batch is not None and micro_batch < 1:
            raise ValueError(f"micro_batch must be a positive integer or None, got {micro_batch}")
        names, shapes = [n for n, _ in named], [p.shape for _, p in named]
        super().__init__(names, shapes, space, masks, device=device, dtype=dtype)

        self.model = model
        self.loss_fn = loss_fn
        self.bn_mode: str = bn_mode
        self.reuse_graph = bool(reuse_graph)
        self.allow_tf32 = bool(allow_tf32)
        self.backend = backend
        self.autocast = autocast
        self._compiled: Callable[..., Any] | None = None
        self._segments: Any = None
        if backend == "segmented":
            from .segmented import Segments

            self._segments = Segments(model, bn_mode)
        self.n_samples = n_samples
        self.micro_batch = n_samples if micro_batch is None else min(int(micro_batch), n_samples)

        # Private snapshot of the point, the buffers and the batch: the operator never changes.
        def _copy(t: Tensor) -> Tensor:
            to_dtype = dtype if t.is_floating_point() else t.dtype
            return t.detach().to(device=device, dtype=to_dtype, copy=True)

        self._params: dict[str, Tensor] = {n: _copy(p).requires_grad_(True) for n, p in named}
        self._plist: list[Tensor] = list(self._params.values())
        self._consts: dict[str, Tensor] = {
            n: _copy(p) for n, p in model.named_parameters() if not p.requires_grad
        }
        self._consts.update({n: _copy(b) for n, b in model.named_buffers()})

        x, y = _copy(inputs), targets.detach().to(device=device, copy=True)
        sizes = [len(c) for c in torch.split(x, self.micro_batch)]
        self._chunks = list(
            zip(torch.split(x, self.micro_batch), torch.split(y, self.micro_batch), strict=True)
        )
        self._chunk_weights = [s / n_samples for s in sizes]
        self._graphs: list[tuple[float, tuple[Tensor, ...]]] | None = None

        if self.n_pruned and space != "dense":
            off = sum(
                int((self._params[n].detach()[~m]).count_nonzero()) for n, m in self.masks.items()
            )
            if off:
                log.warning(
                    "HessianOperator: %d pruned coordinates are non-zero at this point; the "
                    "Hessian is still evaluated there",
                    off,
                )
        if bn_mode == "train" and len(self._chunks) > 1:
            log.warning(
                "HessianOperator: train-mode BN with micro_batch=%d < %d samples: each chunk uses "
                "its own batch statistics",
                self.micro_batch,
                n_samples,
            )
        self.precision: dict[str, Any] = {
            "dtype": str(dtype).replace("torch.", ""),
            "device": str(device),
            "tf32": self.allow_tf32,
            "autocast": autocast or False,
            "backend": backend,
            "bn_mode": bn_mode,
            "micro_batch": self.micro_batch,
            "reuse_graph": self.reuse_graph,
        }
        log.info(
            "HessianOperator: space=%s dim=%d (full %d, pruned %d), samples=%d, precision=%s",
            space,
            self.dim,
            self.numel_full,
            self.n_pruned,
            n_samples,
            self.precision,
        )

    # ------------------------------------------------------------------------------- autograd
    @contextlib.contextmanager
    def _context(self) -> Iterator[None]:
        """Module modes, grad mode, autocast and precision for one evaluation; restored after."""
        saved = [(m, m.training) for m in self.model.modules()]
        try:
            for m in self.model.modules():
                m.training = self.bn_mode == "train" and _is_batchnorm(m)
            if self.autocast == "bfloat16":
                cast = torch.autocast(self.device.type, dtype=torch.bfloat16)
            else:
                cast = torch.autocast(self.device.type, enabled=False)
            with torch.enable_grad(), cast, fp32_precision(self.allow_tf32):
                yield
        finally:
            for m, flag in saved:
                m.training = flag

    def _loss(self, x: Tensor, y: Tensor) -> Tensor:
        out = functional_call(self.model, (self._params, self._consts), (x,))
        return self.loss_fn(out.to(self.dtype) if self.autocast else out, y)

    def _grad_with_graph(self, x: Tensor, y: Tensor) -> tuple[Tensor, ...]:
        loss = self._loss(x, y)
        if loss.dim() != 0:
            raise ValueError(
                f"loss_fn must return a scalar (mean) loss, got shape {tuple(loss.shape)}"
            )
        return torch.autograd.grad(
            loss, self._plist, create_graph=True, allow_unused=True, materialize_grads=True
        )

    def _double_backward(
        self, grads: Sequence[Tensor], vs: Sequence[Tensor], retain: bool
    ) -> list[Tensor]:
        pairs = [(g, v) for g, v in zip(grads, vs, strict=True) if g.requires_grad]
        if not pairs:  # the gradient does not depend on the parameters: H = 0
            return [torch.zeros_like(p) for p in self._plist]
        out = torch.autograd.grad(
            [g for g, _ in pairs],
            self._plist,
            grad_outputs=[v for _, v in pairs],
            retain_graph=retain,
            allow_unused=True,
            materialize_grads=True,
        )
        return list(out)

    def _func_terms(
        self, vs: Sequence[Tensor]
    ) -> Iterator[tuple[float, Sequence[Tensor], Sequence[Tensor]]]:
        """Per chunk: weight, gradient and HVP by forward-over-reverse (``torch.func``)."""
        params = {n: p.detach() for n, p in self._params.items()}
        tangents = dict(zip(self.names, vs, strict=True))
        if self.backend == "compile" and self._compiled is None:
            self._compiled = torch.compile(_forward_over_reverse)
        fn = self._compiled if self.backend == "compile" else _forward_over_reverse
        for w, (x, y) in zip(self._chunk_weights, self._chunks, strict=True):
            if self._segments is not None:
                g, hv = self._segments.grad_hvp(self.loss_fn, params, self._consts, tangents, x, y)
            else:
                g, hv = fn(self.model, self.loss_fn, params, self._consts, tangents, x, y)
            yield w, [g[n] for n in self.names], [hv[n] for n in self.names]

    def _grad_hvp_full(self, flat: Tensor, want_grad: bool = True) -> tuple[Tensor | None, Tensor]:
        """Full-space gradient (``None`` unless ``want_grad``) and Hessian times a full-space
        flat vector, from the same pass."""
        vs = [t.view(s) for t, s in zip(torch.split(flat, self.numels), self.shapes, strict=True)]
        g_total: list[Tensor] | None = None
        h_total: list[Tensor] | None = None
        with self._context():
            if self.backend != "autograd":
                terms: Iterator[tuple[float, Sequence[Tensor], Sequence[Tensor]]]
                terms = self._func_terms(vs)
            elif self.reuse_graph:
                if self._graphs is None:
                    self._graphs = [
                        (w, self._grad_with_graph(x, y))
                        for w, (x, y) in zip(self._chunk_weights, self._chunks, strict=True)
                    ]
                terms = ((w, g, self._double_backward(g, vs, True)) for w, g in self._graphs)
            else:
                terms = (
                    (w, g, self._double_backward(g, vs, False))
                    for w, g in (
                        (w, self._grad_with_graph(x, y))
                        for w, (x, y) in zip(self._chunk_weights, self._chunks, strict=True)
                    )
                )
            for w, g, hv in terms:
                if h_total is None:
                    h_total = [h * w if w != 1.0 else h for h in hv]
                else:
                    for acc, h in zip(h_total, hv, strict=True):
                        acc.add_(h, alpha=w)
                if not want_grad:
                    continue
                g = [t.detach() for t in g]
                if g_total is None:
                    g_total = [t * w if w != 1.0 else t.clone() for t in g]
                else:
                    for acc, t in zip(g_total, g, strict=True):
                        acc.add_(t, alpha=w)
        assert h_total is not None
        hv_flat = torch.cat([h.reshape(-1) for h in h_total]).detach()
        if g_total is None:
            return None, hv_flat
        return torch.cat([t.reshape(-1) for t in g_total]).detach(), hv_flat

    def _hvp_full(self, flat: Tensor) -> Tensor:
        """Full-space Hessian times a full-space flat vector (in the operator's dtype/device)."""
        return self._grad_hvp_full(flat, want_grad=False)[1]

    # -------------------------------------------------------------------------------- public
    def matvec(self, v: Tensor | np.ndarray) -> Tensor | np.ndarray:
        """``H v`` in this operator's space; returns the input's type, dtype and device."""
        as_numpy = isinstance(v, np.ndarray)
        vt = torch.from_numpy(np.ascontiguousarray(v)) if as_numpy else v
        self._check_dim(vt)
        out_dtype, out_device = vt.dtype, vt.device
        vt = vt.detach().to(device=self.device, dtype=self.dtype)
        hv = self._to_space(self._hvp_full(self._from_space(vt)))
        hv = hv.to(
            device=out_device, dtype=out_dtype if out_dtype.is_floating_point else self.dtype
        )
        return hv.numpy() if as_numpy else hv

    __call__ = matvec

    def gradient_and_matvec(self, v: Tensor) -> tuple[Tensor, Tensor]:
        """``(∇L, H v)`` in this operator's space from one pass (the gradient the HVP's graph
        holds anyway): what :meth:`gradient` and :meth:`matvec` return, at the cost of one
        HVP. ``v`` is a tensor of this space; results are in the operator's dtype/device."""
        self._check_dim(v)
        vt = v.detach().to(device=self.device, dtype=self.dtype)
        g, hv = self._grad_hvp_full(self._from_space(vt))
        assert g is not None
        return self._to_space(g), self._to_space(hv)

    def gradient(self) -> Tensor:
        """Gradient of the loss on the fixed batch, as a vector of this operator's space."""
        total: Tensor | None = None
        with self._context():
            for w, (x, y) in zip(self._chunk_weights, self._chunks, strict=True):
                g = torch.autograd.grad(
                    self._loss(x, y), self._plist, allow_unused=True, materialize_grads=True
                )
                flat = torch.cat([t.reshape(-1) for t in g]).detach() * w
                total = flat if total is None else total + flat
        assert total is not None
        return self._to_space(total)

    def loss(self) -> float:
        """Loss on the fixed batch at the operator's point."""
        with self._context(), torch.no_grad():
            return math.fsum(
                w * float(self._loss(x, y))
                for w, (x, y) in zip(self._chunk_weights, self._chunks, strict=True)
            )

    def point(self) -> Tensor:
        """The parameters at which the Hessian is taken, as a vector of this operator's space."""
        return self._to_space(self.flatten([p.detach() for p in self._plist]))

    def release(self) -> None:
        """Free the reused gradient graph (it is rebuilt on the next matvec if needed)."""
        self._graphs = None

    def as_linear_operator(self) -> Any:
        """A float64 ``scipy.sparse.linalg.LinearOperator`` view (for ``eigsh`` and checks)."""
        from scipy.sparse.linalg import LinearOperator

        def mv(x: np.ndarray) -> np.ndarray:
            return self.matvec(np.asarray(x, dtype=np.float64).reshape(-1))  # type: ignore[return-value]

        return LinearOperator((self.dim, self.dim), matvec=mv, rmatvec=mv, dtype=np.float64)

    def __repr__(self) -> str:
        return (
            f"HessianOperator(space={self.space!r}, dim={self.dim}, samples={self.n_samples}, "
            f"dtype={self.precision['dtype']}, bn_mode={self.bn_mode!r})"
        )
