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
row-major; in the restricted space the pruned entries are dropped in that same order.

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

__all__ = [
    "BACKENDS",
    "BN_MODES",
    "SPACES",
    "HessianOperator",
    "LossFn",
    "Space",
    "fp32_precision",
]

log = logging.getLogger(__name__)

Space = Literal["restricted", "masked", "dense"]
SPACES: tuple[str, ...] = ("restricted", "masked", "dense")
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


class HessianOperator:
    """Hessian of a model's loss on a fixed batch, as a linear operator on flat vectors.

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
        if space not in SPACES:
            raise ValueError(f"space must be one of {SPACES}, got {space!r}")
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

        self.model = model
        self.loss_fn = loss_fn
        self.space: str = space
        self.bn_mode: str = bn_mode
        self.reuse_graph = bool(reuse_graph)
        self.dtype = dtype
        self.device = device
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

        self.names: list[str] = [n for n, _ in named]
        self._params: dict[str, Tensor] = {n: _copy(p).requires_grad_(True) for n, p in named}
        self._plist: list[Tensor] = list(self._params.values())
        self._consts: dict[str, Tensor] = {
            n: _copy(p) for n, p in model.named_parameters() if not p.requires_grad
        }
        self._consts.update({n: _copy(b) for n, b in model.named_buffers()})
        self.shapes: list[torch.Size] = [p.shape for p in self._plist]
        self.numels: list[int] = [p.numel() for p in self._plist]
        self.numel_full: int = sum(self.numels)

        x, y = _copy(inputs), targets.detach().to(device=device, copy=True)
        sizes = [len(c) for c in torch.split(x, self.micro_batch)]
        self._chunks = list(
            zip(torch.split(x, self.micro_batch), torch.split(y, self.micro_batch), strict=True)
        )
        self._chunk_weights = [s / n_samples for s in sizes]
        self._graphs: list[tuple[float, tuple[Tensor, ...]]] | None = None

        self._keep, self._keep_idx, n_pruned = self._build_masks(masks)
        self.masks: dict[str, Tensor] = (
            {}
            if masks is None
            else {n: m.detach().to(device=device, dtype=torch.bool) for n, m in masks.items()}
        )
        if space == "restricted":
            self.dim: int = self.numel_full - n_pruned
        else:
            self.dim = self.numel_full
        if n_pruned and space != "dense":
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
            n_pruned,
            n_samples,
            self.precision,
        )

    # ----------------------------------------------------------------------------------- masks
    def _build_masks(self, masks: Mapping[str, Tensor] | None) -> tuple[Tensor, Tensor, int]:
        keep = torch.ones(self.numel_full, dtype=torch.bool, device=self.device)
        if masks:
            offsets = dict(zip(self.names, np.cumsum([0, *self.numels[:-1]]).tolist(), strict=True))
            unknown = sorted(set(masks) - set(self.names))
            if unknown:
                raise ValueError(
                    f"masks name parameters that are not trainable parameters of the model: "
                    f"{unknown}"
                )
            for name, mask in masks.items():
                param = self._params[name]
                if not isinstance(mask, Tensor) or mask.dtype != torch.bool:
                    raise ValueError(f"mask for {name!r} must be a bool tensor")
                if mask.shape != param.shape:
                    raise ValueError(
                        f"mask for {name!r} has shape {tuple(mask.shape)}, parameter has "
                        f"{tuple(param.shape)}"
                    )
                start = offsets[name]
                keep[start : start + param.numel()] = mask.to(self.device).reshape(-1)
        n_pruned = int((~keep).sum())
        return keep, keep.nonzero().squeeze(1), n_pruned

    # ---------------------------------------------------------------------- vector conversions
    def flatten(self, tensors: Mapping[str, Tensor] | Sequence[Tensor]) -> Tensor:
        """Parameter-shaped tensors (by name, or in order) → one flat full-space vector."""
        if isinstance(tensors, Mapping):
            missing = [n for n in self.names if n not in tensors]
            if missing:
                raise ValueError(f"missing tensors for parameters {missing}")
            tensors = [tensors[n] for n in self.names]
        if len(tensors) != len(self.names):
            raise ValueError(f"expected {len(self.names)} tensors, got {len(tensors)}")
        return torch.cat([t.reshape(-1).to(device=self.device, dtype=self.dtype) for t in tensors])

    def unflatten(self, flat: Tensor) -> dict[str, Tensor]:
        """A flat full-space vector → ``{name: parameter-shaped view}``."""
        if flat.shape != (self.numel_full,):
            raise ValueError(
                f"expected a flat vector of length {self.numel_full}, got {tuple(flat.shape)}"
            )
        parts = torch.split(flat, self.numels)
        return {n: t.view(s) for n, t, s in zip(self.names, parts, self.shapes, strict=True)}

    def to_restricted(self, x: Tensor | Mapping[str, Tensor]) -> Tensor:
        """Full-space flat vector (or tensors by name) → restricted flat vector (pruned dropped)."""
        full = self.flatten(x) if isinstance(x, Mapping) else x
        if full.shape != (self.numel_full,):
            raise ValueError(
                f"expected a flat vector of length {self.numel_full}, got {tuple(full.shape)}"
            )
        return full[self._keep_idx.to(full.device)]

    def from_restricted(self, r: Tensor) -> Tensor:
        """Restricted flat vector → full-space flat vector with zeros at pruned coordinates."""
        n_kept = int(self._keep_idx.numel())
        if r.shape != (n_kept,):
            raise ValueError(
                f"expected a restricted vector of length {n_kept}, got {tuple(r.shape)}"
            )
        full = r.new_zeros(self.numel_full)
        full[self._keep_idx.to(r.device)] = r
        return full

    def params_to_vector(self, tensors: Mapping[str, Tensor] | Sequence[Tensor]) -> Tensor:
        """Parameter-shaped tensors → a vector of this operator's space (length ``dim``)."""
        return self._to_space(self.flatten(tensors))

    def vector_to_params(self, v: Tensor) -> dict[str, Tensor]:
        """A vector of this operator's space → ``{name: parameter-shaped tensor}``."""
        return self.unflatten(self._from_space(v))

    def _check_dim(self, v: Tensor) -> None:
        if v.shape != (self.dim,):
            raise ValueError(
                f"expected a vector of length dim={self.dim} ({self.space} space), "
                f"got shape {tuple(v.shape)}"
            )

    def _to_space(self, full: Tensor) -> Tensor:
        if self.space == "restricted":
            return self.to_restricted(full)
        if self.space == "masked":
            return full * self._keep.to(full.device)
        return full

    def _from_space(self, v: Tensor) -> Tensor:
        self._check_dim(v)
        if self.space == "restricted":
            return self.from_restricted(v)
        if self.space == "masked":
            return v * self._keep.to(v.device)
        return v

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
