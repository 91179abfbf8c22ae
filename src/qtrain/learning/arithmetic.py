"""The CIFAR ResNet arithmetic in closed form, stated once: parameters, multiply-accumulates and
activation elements per image of :func:`qtrain.learning.models.cifar_resnet` (tests check it
against the torch model). Standard library only: the workflow sizes jobs with it at start-up."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ResNetStats",
    "data_shape",
    "model_stats",
    "resnet_stats",
]


@dataclass(frozen=True)
class ResNetStats:
    """Per-image sizes of one CIFAR ResNet (closed form, :func:`resnet_stats`)."""

    depth: int
    widen: int
    parameters: int
    macs: int
    """Multiply-accumulates of one forward pass of one image (convolutions and the head)."""
    activations: int
    """Elements of all convolution outputs of one image (each feeds a BN, most a ReLU)."""

    @property
    def name(self) -> str:
        return f"ResNet-{self.depth}-{self.widen}"

    @property
    def forward_flops(self) -> float:
        """FLOPs of one forward pass of one image (2 per multiply-accumulate)."""
        return 2.0 * self.macs


def _conv_out(size: int, stride: int, kernel: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


def resnet_stats(
    depth: int, widen: int, num_classes: int = 100, in_channels: int = 3, image_size: int = 32
) -> ResNetStats:
    """Parameters, MACs and activation elements per image of ``cifar_resnet(depth, widen)``."""
    if depth < 8 or (depth - 2) % 6:
        raise ValueError(f"ResNet depth must be 6k + 2 with k >= 1, got {depth}")
    n_blocks = (depth - 2) // 6
    bottleneck = depth >= 54
    expansion = 4 if bottleneck else 1
    params = macs = acts = 0

    def conv(c_in: int, c_out: int, kernel: int, stride: int, size: int) -> int:
        nonlocal params, macs, acts
        out = _conv_out(size, stride, kernel, kernel // 2)
        params += c_out * c_in * kernel * kernel + 2 * c_out  # the weight and its BN
        macs += c_out * c_in * kernel * kernel * out * out
        acts += c_out * out * out
        return out

    stem = 16 * widen
    size = conv(in_channels, stem, 3, 1, image_size)
    in_planes = stem
    for stage, stage_stride in enumerate((1, 2, 2)):
        planes = 16 * widen * 2**stage
        for i in range(n_blocks):
            stride = stage_stride if i == 0 else 1
            if bottleneck:
                conv(in_planes, planes, 1, 1, size)
                out = conv(planes, planes, 3, stride, size)
                conv(planes, planes * expansion, 1, 1, out)
            else:
                out = conv(in_planes, planes, 3, stride, size)
                conv(planes, planes, 3, 1, out)
            if stride != 1 or in_planes != planes * expansion:
                conv(in_planes, planes * expansion, 1, stride, size)
            size, in_planes = out, planes * expansion
    params += (in_planes + 1) * num_classes
    macs += in_planes * num_classes
    return ResNetStats(depth, widen, params, macs, acts)


def data_shape(data: Mapping[str, Any]) -> tuple[int, int, int]:
    """``(classes, channels, image size)`` of a ``data`` config section's dataset."""
    if data["dataset"] == "digits":
        return 10, 1, 8
    return 100, 3, 32  # cifar100 and the CIFAR-shaped synthetic set


def model_stats(section: Mapping[str, Any], data: Mapping[str, Any]) -> ResNetStats:
    """:func:`resnet_stats` of a ``model`` / ``large_model`` config section on ``data``."""
    classes, channels, size = data_shape(data)
    return resnet_stats(int(section["depth"]), int(section["widen"]), classes, channels, size)
