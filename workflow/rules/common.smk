# Helpers shared by all rule files (paths, target registration, config checks). No rules here.
import os
import sys

PRESET = config["preset"]
RESULTS = f"results/{PRESET}"
LOGS = f"logs/{PRESET}"
ENVS = os.path.join(workflow.basedir, "envs")

# Scripts import the library from src/ in any environment (project venv or conda envs).
_SRC = os.path.join(workflow.basedir, "src")
os.environ.update(
    PYTHONPATH=os.pathsep.join(p for p in (_SRC, os.environ.get("PYTHONPATH", "")) if p)
)
if _SRC not in sys.path:
    sys.path.insert(0, _SRC)

ALL_TARGETS = []
BENCH_TARGETS = []


def register_targets(*paths):
    """Add final outputs of a stage to the default target."""
    ALL_TARGETS.extend(paths)


def register_bench(*paths):
    """Add benchmark tables to the bench target (not part of the default target)."""
    BENCH_TARGETS.extend(paths)


def sparse_checkpoint_steps():
    """Steps at which sparse training saves model checkpoints (0 = the pruned start)."""
    st = config["sparse_train"]
    return list(range(0, st["steps"] + 1, st["checkpoint_every"]))


def sparse_checkpoints(variant):
    """Checkpoint files of one sparse-training variant."""
    return [
        f"{RESULTS}/sparse_train/{variant}/checkpoints/step_{step:05d}.pt"
        for step in sparse_checkpoint_steps()
    ]


def check_config(cfg):
    """Checks the JSON schema cannot express; fail before any job, naming the key."""
    data = cfg["data"]
    if data["dataset"] == "cifar100" and cfg["data"].get("crop_padding", 4) >= 32:
        raise ValueError(
            "config key data.crop_padding must be smaller than the image size 32"
        )
    st = cfg["sparse_train"]
    if st["checkpoint_every"] > st["steps"]:
        raise ValueError(
            "config key sparse_train.checkpoint_every must not exceed sparse_train.steps"
        )
    batch = cfg["pretrain"]["batch_size"]
    if data["dataset"] == "digits" and batch > 1437:
        raise ValueError(
            f"config key pretrain.batch_size = {batch} exceeds the digits training split (1437)"
        )


check_config(config)
