# Helpers shared by all rule files (paths, the final targets, figure outputs, config checks).
# No rules here.
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

import qtrain.run.config as qtrain_config  # noqa: E402 (stdlib only: fast, no torch)

# Every check the schema cannot express, once, before any job: the failure names the keys.
qtrain_config.check_config(config)

BENCH_TARGETS = []


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


# --- Hessian spectra, error proxy and linearized windows (workflow/rules/spectra.smk)


def spectrum_steps():
    """Checkpoint steps with a Hessian spectrum (qtrain.run.config.spectrum_steps)."""
    return qtrain_config.spectrum_steps(config)


def synthetic_archive():
    """A rehearsal's generated archive in CIFAR-100's format (data.synthetic; rule
    generate_synthetic_cifar100), which prepare_data reads; [] for real data."""
    if not config["data"]["synthetic"]:
        return []
    return qtrain_config.synthetic_archive_files(config["data"]["root"])


def prepared_dataset():
    """The dataset as prepare_data writes it, for the network rules to read back: digits only
    (rebuilding it imports scikit-learn, seconds per job); [] for CIFAR-100 (its own files).
    """
    return f"{RESULTS}/data/dataset.pt" if config["data"]["dataset"] == "digits" else []


def spectrum_file(variant, step, seed="{seed}"):
    """The spectrum of one checkpoint; the checkpoints before the first download are one model
    in every variant, computed once (qtrain.run.config.spectrum_variant)."""
    owner = qtrain_config.spectrum_variant(config, variant, step)
    return f"{run_dir(seed)}/spectra/{owner}/step_{int(step):05d}.npz"


def variant_spectra(variant, seed="{seed}"):
    """All spectrum files of one variant (step order)."""
    return [spectrum_file(variant, step, seed) for step in spectrum_steps()]


def claim_variants():
    """The variants whose error proxy claims C3 and C4 read, for every seed: continuous and
    sparse (the QRAM variant's spectra are drawn in Fig. 2a-b for the first seed only).
    """
    return qtrain_config.claim_variants(config)


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


# --- The cost model (workflow/rules/costs.smk)
COST_STAGE_RULES = {
    "classical_flops",
    "cost_measured_inputs",
    "cost_resnets",
    "cost_break_even",
    "cost_sensitivity",
    "cost_scaling",
    "cost_decomposition",
    "claims_costs",
    "plot_figS6",
    "plot_figS9",
    "plot_figS10",
}


def _cost_stage_target(target):
    """Whether a command-line target (file or rule name) belongs to the cost stage alone."""
    if target in COST_STAGE_RULES:
        return True
    path = os.path.normpath(str(target))
    figures = tuple(
        f"{RESULTS}/figures/{fig}" for fig in ("figS6.", "figS6_", "figS9.")
    )
    return (
        path.startswith(f"{RESULTS}/costs/")
        or path == f"{RESULTS}/claims/costs.csv"
        or path.startswith((*figures, f"{RESULTS}/figures/figS10"))
    )


def measured_spectrum_path():
    """The run's Hessian spectrum at step 0 (first variant, first seed)."""
    return spectrum_file(config["sparse_train"]["variants"][0], 0, SEED)


def measured_spectra_reason():
    """Why the cost model does or does not use the run's spectrum (quantum.resources.
    measured_spectra: true, false, or auto: the spectrum whenever the run builds the network
    pipeline, i.e. unless every target belongs to the cost stage). Called when jobs are built;
    a job of a cluster run (not the main process) follows whether the spectrum exists.
    """
    mode = config["quantum"]["resources"]["measured_spectra"]
    if mode is True:
        return ""
    if mode is False:
        return "measured_spectra: false"
    if not workflow.is_main_process:
        exists = os.path.exists(measured_spectrum_path())
        return "" if exists else "no spectrum in this run"
    targets = list(workflow.dag_settings.targets) if workflow.dag_settings else []
    if targets and all(_cost_stage_target(t) for t in targets):
        return "measured_spectra: auto, and only cost-stage targets were asked for (no training)"
    return ""


