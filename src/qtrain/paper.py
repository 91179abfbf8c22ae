"""The paper's facts, stated once (standard library only).

Liu et al., "Towards provably efficient quantum algorithms for large-scale machine-learning
models", Nat. Commun. 15, 434 (2024): the two CIFAR-100 ResNets of its numerics, the pruning
fraction, the window length, the batch and the learning rate of sparse training (SPEC §2).
The parameter counts are exact for the CIFAR ResNet family of the authors' code with 100
classes (tests/test_models.py builds both networks and asserts them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "BATCH",
    "CLASSES",
    "FLOPS_PER_SAMPLE",
    "KEEP_FRACTION",
    "LEARNING_RATE",
    "RESNETS",
    "RESNET_SIZES",
    "TOTAL_STEPS",
    "WINDOW_STEPS",
    "PaperModel",
]


@dataclass(frozen=True)
class PaperModel:
    """One of the paper's ResNets: depth, widen factor, classes and exact parameter count."""

    depth: int
    widen: int
    parameters: int
    classes: int = 100

    @property
    def key(self) -> str:
        """``resnet<depth>_<widen>``: the name in every cost table."""
        return f"resnet{self.depth}_{self.widen}"

    @property
    def label(self) -> str:
        """``ResNet-<depth>-<widen>``."""
        return f"ResNet-{self.depth}-{self.widen}"

    @property
    def qubits(self) -> int:
        """Qubits of a register indexing the parameters, ⌈log₂ n⌉."""
        return math.ceil(math.log2(self.parameters))


#: The "7 million" and "103 million" models of the paper (100 classes).
RESNETS = (PaperModel(32, 4, 7_451_044), PaperModel(56, 11, 103_703_700))
#: Their sizes by key (the cost model's n).
RESNET_SIZES = {m.key: m.parameters for m in RESNETS}
#: FLOPs of forward + backward per 32×32 training sample (matmuls and convolutions, 2 per
#: multiply-add), as counted by torch's FlopCounterMode (qtrain.learning.flops; re-counted by
#: tests/test_flops.py): the classical side of ``qtrain-cost --params`` without a model.
FLOPS_PER_SAMPLE = {"resnet32_4": 6_600_677_376, "resnet56_11": 92_134_361_088}
#: Classes of CIFAR-100.
CLASSES = 100
#: Share of the prunable weights kept after pruning and after each download.
KEEP_FRACTION = 0.1
#: Steps of one quantum window (between uploads).
WINDOW_STEPS = 100
#: Steps of the sparse-training run of Fig. 2.
TOTAL_STEPS = 400
#: Training samples per SGD step.
BATCH = 2048
#: Learning rate of sparse training (the authors' code).
LEARNING_RATE = 0.01
