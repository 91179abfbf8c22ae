"""The workflow on a real SLURM cluster through Snakemake's SLURM executor and profiles/slurm/.

The module fixture starts a single-node cluster in a temporary directory: munged with its own key
and socket, slurmctld and slurmd (one node declaring 4 CPUs and two fake GPUs as gres, so that
rules declaring `resources: gpu=1` are scheduled with `--gpus=1`) on free ports; nothing is
written under /etc or /run (clients find the cluster through SLURM_CONF, see `start_cluster` for
`srun`). It
needs root (the daemons run as root) and Debian's `slurm-wlm` and `munge` (.ci/run installs
them); elsewhere the tests that need the cluster are skipped, saying why. The daemons are stopped
by PID afterwards.

The runs use profiles/slurm/ as a user would after editing its SITE lines: a copy whose partition
names are the test cluster's. Settings that belong to this cluster and not to the profile (no
accounting database, so job states come from squeue; 4 jobs at once; fast status polling) are
given on the command line. The node declares twice the machine's 2 cores: a job here spends most
of its time starting (Snakemake's job step, imports) and waiting for the executor's next status
poll, not computing, so four at once keep the cores busy; results do not depend on it (each
job's threads are its rule's, as in a local run).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from tiers import require_e2e
from workflow_helpers import (
    REPO,
    SNAKEMAKE,
    TINY,
    compare_results,
    make_workdir,
    output_of,
    result_files,
    run_snakemake,
    start_snakemake,
    tiny_config,
    wait_for,
    why_slurm_cannot_start,
)
from workflow_helpers import system_binary as _binary

PROFILE = REPO / "profiles/slurm/config.yaml"
CPU_PARTITION, GPU_PARTITION = "testcpu", "testgpu"
# The fake node claims more memory than this machine has (SlurmdParameters=config_overrides),
# so that the profile's requests, sized for the paper preset, are submitted unchanged; SLURM does
# not enforce memory here (no cgroups, no accounting), it only schedules by it.
NODE_MEMORY_MB = 256_000
NODE_CPUS, NODE_GPUS = 4, 2  # declared (see the module docstring); the machine has 2 cores
FAKE_GPU_DEVICES = ("/dev/null", "/dev/zero")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Cluster:
    """A running single-node SLURM cluster; its client commands need ``env`` (SLURM_CONF)."""

    root: Path
    env: dict[str, str]
    socket_dir: Path | None = None
    daemons: dict[str, subprocess.Popen] = field(default_factory=dict)

    def client(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [_binary(args[0]), *args[1:]],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, **self.env},
        )

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
            for p in sorted((self.root / "log").glob("*.log"))
        )

    def node_state(self) -> str:
        """The node's state ("idle", "mixed", ...; one per partition, all the same here)."""
        states = set(self.client("sinfo", "-h", "-N", "-o", "%T").stdout.split())
        return states.pop() if len(states) == 1 else " ".join(sorted(states))

    def stop(self) -> None:
        """Cancel this cluster's jobs, then stop slurmd, slurmctld and munged by PID."""
        if "slurmctld" in self.daemons and self.daemons["slurmctld"].poll() is None:
            jobs = self.client("squeue", "-h", "-o", "%i").stdout.split()
            if jobs:
                self.client("scancel", *jobs)
        for name in ("slurmd", "slurmctld", "munged"):
            process = self.daemons.get(name)
            if process is None or process.poll() is not None:
                continue
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)
        if self.socket_dir is not None:
            shutil.rmtree(self.socket_dir, ignore_errors=True)


