"""Taylor maps of torch losses: F_0 … F_order of the GD map around θ̄ by automatic
differentiation (torch is imported lazily)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from qtrain.quantum.carleman.polymaps import PolyMap

__all__ = ["taylor_map", "torch_model_taylor_map"]


def taylor_map(
    loss: Callable[[Any], Any],
    theta_bar: np.ndarray,
    eta: float,
    order: int = 3,
    *,
    max_entries: int = 50_000_000,
) -> PolyMap:
    """F_0 … F_order of the GD map of a torch loss around θ̄ by automatic differentiation:
    F_0 = −η∇L, F_1 = −ηH, F_l = −(η/l!)·mat(∇^{l+1}L).

    ``loss`` maps a float64 torch vector of length n to a scalar. The term F_l has n^{l+1}
    entries; a term above ``max_entries`` raises (lower ``order`` for large n).
    """
    import torch
    from torch.func import grad, jacrev

    theta = torch.as_tensor(np.asarray(theta_bar, dtype=float), dtype=torch.float64)
    n = theta.numel()
    for ell in range(1, order + 1):
        if n ** (ell + 1) > max_entries:
            raise ValueError(
                f"F_{ell} would have n^{ell + 1} = {n ** (ell + 1):,} entries (> {max_entries:,}); "
                f"use order ≤ {ell - 1} for n = {n}"
            )
    derivative = grad(loss)
    F: list = [-eta * derivative(theta).detach().numpy().copy()]
    for ell in range(1, order + 1):
        derivative = jacrev(derivative)
        tensor = derivative(theta).detach().numpy()
        F.append(-(eta / math.factorial(ell)) * tensor.reshape(n, n**ell))
    return PolyMap(
        F=F, eta=float(eta), u0=np.zeros(n), name="taylor", info={"n": n, "order": order}
    )


def torch_model_taylor_map(
    model: Any,
    inputs: Any,
    targets: Any,
    eta: float,
    order: int = 2,
    loss: str = "mse",
    **kwargs: Any,
) -> PolyMap:
    """:func:`taylor_map` of a small torch model's mean loss (``"mse"`` or ``"cross_entropy"``)
    on fixed ``inputs``/``targets``, around its current parameters (flattened in
    ``named_parameters`` order; the model is evaluated in float64)."""
    import torch
    from torch.func import functional_call

    model = model.double()
    names = [name for name, _ in model.named_parameters()]
    shapes = [p.shape for _, p in model.named_parameters()]
    sizes = [p.numel() for _, p in model.named_parameters()]
    theta0 = torch.cat([p.detach().reshape(-1) for _, p in model.named_parameters()])
    inputs = torch.as_tensor(inputs, dtype=torch.float64)
    criterion = {
        "mse": torch.nn.functional.mse_loss,
        "cross_entropy": torch.nn.functional.cross_entropy,
    }[loss]
    if loss == "cross_entropy":
        targets = torch.as_tensor(targets, dtype=torch.long)
    else:
        targets = torch.as_tensor(targets, dtype=torch.float64)

    def flat_loss(theta: Any) -> Any:
        params = {
            name: chunk.reshape(shape)
            for name, chunk, shape in zip(names, torch.split(theta, sizes), shapes, strict=True)
        }
        return criterion(functional_call(model, params, (inputs,)), targets)

    out = taylor_map(flat_loss, theta0.numpy(), eta, order, **kwargs)
    return replace(out, name="torch_model", info={**out.info, "parameters": names})
