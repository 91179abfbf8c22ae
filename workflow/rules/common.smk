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

import qtrain.config as qtrain_config  # noqa: E402 (stdlib only: fast, no torch)

ALL_TARGETS = []
BENCH_TARGETS = []


def register_targets(*paths):
    """Add final outputs of a stage to the default target."""
    ALL_TARGETS.extend(paths)


def register_bench(*paths):
    """Add benchmark tables to the bench target (not part of the default target)."""
    BENCH_TARGETS.extend(paths)


# --- The network pipeline runs once per training seed (SPEC §3: the spread of the replicates
# is the noise verdicts are measured against). Seed s writes under results/<preset>/seed_<s>/;
# figures show the first (the config's `seed`), claims read them all.
SEED_STRIDE = 1000
SEED = config["seed"]
SEEDS = [SEED + k * SEED_STRIDE for k in range(1 + config["noise"]["extra_seeds"])]
RUN = f"{RESULTS}/seed_{{seed}}"


wildcard_constraints:
    seed=r"\d+",
    variant="continuous|sparse|qram",


def run_dir(seed):
    """The result tree of the network pipeline for one training seed."""
    return f"{RESULTS}/seed_{seed}"


def sparse_checkpoint_steps():
    """Steps at which sparse training saves model checkpoints (0 = the pruned start)."""
    st = config["sparse_train"]
    return list(range(0, st["steps"] + 1, st["checkpoint_every"]))


def sparse_checkpoints(variant, seed="{seed}"):
    """Checkpoint files of one sparse-training variant."""
    return [
        f"{run_dir(seed)}/sparse_train/{variant}/checkpoints/step_{step:05d}.pt"
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


# --- Hessian spectra, error proxy and linearized windows (workflow/rules/spectra.smk)


def spectrum_steps():
    """Checkpoint steps with a Hessian spectrum: every `spectra.every`-th checkpoint."""
    return sparse_checkpoint_steps()[:: config["spectra"]["every"]]


def spectrum_file(variant, step, seed="{seed}"):
    """The spectrum of one checkpoint. Every variant trains the same way on the same batches
    until the first download (after step `window_steps`), so the checkpoints before it are
    the same model in every variant: their spectra are computed once, under the first variant.
    """
    if int(step) < config["sparse_train"]["window_steps"]:
        variant = config["sparse_train"]["variants"][0]
    return f"{run_dir(seed)}/spectra/{variant}/step_{int(step):05d}.npz"


def variant_spectra(variant, seed="{seed}"):
    """All spectrum files of one variant (step order)."""
    return [spectrum_file(variant, step, seed) for step in spectrum_steps()]


def linearized_start(window):
    """First step (a checkpoint) of a linearized window: θ̄ is the checkpoint saved there."""
    return int(window) * config["sparse_train"]["window_steps"]


def linearized_checkpoints(window, seed):
    """The checkpoints inside a linearized window, its start included (to check the replay)."""
    start = linearized_start(window)
    stop = start + config["sparse_train"]["window_steps"]
    variant = config["linearized"]["variant"]
    return [
        f"{run_dir(seed)}/sparse_train/{variant}/checkpoints/step_{step:05d}.pt"
        for step in sparse_checkpoint_steps()
        if start <= step < stop
    ]


def linearized_settings():
    """(window, lr scale) pairs of the linearized windows (claim C13 across settings)."""
    lin = config["linearized"]
    return [(w, s) for w in lin["windows"] for s in lin["lr_scales"]]


def check_spectra_config(cfg):
    """Checks of the spectra / linearized sections the schema cannot express."""
    st, lin = cfg["sparse_train"], cfg["linearized"]
    if lin["windows"] and lin["variant"] not in st["variants"]:
        raise ValueError(
            f"config key linearized.variant = {lin['variant']} is not among "
            f"sparse_train.variants {st['variants']}"
        )
    if lin["windows"] and st.get("momentum", 0.0) != 0:
        raise ValueError(
            "config key linearized.windows needs sparse_train.momentum = 0 (a GD map); "
            "set linearized.windows: [] to skip the linearized windows"
        )
    for window in lin["windows"]:
        start = window * st["window_steps"]
        if start >= st["steps"] or start % st["checkpoint_every"]:
            raise ValueError(
                f"config key linearized.windows: window {window} starts at step {start}, "
                f"which is not a checkpoint step below sparse_train.steps = {st['steps']} "
                f"(checkpoints every {st['checkpoint_every']} steps)"
            )


check_spectra_config(config)
qtrain_config.check_config(config)


# --- GPUs, memory and time of the GPU rules (qtrain.gpu; issue 14)
from qtrain import gpu as qtrain_gpu

# A local run uses each visible CUDA device for one GPU job at a time (0 devices: GPU rules run
# on the CPU). `--resources gpu=N` on the command line or QTRAIN_GPUS=N override the count;
# cluster executors (SLURM) are left alone: each job gets its own GPU there.
GPU_LIMIT = qtrain_gpu.limit_local_gpus(workflow)


def gpu_mem_mb(rule):
    """Estimated GPU memory (MB) of a GPU rule under this config (qtrain.gpu memory model)."""
    return qtrain_gpu.rule_gpu_mem_mb(rule, config)[0]


def host_mem_mb(rule):
    """Host memory (MB) of a GPU rule: the dataset in memory and model copies, with margin."""
    return qtrain_gpu.rule_host_mem_mb(rule, config)


def pretrain_params(large=False):
    """The `pretrain` section as the pretraining script gets it (and digests for resuming): the
    large model's epochs and accumulation chunk; `micro_batch` only when set (0 changes
    nothing, so it leaves the digest of earlier runs as it was)."""
    section = dict(config["pretrain"])
    if large:
        section["epochs"] = config["large_model"]["epochs"]
        section["micro_batch"] = config["large_model"]["pretrain_micro_batch"]
    if not section.get("micro_batch"):
        section.pop("micro_batch", None)
    return section


def bench_gpu_mem_mb(cases, kind="hvp_eval"):
    """GPU memory (MB) of the largest GPU case of a bench rule (qtrain.gpu memory model).
    `kind`: train, hvp_eval, hvp_train, or hvp_reuse (every chunk's graph kept, plus one
    chunk being recomputed beside it, as bench_hvp does)."""
    need = 0
    for case in cases:
        stats = qtrain_gpu.resnet_stats(case["depth"], case["widen"])
        chunk = case.get("micro_batch") or case["batch"]
        if kind == "train":
            mb = qtrain_gpu.train_memory_mb(stats, chunk)
        elif kind == "hvp_reuse":
            kept = -(-case["batch"] // chunk) + 1
            mb = qtrain_gpu.hvp_memory_mb(stats, chunk, kept_graphs=kept)
        else:
            mb = qtrain_gpu.hvp_memory_mb(stats, chunk, bn_mode=kind.split("_")[1])
        need = max(need, mb)
    return int(need) + 1


if workflow.is_main_process:
    qtrain_gpu.startup_report(config, GPU_LIMIT)