def measured_spectra_input():
    """The run's Hessian spectrum at step 0 when the cost model uses it (pulls in the network
    pipeline: pretrain, prune, sparse_train, spectrum); {} otherwise."""
    if measured_spectra_reason():
        return {}
    return {"spectrum": measured_spectrum_path()}


def measured_spectra_options():
    """What the measured-inputs table writes about the spectrum's origin (or its absence)."""
    m = config["model"]
    variant = config["sparse_train"]["variants"][0]
    return {
        "spectrum_model": f"ResNet-{m['depth']}-{m['widen']}",
        "spectrum_dataset": config["data"]["dataset"],
        "spectrum_source": (
            f"Hessian spectrum of ResNet-{m['depth']}-{m['widen']} on {config['data']['dataset']} "
            f"at step 0 ({PRESET} run, seed {SEED}, variant {variant})"
        ),
        "reason": measured_spectra_reason(),
    }


# --- Figures (workflow/rules/figures.smk): one rule plot_<id> per figure, all run by
# scripts/plot_figure.py through the registry qtrain.figures.registry. Id -> report category.
FIGURES = {
    "fig1": "Figure 1",
    "fig2a": "Figure 2",
    "fig2b": "Figure 2",
    "fig2c": "Figure 2",
    "fig3": "Figure 3",
    "figS1": "Carleman linearization",
    "figS2": "Carleman linearization",
    "figS3": "Carleman linearization",
    "figS4": "Quantum algorithm",
    "figS5": "Quantum algorithm",
    "figS6": "Quantum algorithm",
    "figS7": "Quantum algorithm",
    "figS8": "Error proxy check",
    "figS9": "Quantum algorithm",
    "figS10": "Quantum algorithm",
}


def figure_outputs(fig, tables=("table",)):
    """The outputs of plot_<fig>, the figure's rule. PDF, PNG (shown in the report with the
    caption workflow/report/<fig>.rst) and the CSV tables ``tables`` (``table`` is <fig>.csv,
    any other name <fig>_<name>.csv)."""
    outputs = {
        "pdf": f"{RESULTS}/figures/{fig}.pdf",
        "png": report(
            f"{RESULTS}/figures/{fig}.png",
            caption=f"../report/{fig}.rst",
            category=FIGURES[fig],
        ),
    }
    for name in tables:
        suffix = "" if name == "table" else f"_{name}"
        outputs[name] = f"{RESULTS}/figures/{fig}{suffix}.csv"
    return outputs


def figure_log(fig):
    """The log file of the figure rule plot_<fig>."""
    return f"{LOGS}/plot_{fig}/plot_{fig}.log"


def rule_names(*names):
    """``names``, each checked to be a rule of this workflow (call it when jobs are built, e.g.
    from a params function, so that every rule file has been read)."""
    missing = [name for name in names if not hasattr(rules, name)]
    if missing:
        raise ValueError(f"not rules of this workflow: {missing}")
    return list(names)


# --- The final targets, from the config (not from the order of the rule files).


def claim_tables():
    """The claim table of every stage (the rule `claims` assembles them)."""
    return [
        rules.claims_training.output.claims,
        rules.claims_spectra.output.claims,
        rules.claims_proxy.output.claims,
        rules.claims_carleman.output.claims,
        rules.claims_quantum.output.claims,
        rules.claims_costs.output.claims,
    ]


def result_targets():
    """Every final result but the claims and provenance tables: the data summary, the training
    stages of every seed, every figure with its tables."""
    st = config["sparse_train"]
    return [
        rules.prepare_data.output.summary,
        *expand(rules.pretrain.output.metrics, seed=SEEDS),
        *expand(rules.prune.output.sparsity, seed=SEEDS),
        *expand(rules.sparse_train.output.records, variant=st["variants"], seed=SEEDS),
        *(path for fig in FIGURES for path in getattr(rules, f"plot_{fig}").output),
    ]


