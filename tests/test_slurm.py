"""The workflow on a real SLURM cluster through Snakemake's SLURM executor and profiles/slurm/.

The cluster, its options and the profile copy are in tests/slurm_cluster.py. The whole run
through SLURM (the tiny preset with master seed 1) is one of the session's background runs
(workflow_helpers.WHOLE_RUNS, `slurm_run`), started when the tests are chosen: it mostly waits
for the executor's status polls, and the other tests run meanwhile. Where the cluster cannot
start (no root, no `slurm-wlm` / `munge`), the tests that need it are skipped, saying why.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
import yaml
from slurm_cluster import (
    CPU_PARTITION,
    GPU_PARTITION,
    PROFILE,
    Cluster,
    rule_of,
    session_cluster,
    site_profile,
    slurm_jobs,
    slurm_options,
)
from tiers import require_e2e
from workflow_helpers import (
    REPO,
    SNAKEMAKE,
    TINY,
    compare_results,
    output_of,
    result_files,
    start_snakemake,
    wait_for,
    why_slurm_cannot_start,
)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory) -> Cluster:
    """The session's SLURM cluster (started by the SLURM run, or here if that did not run)."""
    require_e2e("starts the SLURM test cluster")
    reason = why_slurm_cannot_start()
    if reason:
        pytest.skip(reason)
    try:
        return session_cluster(tmp_path_factory.getbasetemp() / "slurm_cluster")
    except RuntimeError as error:
        pytest.fail(str(error))


@pytest.fixture(scope="module")
def clean_run(tiny_run) -> Path:
    return tiny_run.root


# --- the profile, statically -------------------------------------------------------------------


def local_rules() -> set[str]:
    """The workflow's `localrules:` (the Snakefile's directive)."""
    text = (REPO / "Snakefile").read_text()
    block = re.search(r"^localrules:\n((?:[ \t]+\w+,?\n)+)", text, re.MULTILINE)
    assert block, "the Snakefile has no localrules: directive"
    return set(re.findall(r"\w+", block.group(1)))


def _rules() -> dict[str, str]:
    """Every rule of the workflow: name -> its source block."""
    blocks = {}
    for path in [REPO / "Snakefile", *sorted((REPO / "workflow/rules").glob("*.smk"))]:
        text = path.read_text()
        for match in re.finditer(r"^rule (\w+):\n((?:[ \t]+.*\n|\n)*)", text, re.MULTILINE):
            blocks[match.group(1)] = match.group(2)
    return blocks


def test_profile_names_real_rules_and_sends_every_gpu_rule_to_a_gpu():
    profile = yaml.safe_load(PROFILE.read_text())
    rules = _rules()
    assert len(rules) > 30 and "sparse_train" in rules
    per_rule = profile["set-resources"]
    unknown = sorted(set(per_rule) - set(rules))
    assert not unknown, f"profiles/slurm names rules that do not exist: {unknown}"
    gpu_rules = sorted(name for name, block in rules.items() if re.search(r"\bgpu=1\b", block))
    assert {"pretrain", "prune", "prune_large", "sparse_train", "spectrum"} <= set(gpu_rules)
    for name in gpu_rules:
        assert name in per_rule, f"GPU rule {name} has no resources in profiles/slurm"
        assert per_rule[name].get("slurm_partition") == "gpu", name
    for name, resources in per_rule.items():
        if name not in gpu_rules:
            assert resources.get("slurm_partition", "cpu") == "cpu", f"{name} needs no GPU"
        assert {"mem_mb", "runtime"} <= set(resources), name
        for key in ("mem_mb", "runtime"):  # retries get more: scaled by the attempt
            assert "attempt" in str(resources[key]), (name, key)
    assert profile["retries"] >= 1
    defaults = profile["default-resources"]
    assert {"slurm_partition", "mem_mb", "runtime"} <= set(defaults)


