"""How long a preset will take on CPU cores, estimated when the workflow starts.

The estimate is a recorded run scaled to the config: ``cpu_reference.json`` (package data) holds
the CPU seconds (user + system) of every job of one run of a reference config, measured per job
by a probe (``qtrain/cpu_probe/sitecustomize.py``) and summed per rule, with the machine it ran
on and the config it ran. For another config:

- the network rules (pretraining, sparse training, spectra, linearized windows) scale with their
  work: samples × forward FLOPs of the model (:func:`rule_work`), beyond a fixed start-up cost
  per job (``network_startup_seconds``: the CPU time of importing what such a job imports,
  measured with the record);
- rules run once per training seed and variant scale with their job count;
- every other rule (Carleman, quantum, costs, figures, claims) is taken as recorded, and the
  config sections those rules read are compared with the record's: where they differ the
  estimate says so instead of guessing.

Record a new reference with ``python -m qtrain.run.estimate record WORKDIR CONFIGFILE`` (runs the
whole workflow in WORKDIR with the probe). Standard library only (the estimate runs in the
Snakefile, before any job).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..learning.arithmetic import model_stats
from .config import claim_variants, seed_count, spectrum_jobs
from .devices import machine_description
from .resources import GPU_RULES

__all__ = [
    "REFERENCE",
    "Estimate",
    "estimate",
    "format_duration",
    "format_estimate",
    "full_config",
    "load_reference",
    "record_reference",
    "rule_jobs",
    "rule_work",
    "startup_cpu_seconds",
    "summarize_probe",
]

REFERENCE = Path(__file__).with_name("cpu_reference.json")
DIGITS_IMAGES = 1797
#: Config sections read by the rules taken as recorded (their settings are compared).
UNSCALED_SECTIONS = ("carleman", "quantum", "proxy_check")
#: Rules whose job count follows the seeds and variants but whose work per job does not.
PER_RUN_RULES = ("prune", "prune_large", "error_proxy")


def _seeds(cfg: Mapping[str, Any]) -> int:
    return seed_count(cfg)


def _split(data: Mapping[str, Any]) -> tuple[int, int]:
    """(training images, test images) of the config's dataset."""
    if data["dataset"] == "digits":
        test = math.ceil(DIGITS_IMAGES * float(data.get("test_fraction", 0.2)))
        return DIGITS_IMAGES - test, test
    return 50_000, 10_000


def rule_jobs(cfg: Mapping[str, Any]) -> dict[str, int]:
    """Jobs per rule of the rules whose count follows the config (network pipeline): every
    training seed trains every variant; the extra seeds compute the spectra and error proxy of
    :func:`~qtrain.run.config.claim_variants` only, and the linearized windows run for the first
    seed only."""
    seeds, st = _seeds(cfg), cfg["sparse_train"]
    lin = cfg.get("linearized", {})
    return {
        "pretrain": seeds,
        "pretrain_large": seeds,
        "prune": seeds,
        "prune_large": seeds,
        "sparse_train": seeds * len(st["variants"]),
        "error_proxy": len(st["variants"]) + (seeds - 1) * len(claim_variants(cfg)),
        "spectrum": spectrum_jobs(cfg),
        "spectrum_large": seeds,
        "linearized_window": len(lin.get("windows", [])) * len(lin.get("lr_scales", [1.0])),
    }


def rule_work(cfg: Mapping[str, Any]) -> dict[str, float]:
    """Work of each network rule, in sample × forward-FLOP units (proportional to its compute:
    only ratios between configs are used). Evaluations count a third of a training step."""
    data, seeds = cfg["data"], _seeds(cfg)
    main = model_stats(cfg["model"], data).forward_flops
    large = model_stats(cfg["large_model"], data).forward_flops
    n_train, n_test = _split(data)
    accuracy = int(data.get("accuracy_subset") or 0) or n_train
    pre, st, sp = cfg["pretrain"], cfg["sparse_train"], cfg["spectra"]
    lin = cfg.get("linearized", {})
    per_epoch = n_train + (accuracy + n_test) / 3
    steps = st["steps"]
    per_variant = (
        steps * st["batch_size"]
        + steps / max(int(st.get("train_accuracy_every", 1)), 1) * accuracy / 3
        + steps / max(int(st.get("test_accuracy_every", 10)), 1) * n_test / 3
    )
    per_spectrum = (sp["bounds_steps"] + sp["probes"] * sp["lanczos_steps"]) * data["hessian_batch"]
    jobs = rule_jobs(cfg)
    window = st["window_steps"] * st["batch_size"] * 2  # a real step and an HVP step
    return {
        "pretrain": seeds * pre["epochs"] * per_epoch * main,
        "pretrain_large": seeds * cfg["large_model"]["epochs"] * per_epoch * large,
        "sparse_train": jobs["sparse_train"] * per_variant * main,
        "spectrum": jobs["spectrum"] * per_spectrum * main,
        "spectrum_large": seeds * per_spectrum * large,
        "linearized_window": jobs["linearized_window"] * window * main if lin else 0.0,
    }


