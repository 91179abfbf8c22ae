"""The CIFAR ResNet family of the authors' code (SPEC §2.1).

Stem: 3×3 conv (in_channels → 16·widen) + BN + ReLU; three stages of (depth − 2) / 6 blocks
with 16·widen, 32·widen, 64·widen planes and strides 1, 2, 2; BasicBlock for depth < 54,
Bottleneck (expansion 4) for depth ≥ 54; a 1×1 conv + BN shortcut where the shape changes;
global average pooling; a linear head. Convolutions have no bias; He-normal conv init, BN
weight 1 and bias 0.

With 100 classes, ``cifar_resnet(32, 4)`` has 7,451,044 parameters (the paper's "7 million"
model) and ``cifar_resnet(56, 11)`` has 103,703,700 (the "103 million" model).
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = [
    "HEAD_NAME",
    "BasicBlock",
    "Bottleneck",
    "CifarResNet",
    "blocks_per_stage",
    "cifar_resnet",
    "count_parameters",
]

HEAD_NAME = "fc"
"""Module name of the final linear head (never pruned)."""


def blocks_per_stage(depth: int) -> int:
    """Blocks in each of the three stages: (depth − 2) / 6; raises on an invalid depth."""
    if depth < 8 or (depth - 2) % 6 != 0:
        raise ValueError(
            f"ResNet depth must be 6k + 2 with k ≥ 1 (8, 14, 20, 26, 32, …), got {depth}"
        )
    return (depth - 2) // 6


class BasicBlock(nn.Module):
    """Two 3×3 convolutions with BN and a residual connection."""

    expansion = 1

    def __init__(self, in_planes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = _shortcut(in_planes, planes * self.expansion, stride)
        self.relu = nn.ReLU(inplace=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class Bottleneck(nn.Module):
    """1×1 → 3×3 → 1×1 convolutions (expansion 4) with BN and a residual connection."""

    expansion = 4

    def __init__(self, in_planes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * self.expansion, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.shortcut = _shortcut(in_planes, planes * self.expansion, stride)
        self.relu = nn.ReLU(inplace=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + self.shortcut(x))


def _shortcut(in_planes: int, out_planes: int, stride: int) -> nn.Module:
    if stride == 1 and in_planes == out_planes:
        return nn.Identity()
    return nn.Sequential(
        nn.Conv2d(in_planes, out_planes, 1, stride=stride, bias=False),
        nn.BatchNorm2d(out_planes),
    )


class CifarResNet(nn.Module):
    """A CIFAR-style ResNet of the given depth and width multiplier."""

    def __init__(self, depth: int, widen: int, num_classes: int = 100, in_channels: int = 3):
        super().__init__()
        if widen < 1:
            raise ValueError(f"widen must be a positive integer, got {widen}")
        if num_classes < 2:
            raise ValueError(f"num_classes must be at least 2, got {num_classes}")
        n_blocks = blocks_per_stage(depth)
        block: type[BasicBlock] | type[Bottleneck] = Bottleneck if depth >= 54 else BasicBlock
        self.depth, self.widen, self.num_classes = depth, widen, num_classes
        stem = 16 * widen
        self.conv1 = nn.Conv2d(in_channels, stem, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(stem)
        self.relu = nn.ReLU(inplace=False)
        in_planes = stem
        stages = []
        for planes, stride in ((16 * widen, 1), (32 * widen, 2), (64 * widen, 2)):
            blocks = []
            for i in range(n_blocks):
                blocks.append(block(in_planes, planes, stride if i == 0 else 1))
                in_planes = planes * block.expansion
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = stages
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_planes, num_classes)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """He-normal conv weights; BN weight 1, bias 0; PyTorch's default for the head."""
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.layer3(self.layer2(self.layer1(out)))
        return self.fc(torch.flatten(self.pool(out), 1))


def cifar_resnet(
    depth: int,
    widen: int,
    num_classes: int = 100,
    in_channels: int = 3,
    device: torch.device | str | None = None,
) -> CifarResNet:
    """Build a member of the family; ``device="meta"`` builds it without allocating weights."""
    if device is None:
        return CifarResNet(depth, widen, num_classes, in_channels)
    with torch.device(device):
        return CifarResNet(depth, widen, num_classes, in_channels)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters (works on the meta device)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def model_record(model: CifarResNet, in_channels: int) -> dict:
    """What rebuilds ``model``: its architecture and weights."""
    return {
        "arch": {
            "depth": model.depth,
            "widen": model.widen,
            "num_classes": model.num_classes,
            "in_channels": in_channels,
        },
        "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }


def load_model(path, config=None, map_location="cpu") -> CifarResNet:
    """Rebuild a model saved with :func:`model_record` (checked against ``config`` if given)."""
    from qtrain.run.checkpoints import load_checkpoint

    state = load_checkpoint(path, config, map_location=map_location)
    model = cifar_resnet(**state["arch"])
    model.load_state_dict(state["model"])
    return model