def test_profile_options_are_snakemake_options():
    """Every key of the profile is a command-line option of this Snakemake and its SLURM plugin
    (a misspelled key would otherwise be a silent no-op or a late error)."""
    help_text = subprocess.run(
        [SNAKEMAKE, "--help"], capture_output=True, text=True, timeout=120
    ).stdout
    options = set(re.findall(r"--([a-z][a-z0-9-]+)", help_text))
    assert "slurm-status-command" in options
    profile = yaml.safe_load(PROFILE.read_text())
    assert not sorted(set(profile) - options)
    # and the commented-out option the docs point to for clusters without accounting
    assert "slurm-status-command: squeue" in PROFILE.read_text()


def test_dry_run_with_the_profile_gives_each_job_its_partition_and_resources():
    """The paper preset, planned with the profile: GPU jobs to the GPU partition with one GPU,
    every job with memory and a time limit from the profile."""
    result = subprocess.run(
        [SNAKEMAKE, "-n", "--forceall", "--workflow-profile", "profiles/slurm"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = output_of(result)
    assert result.returncode == 0, out[-3000:]
    per_rule = yaml.safe_load(PROFILE.read_text())["set-resources"]
    jobs = re.findall(r"^rule (\w+):\n(?:    .*\n)*?    resources: (.*)$", out, re.MULTILINE)
    assert len(jobs) > 30, out[-3000:]
    for rule, line in jobs:
        resources = dict(item.split("=", 1) for item in line.split(", "))
        assert "mem_mb" in resources and "runtime" in resources, (rule, line)
        expected = per_rule.get(rule, {}).get("slurm_partition", "cpu")
        assert resources["slurm_partition"] == expected, (rule, line)
        assert (resources.get("gpu") == "1") == (expected == "gpu"), (rule, line)
        if rule in per_rule:
            mem = int(str(per_rule[rule]["mem_mb"]).split("*")[0])
            assert int(resources["mem_mb"]) == mem, (rule, line)  # attempt 1


# --- on the cluster ----------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.e2e
def test_tiny_preset_through_slurm_matches_a_local_run(cluster, slurm_run, seed1_run):
    """The whole workflow on the tiny preset through `--executor slurm` (from the profile): every
    job of a rule that is not a `localrules:` rule runs as a SLURM job, GPU rules on the GPU
    partition with one GPU, the local rules in the Snakemake process, and the tables and arrays
    equal those of a local run of the same config. The config is the tiny preset with master
    seed 1, so that the local run compared with is the one tests/test_verdicts.py compares with
    the shared run (seed 0): one whole run fewer, no assertion fewer."""
    work, out = slurm_run.root, slurm_run.output
    assert slurm_run.returncode == 0, out[-5000:] + cluster.logs()

    jobs = [job for job in slurm_jobs(cluster) if job.get("WorkDir") == str(work)]
    submitted = len(re.findall(r"has been submitted with SLURM jobid", out))
    assert submitted == len(jobs) > 20, (submitted, len(jobs))
    assert {job["JobState"] for job in jobs} == {"COMPLETED"}
    per_rule = yaml.safe_load(PROFILE.read_text())["set-resources"]
    gpu_rules = {name for name, block in _rules().items() if re.search(r"\bgpu=1\b", block)}
    seen = set()
    for job in jobs:
        rule = rule_of(job)
        seen.add(rule)
        gres = job.get("TresPerJob", "") + job.get("TresPerNode", "")
        if rule in gpu_rules:
            assert job["Partition"] == GPU_PARTITION and "gpu:1" in gres, job
        else:
            assert job["Partition"] == CPU_PARTITION and "gpu" not in gres, job
        if rule in per_rule:
            mem = int(str(per_rule[rule]["mem_mb"]).split("*")[0])
            assert job["MinMemoryNode"] == f"{mem}M", job
    assert seen & gpu_rules >= {"pretrain", "sparse_train", "spectrum"}, seen
    # the small rules ran in the Snakemake process, every other rule of the run as a SLURM job
    local = set(re.findall(r"^localrule (\w+):", out, re.MULTILINE))
    assert local and local <= local_rules() and not seen & local_rules(), (local, seen)
    assert {"figure_page", "claims", "plot_fig1"} <= local
    ran = {p.name for p in (work / "logs" / TINY).iterdir() if p.is_dir()}
    assert ran == (seen | local) - {"all"}, ran ^ (seen | local)  # `all` writes no log

    assert len(result_files(work)) >= 20
    assert seed1_run.returncode == 0, seed1_run.output[-4000:]
    problems = compare_results(seed1_run.root, work)
    assert not problems, "\n".join(problems)
    print(f"tiny preset through SLURM: {len(jobs)} jobs in {slurm_run.seconds:.0f} s")


@pytest.mark.slow
@pytest.mark.e2e
def test_cancelled_job_is_retried_with_more_memory_and_resumes(cluster, clean_run, tmp_path):
    """`scancel` a running training job (as a preemption or node failure would end it): the
    profile's retries submit it again with twice the memory and time, it resumes from its
    checkpoint, and its records equal an uninterrupted run's."""
    work = tmp_path / "run"
    shutil.copytree(clean_run, work, symlinks=True)
    train = work / f"results/{TINY}/seed_0/sparse_train/sparse"
    shutil.rmtree(train)
    target = f"results/{TINY}/seed_0/sparse_train/sparse/records.csv"
    profile = site_profile(tmp_path / "profile")
    log = tmp_path / "run.log"
    run = start_snakemake(work, target, *slurm_options(profile), log=log, env=cluster.env)
    try:

        def running_training_job() -> str | None:
            for job in slurm_jobs(cluster):
                if rule_of(job) == "sparse_train" and job["JobState"] == "RUNNING":
                    return job["JobId"]
            return None

        assert wait_for(lambda: (train / "checkpoints/last.pt").exists(), 600, poll=0.05), (
            log.read_text()[-3000:]
        )
        job_id = running_training_job()
        assert job_id, slurm_jobs(cluster)
        cancelled = cluster.client("scancel", job_id)
        assert cancelled.returncode == 0, cancelled.stderr
        run.wait(timeout=900)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
    out = log.read_text()
    assert run.returncode == 0, out[-5000:] + cluster.logs()

    attempts = sorted(
        (job for job in slurm_jobs(cluster) if job.get("WorkDir") == str(work)),
        key=lambda job: int(job["JobId"]),
    )
    assert [rule_of(job) for job in attempts] == ["sparse_train", "sparse_train"], attempts
    first, second = attempts
    assert first["JobId"] == job_id and first["JobState"] in {"CANCELLED", "FAILED"}, first
    assert second["JobState"] == "COMPLETED", second
    profile_resources = yaml.safe_load(PROFILE.read_text())["set-resources"]["sparse_train"]
    mem = int(str(profile_resources["mem_mb"]).split("*")[0])
    minutes = int(str(profile_resources["runtime"]).split("*")[0])
    assert first["MinMemoryNode"] == f"{mem}M" and second["MinMemoryNode"] == f"{2 * mem}M"
    assert _minutes(first["TimeLimit"]) == minutes and _minutes(second["TimeLimit"]) == 2 * minutes

    train_log = (work / f"logs/{TINY}/sparse_train/seed_0_sparse.log").read_text()
    assert re.search(r"resuming sparse from \S+last.pt at step [1-9]", train_log), train_log[-2000:]
    only = [
        f"results/{TINY}/seed_0/sparse_train/sparse/records.csv",
        f"results/{TINY}/seed_0/sparse_train/sparse/downloads.csv",
    ]
    problems = compare_results(clean_run, work, only=only)
    assert not problems, "\n".join(problems)


def _minutes(limit: str) -> int:
    """SLURM's [days-]hours:minutes:seconds as minutes."""
    days, _, clock = limit.rpartition("-")
    hours, minutes, _seconds = (int(part) for part in clock.split(":"))
    return (int(days or 0) * 24 + hours) * 60 + minutes
