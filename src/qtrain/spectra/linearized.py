"""The first-order (N = 1) Carleman map of (masked) gradient descent, at network scale.

Truncating the Carleman embedding of the GD map u' = u + Σ_l F_l u^{⊗l} at N = 1 keeps
F_0 = −η∇L(θ̄) and F_1 = −ηH(θ̄) (SPEC §1.1-1.2): with u = θ − θ̄,

    θ(t+1) = θ(t) − η [∇L_B(θ̄) + H_B(θ̄)(θ(t) − θ̄) + λ_wd θ(t)],

where B is the batch of step t (the same batches as the real run), ``λ_wd`` the optimizer's
weight decay (0 by default: plain GD) and ∇, H are taken in the coordinate space the real run
evolves (``restricted``: the kept weights plus the never-pruned parameters; ``dense``: all).
Only gradients and Hessian-vector products at θ̄ are needed, so it runs at full scale.
:class:`LinearizedGD` holds θ̄ and u and advances u one batch at a time; comparing it with the
real trajectory gives the true linearization error that the error proxy stands for.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping

import torch
from torch import Tensor, nn

from qtrain.spectra.hvp import HessianOperator, LossFn

__all__ = ["LinearizedGD"]

log = logging.getLogger(__name__)


class LinearizedGD:
    """N = 1 Carleman (linearized) GD around the model's current parameters θ̄.

    Args:
        model: the model at θ̄; a private copy is kept, so the caller may go on training it
            (the real trajectory) without moving θ̄.
        loss_fn: mean loss ``loss_fn(outputs, targets)``.
        lr: the learning rate η of the real run.
        masks: ``{parameter name: bool mask}`` of the real run's trainable support (``None``:
            every coordinate trains, the ``dense`` space).
        weight_decay: the real optimizer's L2 weight decay (its linear term is exact).
        bn_mode: BatchNorm mode of the real training step (``"train"``: batch statistics, as
            in SGD; ``"eval"``: running statistics).
        micro_batch, dtype, device: passed to :class:`HessianOperator` (with train-mode BN a
            micro-batch smaller than the batch changes the map: keep ``None``).
        backend: the :class:`HessianOperator` backend; ``"segmented"`` computes the same map
            exactly with much less memory for CIFAR ResNets with train-mode BN.
    """

    def __init__(
        self,
        model: nn.Module,
        loss_fn: LossFn,
        lr: float,
        masks: Mapping[str, Tensor] | None = None,
        *,
        weight_decay: float = 0.0,
        bn_mode: str = "train",
        micro_batch: int | None = None,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        backend: str = "autograd",
    ) -> None:
        if lr <= 0:
            raise ValueError(f"lr must be positive, got {lr}")
        if weight_decay < 0:
            raise ValueError(f"weight_decay must be non-negative, got {weight_decay}")
        self.model = copy.deepcopy(model)
        self.loss_fn = loss_fn
        self.lr = float(lr)
        self.weight_decay = float(weight_decay)
        self.bn_mode = bn_mode
        self.micro_batch = micro_batch
        self.backend = backend
        self.masks = None if masks is None else dict(masks)
        self.space = "dense" if masks is None else "restricted"
        first = next(p for p in model.parameters() if p.requires_grad)
        self.dtype = first.dtype if dtype is None else dtype
        self.device = first.device if device is None else torch.device(device)
        self._template: HessianOperator | None = None  # the first step's operator: coordinates
        self.theta_bar: Tensor | None = None  # set on the first step (needs a batch)
        self.u: Tensor | None = None
        self.steps = 0

    def _operator(self, inputs: Tensor, targets: Tensor) -> HessianOperator:
        return HessianOperator(
            self.model,
            self.loss_fn,
            inputs,
            targets,
            space=self.space,  # type: ignore[arg-type]
            masks=self.masks,
            bn_mode=self.bn_mode,  # type: ignore[arg-type]
            micro_batch=self.micro_batch,
            dtype=self.dtype,
            device=self.device,
            backend=self.backend,
        )

    @property
    def dim(self) -> int:
        """Number of evolving coordinates (known after the first step)."""
        if self.u is None:
            raise RuntimeError("dim is known after the first step")
        return int(self.u.numel())

    def step(self, inputs: Tensor, targets: Tensor) -> dict[str, float]:
        """Advance θ_lin by one linearized step on the batch ``(inputs, targets)``.

        Returns the batch loss at θ̄ and the norms of the gradient and of the HVP term.
        """
        op = self._operator(inputs, targets)
        if self._template is None:
            self._template = op
            self.theta_bar = op.point().detach().clone()
            self.u = torch.zeros_like(self.theta_bar)
        assert self.u is not None and self.theta_bar is not None
        if self.steps == 0 or not bool(self.u.any()):
            grad, hu = op.gradient(), torch.zeros_like(self.u)
        else:  # the gradient comes from the HVP's own graph: one pass, not two
            grad, hu = op.gradient_and_matvec(self.u)
        update = grad + hu
        if self.weight_decay:
            update = update + self.weight_decay * (self.theta_bar + self.u)
        self.u = self.u - self.lr * update
        self.steps += 1
        if not bool(torch.isfinite(self.u).all()):
            raise FloatingPointError(
                f"the linearized iteration became non-finite at step {self.steps}"
            )
        stats = {
            "grad_norm": float(torch.linalg.vector_norm(grad)),
            "hvp_norm": float(torch.linalg.vector_norm(hu)),
            "u_norm": float(torch.linalg.vector_norm(self.u)),
        }
        return stats

    def vector(self, model: nn.Module) -> Tensor:
        """``model``'s parameters as a vector of this map's space (to compare trajectories)."""
        if self._template is None:
            raise RuntimeError("take a step first")
        params = {n: p.detach() for n, p in model.named_parameters() if p.requires_grad}
        return self._template.params_to_vector(params)

    def theta(self) -> Tensor:
        """θ_lin = θ̄ + u as a vector of this map's space."""
        if self.theta_bar is None or self.u is None:
            raise RuntimeError("take a step first")
        return self.theta_bar + self.u

    def gap(self, model: nn.Module) -> float:
        """‖θ_lin − θ_model‖ over the evolving coordinates."""
        return float(torch.linalg.vector_norm(self.theta() - self.vector(model)))

    def displacement(self, model: nn.Module) -> float:
        """‖θ_model − θ̄‖ over the evolving coordinates (the scale of the gap)."""
        if self.theta_bar is None:
            raise RuntimeError("take a step first")
        return float(torch.linalg.vector_norm(self.vector(model) - self.theta_bar))

    def load_into(self, model: nn.Module) -> None:
        """Write θ_lin into ``model``'s parameters (buffers are left as they are). In the
        restricted space the pruned coordinates are set to zero, as masked GD keeps them."""
        if self._template is None:
            raise RuntimeError("take a step first")
        values = self._template.vector_to_params(self.theta())
        with torch.no_grad():
            for name, p in model.named_parameters():
                if name in values:
                    p.copy_(values[name].to(device=p.device, dtype=p.dtype))