def start_cluster(root: Path) -> Cluster:
    """Start munged, slurmctld and slurmd (in the foreground, as children) under ``root``."""
    for sub in ("munge", "state", "spool", "log"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "munge").chmod(0o700)
    key = root / "munge/munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o400)
    # munged wants every folder above its socket searchable by all, which pytest's temporary
    # folders are not: the socket gets its own folder in /tmp
    socket_dir = Path(tempfile.mkdtemp(prefix="qtrain-munge-"))
    socket_dir.chmod(0o755)
    munge_socket = socket_dir / "munge.socket"
    conf = root / "slurm.conf"
    conf.write_text(
        "\n".join(
            [
                "ClusterName=qtraintest",
                "SlurmctldHost=localhost",
                f"SlurmctldPort={_free_port()}",
                f"SlurmdPort={_free_port()}",
                "SlurmUser=root",
                "SlurmdUser=root",
                "AuthType=auth/munge",
                "CredType=cred/munge",
                f"AuthInfo=socket={munge_socket}",
                f"StateSaveLocation={root}/state",
                f"SlurmdSpoolDir={root}/spool",
                f"SlurmctldPidFile={root}/slurmctld.pid",
                f"SlurmdPidFile={root}/slurmd.pid",
                f"SlurmctldLogFile={root}/log/slurmctld.log",
                f"SlurmdLogFile={root}/log/slurmd.log",
                "ProctrackType=proctrack/linuxproc",
                "TaskPlugin=task/none",
                "SelectType=select/cons_tres",
                "SelectTypeParameters=CR_Core_Memory",
                "AccountingStorageType=accounting_storage/none",
                "JobAcctGatherType=jobacct_gather/none",
                "JobCompType=jobcomp/none",
                "MpiDefault=none",
                "ReturnToService=2",
                "MinJobAge=3600",  # finished jobs stay visible to squeue and scontrol
                "SchedulerParameters=sched_interval=2",
                "SlurmdParameters=config_overrides",
                "GresTypes=gpu",
                f"NodeName=localhost NodeAddr=127.0.0.1 CPUs={NODE_CPUS} "
                f"RealMemory={NODE_MEMORY_MB} Gres=gpu:{NODE_GPUS} State=UNKNOWN",
                f"PartitionName={CPU_PARTITION} Nodes=localhost Default=YES MaxTime=INFINITE "
                "State=UP",
                f"PartitionName={GPU_PARTITION} Nodes=localhost MaxTime=INFINITE State=UP",
                "",
            ]
        )
    )
    # fake GPUs: SLURM counts one per device file (character devices that every machine has)
    devices = ",".join(FAKE_GPU_DEVICES[:NODE_GPUS])
    (root / "gres.conf").write_text(f"NodeName=localhost Name=gpu File={devices}\n")
    # The plugin's job step (snakemake-executor-plugin-slurm-jobstep) drops every SLURM_* variable,
    # SLURM_CONF included, before its nested `srun`, which then looks for /etc/slurm/slurm.conf.
    # Rather than writing there, the test puts an `srun` first on PATH that restores SLURM_CONF.
    shim = root / "bin/srun"
    shim.parent.mkdir(exist_ok=True)
    shim.write_text(f'#!/bin/sh\nSLURM_CONF={conf} exec {_binary("srun")} "$@"\n')
    shim.chmod(0o755)
    path = f"{shim.parent}{os.pathsep}{os.environ.get('PATH', '')}"
    cluster = Cluster(root, {"SLURM_CONF": str(conf), "PATH": path}, socket_dir=socket_dir)
    env = {**os.environ, **cluster.env}

    def launch(name: str, *args: str) -> None:
        with open(root / "log" / f"{name}.out", "w") as log:  # the child keeps its own copy
            cluster.daemons[name] = subprocess.Popen(
                [_binary(name), *args],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # not hit by signals meant for the test run
            )

    try:
        launch(
            "munged",
            "--foreground",
            f"--key-file={key}",
            f"--socket={munge_socket}",
            f"--pid-file={root}/munge/munged.pid",
            f"--log-file={root}/log/munged.log",
            f"--seed-file={root}/munge/munged.seed",
        )
        if not wait_for(munge_socket.exists, 30, poll=0.1):
            raise RuntimeError("munged did not create its socket")
        launch("slurmctld", "-D", "-f", str(conf))
        launch("slurmd", "-D", "-f", str(conf), "-N", "localhost")
        if not wait_for(lambda: cluster.node_state() == "idle", 60, poll=0.5):
            raise RuntimeError(f"the node is not idle: {cluster.node_state()!r}")
    except Exception as error:
        cluster.stop()
        outs = "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-2000:]}"
            for p in sorted((root / "log").glob("*"))
        )
        pytest.fail(f"the test SLURM cluster did not start: {error}\n{outs}")
    return cluster


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[Cluster]:
    require_e2e("starts the SLURM test cluster")
    reason = why_slurm_cannot_start()
    if reason:
        pytest.skip(reason)
    cluster = start_cluster(tmp_path_factory.mktemp("slurm"))
    try:
        yield cluster
    finally:
        cluster.stop()