def rehearsal_targets():
    """A rehearsal's own results (workflow/rules/rehearsal.smk): the memory table and the
    GPU-hour estimate; [] in every other preset."""
    if not config["rehearsal"]["enabled"]:
        return []
    return [rules.compare_memory.output.table, rules.estimate_gpu_hours.output.table]


def final_targets():
    """What `all` builds: every result, the claims table and the provenance summary (and a
    rehearsal's memory table and estimate)."""
    return [
        *result_targets(),
        rules.claims.output.csv,
        rules.provenance_summary.output.csv,
        *expand(rules.figure_page.output.html, fig=FIGURES),
        *rehearsal_targets(),
    ]


# --- GPUs, memory and time of the GPU rules (qtrain.run.resources; issue 14)
from qtrain.learning import arithmetic as qtrain_arithmetic  # noqa: E402
from qtrain.run import devices as qtrain_devices  # noqa: E402
from qtrain.run import hours as qtrain_hours  # noqa: E402
from qtrain.run import resources as qtrain_resources  # noqa: E402

# A local run uses each visible CUDA device for one GPU job at a time (0 devices: GPU rules run
# on the CPU). `--resources gpu=N` on the command line or QTRAIN_GPUS=N override the count;
# cluster executors (SLURM) are left alone: each job gets its own GPU there.
GPU_LIMIT = qtrain_devices.limit_local_gpus(workflow)


def gpu_mem_mb(rule):
    """Estimated GPU memory (MB) of a GPU rule under this config (qtrain.run.resources)."""
    return qtrain_resources.rule_gpu_mem_mb(rule, config)[0]


def host_mem_mb(rule):
    """Host memory (MB) of a GPU rule: the dataset in memory and model copies, with margin."""
    return qtrain_resources.rule_host_mem_mb(rule, config)


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
    """GPU memory (MB) of the largest GPU case of a bench rule (qtrain.run.resources).
    `kind`: train, hvp_eval, hvp_train, or hvp_reuse (every chunk's graph kept, plus one
    chunk being recomputed beside it, as bench_hvp does)."""
    need = 0
    for case in cases:
        stats = qtrain_arithmetic.resnet_stats(case["depth"], case["widen"])
        chunk = case.get("micro_batch") or case["batch"]
        if kind == "train":
            mb = qtrain_resources.train_memory_mb(stats, chunk)
        elif kind == "hvp_reuse":
            kept = -(-case["batch"] // chunk) + 1
            mb = qtrain_resources.hvp_memory_mb(stats, chunk, kept_graphs=kept)
        else:
            mb = qtrain_resources.hvp_memory_mb(
                stats, chunk, bn_mode=kind.split("_")[1]
            )
        need = max(need, mb)
    return int(need) + 1


if workflow.is_main_process:
    # This workflow's own profiles (profiles/slurm) are workflow profiles: with --profile,
    # profiles/default would silently take precedence over them (qtrain.run.profiles).
    from qtrain.run.profiles import profile_problem

    _profile_problem = profile_problem(
        sys.argv, os.environ, workflow.basedir, os.getcwd()
    )
    if _profile_problem:
        raise WorkflowError(_profile_problem)
    qtrain_hours.startup_report(
        config,
        GPU_LIMIT,
        cores=workflow.resource_settings.cores,
        gpus=qtrain_devices.run_gpus(workflow, GPU_LIMIT),
    )

# Results made with other settings are made again, and results edited after their rule wrote
# them stop the run, also where Snakemake's metadata is missing (copied results): each
# result's provenance record is compared before any job runs (qtrain.run.startup).
if workflow.is_main_process:
    from qtrain.run import startup as qtrain_startup

    qtrain_startup.install(workflow)
