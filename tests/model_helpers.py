"""Small models shared by the unit tests (not fixtures: plain constructors)."""

from __future__ import annotations

import torch
from torch import nn


def float64_resnet_with_random_bn(depth: int, seed: int = 0) -> nn.Module:
    """``cifar_resnet(depth, 1, 10, 3)`` in float64, seeded with ``seed``, with non-trivial
    BatchNorm affine parameters and running statistics (so that BN modes differ)."""
    from qtrain.learning.models import cifar_resnet

    torch.manual_seed(seed)
    model = cifar_resnet(depth, 1, 10, 3).double()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
    return model
