"""A single-node SLURM cluster for the tests (tests/test_slurm.py), and the options that run the
workflow on it through Snakemake's SLURM executor and profiles/slurm/. Not a test module.

`start_cluster` starts munged with its own key and socket, slurmctld and slurmd (one node
declaring 4 CPUs and two fake GPUs as gres, so that rules declaring `resources: gpu=1` are
scheduled with `--gpus=1`) on free ports in a temporary directory; nothing is written under /etc
or /run (clients find the cluster through SLURM_CONF, see `start_cluster` for `srun`). It needs
root (the daemons run as root) and Debian's `slurm-wlm` and `munge` (.ci/run installs them).
A test session has one cluster (`session_cluster`): the SLURM run starts it when the tests are
chosen (workflow_helpers.WHOLE_RUNS) and the session's end stops its daemons by PID
(`stop_session_cluster`). Its jobs run at the background runs' lower priority (a TaskProlog):
like the other whole runs, they fill the cores the tests leave idle.

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
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from workflow_helpers import BACKGROUND_NICENESS, REPO, autogroup_niceness_script, wait_for
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
    """Start munged, slurmctld and slurmd (in the foreground, as children) under ``root``;
    RuntimeError with the daemons' logs if they do not come up."""
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
                f"TaskProlog={root}/task_prolog.sh",
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
    # Every task at the background runs' niceness: slurmstepd starts each in a session (an
    # autogroup) of its own, which the TaskProlog, run in it before the task, slows down.
    prolog = root / "task_prolog.sh"
    prolog.write_text("#!/bin/sh\n" + autogroup_niceness_script(BACKGROUND_NICENESS))
    prolog.chmod(0o755)
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

    def launch(name: str, *args: str, niceness: int = 0) -> None:
        with open(root / "log" / f"{name}.out", "w") as log:  # the child keeps its own copy
            cluster.daemons[name] = subprocess.Popen(
                ["nice", "-n", str(niceness), _binary(name), *args],
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
        # its tasks inherit its nice value (the TaskProlog sets their autogroup's)
        launch("slurmd", "-D", "-f", str(conf), "-N", "localhost", niceness=BACKGROUND_NICENESS)
        if not wait_for(lambda: cluster.node_state() == "idle", 60, poll=0.5):
            raise RuntimeError(f"the node is not idle: {cluster.node_state()!r}")
    except Exception as error:
        cluster.stop()
        outs = "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-2000:]}"
            for p in sorted((root / "log").glob("*"))
        )
        raise RuntimeError(f"the test SLURM cluster did not start: {error}\n{outs}") from error
    return cluster


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


_SESSION: dict[str, Cluster] = {}


def session_cluster(root: Path) -> Cluster:
    """The test session's cluster: started under ``root`` on the first call, the same after."""
    if "cluster" not in _SESSION:
        _SESSION["cluster"] = start_cluster(root)
    return _SESSION["cluster"]


def stop_session_cluster() -> None:
    """Stop the session's cluster, if one was started (the end of the test session)."""
    cluster = _SESSION.pop("cluster", None)
    if cluster is not None:
        cluster.stop()