#: What a network job imports before it computes anything (its start-up CPU cost).
STARTUP_IMPORTS = (
    "import torch, numpy, pandas, qtrain.run.files, qtrain.learning.sparse_training, "
    "qtrain.spectra.lanczos"
)


def startup_cpu_seconds(repeats: int = 3) -> float:
    """CPU seconds (user + system) of a Python process that imports what a network job
    imports and exits: the least of ``repeats`` runs."""
    import resource

    times = []
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([sys.executable, "-c", STARTUP_IMPORTS], check=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        times.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return round(min(times), 2)


def load_reference(path: str | os.PathLike = REFERENCE) -> dict[str, Any]:
    """The recorded run: ``machine``, ``preset``, ``recorded``, ``config`` and ``rules``
    (rule → ``{"jobs": n, "cpu_seconds": s}``)."""
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


@dataclass(frozen=True)
class Estimate:
    """CPU seconds per rule of a config, and what the estimate could not scale."""

    seconds: dict[str, float]
    differing_sections: tuple[str, ...]
    reference: str
    """The recorded run, in words (preset, machine)."""

    @property
    def total(self) -> float:
        return sum(self.seconds.values())

    def of(self, rules: tuple[str, ...]) -> float:
        """CPU seconds of ``rules`` together."""
        return sum(self.seconds.get(r, 0.0) for r in rules)


def estimate(cfg: Mapping[str, Any], reference: Mapping[str, Any] | None = None) -> Estimate:
    """CPU seconds per rule for ``cfg``, scaled from ``reference`` (:func:`load_reference`)."""
    reference = load_reference() if reference is None else reference
    ref_cfg, rules = reference["config"], reference["rules"]
    overhead = reference.get("network_startup_seconds") or min(
        r["cpu_seconds"] / r["jobs"] for r in rules.values() if r["jobs"]
    )
    work, ref_work = rule_work(cfg), rule_work(ref_cfg)
    jobs, ref_jobs = rule_jobs(cfg), rule_jobs(ref_cfg)
    seconds = {}
    for rule, rec in rules.items():
        cpu, n = float(rec["cpu_seconds"]), int(rec["jobs"])
        if rule in work and ref_work.get(rule):
            compute = max(cpu - n * overhead, 0.0) * work[rule] / ref_work[rule]
            seconds[rule] = jobs[rule] * overhead + compute
        elif rule in jobs and ref_jobs.get(rule):
            seconds[rule] = cpu * jobs[rule] / ref_jobs[rule]
        else:
            seconds[rule] = cpu
    for rule in jobs:  # a rule the record did not run (e.g. no linearized windows there)
        if rule not in seconds and jobs[rule]:
            seconds[rule] = jobs[rule] * overhead
    differing = tuple(s for s in UNSCALED_SECTIONS if cfg.get(s) != ref_cfg.get(s))
    where = f"the {reference['preset']} preset on {reference['machine']}"
    return Estimate(seconds, differing, where)


def format_duration(seconds: float) -> str:
    """``12 min``, ``3.4 h`` or ``45,602 h``."""
    if seconds < 90 * 60:
        return f"{max(seconds / 60, 1):.0f} min"
    hours = seconds / 3600
    return f"{hours:.1f} h" if hours < 100 else f"{hours:,.0f} h"


def format_estimate(est: Estimate, cores: int | None, gpu_rules_on_gpu: bool = False) -> str:
    """One line for the start of a run: CPU time of the jobs and the wall time on ``cores``
    (the GPU rules left out when they run on GPUs, where the GPU-hour estimate covers them)."""
    rules = [r for r in est.seconds if not (gpu_rules_on_gpu and r in GPU_RULES)]
    total = sum(est.seconds[r] for r in rules)
    what = "CPU jobs (GPU rules not counted)" if gpu_rules_on_gpu else "jobs"
    plural = "s" if cores != 1 else ""
    wall = f", about {format_duration(total / cores)} on {cores} core{plural}" if cores else ""
    caveat = (
        f"; the {' and '.join(est.differing_sections)} settings differ from the record's, so "
        "those stages are shown at the record's sizes (larger settings take longer)"
        if est.differing_sections
        else ""
    )
    return (
        f"Estimated time of the whole workflow from scratch (rough): {format_duration(total)} of "
        f"CPU time for the {what}{wall}; "
        f"scaled from the per-job CPU seconds of a run of {est.reference}{caveat}."
    )


def full_config(*paths: str | os.PathLike) -> dict[str, Any]:
    """The config files merged over each other as the workflow sees them: strings coerced and
    the schema's defaults filled in (Snakemake's ``validate``; outside the Snakefile)."""
    from snakemake.utils import validate

    from .config import coerce_config_types
    from .config_files import load_schema, read_merged_config

    schema = Path(__file__).resolve().parents[3] / "workflow/schemas/config.schema.yaml"
    cfg = read_merged_config(*paths)
    coerce_config_types(cfg, load_schema(schema))
    validate(cfg, str(schema), set_default=True)
    return cfg


def summarize_probe(path: str | os.PathLike) -> dict[str, dict[str, float]]:
    """Per rule, the jobs and their summed CPU seconds, from the probe's log (a JSON line per
    job), sorted by rule."""
    rules: dict[str, dict[str, float]] = {}
    for line in Path(path).read_text().splitlines():
        job = json.loads(line)
        entry = rules.setdefault(job["rule"], {"jobs": 0, "cpu_seconds": 0.0})
        entry["jobs"] += 1
        entry["cpu_seconds"] = round(entry["cpu_seconds"] + job["cpu_seconds"], 2)
    return dict(sorted(rules.items()))


def record_reference(
    workdir: str | os.PathLike,
    configfile: str,
    out: str | os.PathLike = REFERENCE,
    cores: int = 2,
    snakefile: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """Run the whole workflow on ``configfile`` in ``workdir`` with the CPU probe and write the
    per-rule CPU seconds, the machine and the merged config to ``out``."""
    repo = Path(__file__).resolve().parents[3]
    workdir = Path(workdir)
    log = workdir / "cpu_probe.jsonl"
    log.unlink(missing_ok=True)
    probe = Path(__file__).with_name("cpu_probe")
    env = dict(
        os.environ,
        QTRAIN_CPU_PROBE=str(log),
        PYTHONPATH=os.pathsep.join(p for p in (str(probe), os.environ.get("PYTHONPATH")) if p),
    )
    command = [
        str(Path(sys.executable).parent / "snakemake"),
        "--forceall", "--cores", str(cores),
        "-s", str(snakefile or repo / "Snakefile"), "--configfile", configfile,
    ]  # fmt: skip
    subprocess.run(command, cwd=workdir, env=env, check=True)
    rules = summarize_probe(log)
    config = full_config(workdir / "config/config.yaml", workdir / configfile)
    record = {
        "preset": config["preset"],
        "machine": machine_description(),
        "recorded": time.strftime("%Y-%m-%d"),
        "command": f"snakemake --forceall --cores {cores} --configfile {configfile} (with the "
        "CPU probe)",
        "note": "CPU seconds (user + system, the job and its children) per rule, summed over "
        "its jobs, measured by qtrain/cpu_probe while the whole workflow ran",
        "network_startup_seconds": startup_cpu_seconds(),
        "rules": rules,
        "config": config,
    }
    Path(out).write_text(json.dumps(record, indent=1, sort_keys=False) + "\n")
    return record


def main(argv: list[str] | None = None) -> int:
    """``python -m qtrain.run.estimate record WORKDIR CONFIGFILE [OUT]``: record a reference run
    (WORKDIR holds a copy of config/ and CONFIGFILE); ``python -m qtrain.run.estimate CONFIGFILE
    ...``: print the estimate for config/config.yaml with these files merged over it."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["record"] and len(args) in (3, 4):
        record_reference(args[1], args[2], *(args[3:]))
        return 0
    repo = Path(__file__).resolve().parents[3]
    cfg = full_config(repo / "config/config.yaml", *args)
    print(format_estimate(estimate(cfg), os.cpu_count()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