def slurm_jobs(cluster: Cluster) -> list[dict[str, str]]:
    """Every job the cluster still knows (finished ones too), as `scontrol show job` fields."""
    out = cluster.client("scontrol", "show", "job", "--oneliner").stdout
    jobs = []
    for line in out.splitlines():
        if line.strip():
            jobs.append(dict(re.findall(r"(\w+)=(\S*)", line)))
    return jobs


def rule_of(job: Mapping[str, str]) -> str:
    """The rule of a job the executor plugin submitted (its comment: rule_NAME_wildcards_…)."""
    return re.sub(r"^rule_", "", job.get("Comment", "")).split("_wildcards_")[0]


def site_profile(folder: Path) -> Path:
    """profiles/slurm/ with its SITE lines edited for the test cluster: the partition names."""
    profile = yaml.safe_load(PROFILE.read_text())
    rename = {"cpu": CPU_PARTITION, "gpu": GPU_PARTITION}
    for resources in [profile["default-resources"], *profile["set-resources"].values()]:
        if "slurm_partition" in resources:
            resources["slurm_partition"] = rename[resources["slurm_partition"]]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.yaml").write_text(yaml.safe_dump(profile, sort_keys=False))
    return folder


def slurm_options(profile: Path) -> list[str]:
    """The profile, plus what belongs to the test cluster rather than to the profile."""
    return [
        "--workflow-profile",
        str(profile),
        "--jobs",
        str(NODE_CPUS),  # as many jobs at once as the node declares CPUs
        "--max-threads",
        "2",  # a rule asking for more CPUs than the node has would pend forever
        "--slurm-status-command",
        "squeue",  # no accounting database here, so no sacct
        # Status polling. The plugin (2.8) waits this long before its first check and after
        # every check that found a job finished; a check that finds none adds 10 s (up to
        # 180 s), starting from --seconds-between-status-checks: both at their minimum, 1 s.
        "--slurm-init-seconds-before-status-checks",
        "1",
        "--seconds-between-status-checks",
        "1",
        "--slurm-no-account",
        "--latency-wait",
        "5",
    ]


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
@pytest.mark.early  # mostly waits for status polls: the other tests run meanwhile
def test_tiny_preset_through_slurm_matches_a_local_run(cluster, seed1_run_later, tmp_path):
    """The whole workflow on the tiny preset through `--executor slurm` (from the profile): every
    job of a rule that is not a `localrules:` rule runs as a SLURM job, GPU rules on the GPU
    partition with one GPU, the local rules in the Snakemake process, and the tables and arrays
    equal those of a local run of the same config. The config is the tiny preset with master
    seed 1, so that the local run compared with is the one tests/test_verdicts.py compares with
    the shared run (seed 0): one whole run fewer, no assertion fewer."""
    work = make_workdir(tmp_path / "run", tiny_config(seed=1))
    profile = site_profile(tmp_path / "profile")
    start = time.monotonic()
    result = run_snakemake(work, *slurm_options(profile), timeout=1800, env=cluster.env)
    elapsed = time.monotonic() - start
    out = output_of(result)
    assert result.returncode == 0, out[-5000:] + cluster.logs()

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
    local_run = seed1_run_later()
    assert local_run.returncode == 0, local_run.output[-4000:]
    problems = compare_results(local_run.root, work)
    assert not problems, "\n".join(problems)
    print(f"tiny preset through SLURM: {len(jobs)} jobs in {elapsed:.0f} s")


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
