"""Helpers of the end-to-end reliability and SLURM tests (not a test module).

The `tiny` preset is the file `.test/config/tiny.yaml` (the snakemake-workflows convention), an
overlay over config/config.yaml that lists every value the tests rely on; it does not derive
from config/smoke.yaml. Runs happen in temporary directories (outputs and `configfile:` are
relative to the working directory) against the repository's Snakefile, so the auto-loaded
workflow profile profiles/default/ applies as in a user's run. Outside the e2e tier a test may
run a few jobs for named targets (on a copy of the shared run, say), never a whole run
(tests/tiers.py checks it).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from tiers import check_jobs_run, require_jobs_allowed, require_shared_run_fixture

from qtrain.run.config import merge_config
from qtrain.run.config_files import read_merged_config

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SNAKEMAKE = str(BIN / "snakemake")
SNAKEFILE = str(REPO / "Snakefile")
TINY = "tiny"

# The tests' preset: an overlay over the paper preset (not over smoke), in a file of its own.
TINY_FILE = REPO / ".test/config/tiny.yaml"


def tiny_config(**sections: Any) -> dict[str, Any]:
    """The tiny preset in full (.test/config/tiny.yaml merged over config/config.yaml, as
    Snakemake merges a --configfile), with optional further overrides per section."""
    return merge_config(read_merged_config(REPO / "config/config.yaml", TINY_FILE), sections)


def system_binary(name: str) -> str | None:
    """A program on PATH or in /usr/sbin or /sbin (where Debian puts the SLURM daemons)."""
    return shutil.which(name) or next(
        (str(p) for p in (Path("/usr/sbin") / name, Path("/sbin") / name) if p.exists()), None
    )


SLURM_DAEMONS = ("munged", "slurmctld", "slurmd")
SLURM_CLIENTS = ("sbatch", "squeue", "sinfo", "scancel", "srun")


def why_slurm_cannot_start() -> str | None:
    """Why this machine cannot run the SLURM test cluster of tests/test_slurm.py (None: it can)."""
    if os.geteuid() != 0:
        return "starting munged, slurmctld and slurmd needs root (CI runs .ci/run as root)"
    missing = [name for name in (*SLURM_DAEMONS, *SLURM_CLIENTS) if system_binary(name) is None]
    if missing:
        return (
            f"SLURM is not installed ({', '.join(missing)} not found): "
            "apt-get install slurm-wlm munge (.ci/run does this in CI)"
        )
    return None


def make_workdir(path: Path, config: Mapping[str, Any] | None = None) -> Path:
    """A working directory for a run: the repository's config/ and ``tiny.yaml``."""
    path.mkdir(parents=True, exist_ok=True)
    shutil.copytree(REPO / "config", path / "config", dirs_exist_ok=True)
    write_config(path, tiny_config() if config is None else config)
    return path


def write_config(workdir: Path, config: Mapping[str, Any]) -> None:
    (workdir / "tiny.yaml").write_text(yaml.safe_dump(dict(config), sort_keys=False))


def snakemake_command(*args: str) -> list[str]:
    """``snakemake ARGS`` on the repository's workflow and ``tiny.yaml`` (targets go in ARGS:
    ``--configfile`` takes several values, so it comes last)."""
    return [SNAKEMAKE, *args, "-s", SNAKEFILE, "--configfile", "tiny.yaml"]


def _env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    # OMP_WAIT_POLICY=PASSIVE: a waiting OpenMP thread sleeps instead of spinning. The runs of a
    # test session share the cores, and a two-thread job spinning at every barrier measured 3.5x
    # the CPU time of its one-thread twin (the "another machine" run); results do not change.
    return {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_WAIT_POLICY": "PASSIVE", **(extra or {})}


def run_snakemake(
    workdir: Path,
    *args: str,
    timeout: float = 3600,
    env: Mapping[str, str] | None = None,
    prefix: list[str] | None = None,
) -> subprocess.CompletedProcess:
    """Run snakemake in ``workdir`` (``prefix``: a command that wraps it, e.g. setpriv)."""
    require_jobs_allowed(workdir, args, _shared_root())
    result = subprocess.run(
        [*(prefix or []), *snakemake_command(*args)],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=_env(env),
    )
    check_jobs_run(output_of(result), args)
    return result


def output_of(result: subprocess.CompletedProcess) -> str:
    return result.stdout + result.stderr


def start_snakemake(
    workdir: Path, *args: str, log: Path, env: Mapping[str, str] | None = None
) -> subprocess.Popen:
    """Start snakemake in its own session (process group), output to ``log``."""
    require_jobs_allowed(workdir, args, _shared_root())
    with open(log, "w") as handle:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            snakemake_command(*args),
            cwd=workdir,
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=_env(env),
            start_new_session=True,
        )


def wait_for(condition: Callable[[], bool], timeout: float, poll: float = 0.05) -> bool:
    """Poll ``condition`` until it holds (True) or ``timeout`` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(poll)
    return condition()


def session_processes(sid: int) -> list[int]:
    """PIDs of live processes of session ``sid`` (Linux /proc)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[3]) == sid:  # state, ppid, pgrp, session
            pids.append(int(entry.name))
    return pids


def kill_group(process: subprocess.Popen, sig: int = signal.SIGKILL, timeout: float = 60) -> None:
    """Send ``sig`` to the whole process group of ``process`` and wait until all are gone."""
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass
    process.wait(timeout=timeout)
    assert wait_for(lambda: not session_processes(process.pid), timeout), (
        f"processes of the killed run are still alive: {session_processes(process.pid)}"
    )


def result_files(workdir: Path, preset: str = TINY) -> dict[str, Path]:
    """The tables (CSV) and arrays (NPZ) a run produced, by path relative to the workdir."""
    root = workdir / "results" / preset
    return {
        str(p.relative_to(workdir)): p
        for suffix in ("*.csv", "*.npz")
        for p in sorted(root.rglob(suffix))
        if "/partial/" not in str(p)
    }


def is_timing_column(name: str) -> bool:
    """Columns that record wall times or dates, not science (compared runs may differ there)."""
    return "seconds" in name or name in {"created", "time_s", "elapsed_s", "runtime_s"}


def differences(a: Path, b: Path) -> str | None:
    """Why two result files differ (None when identical): CSV byte for byte (timing columns
    dropped), NPZ array by array (its ``meta`` record's timings dropped)."""
    if a.suffix == ".csv":
        if a.read_bytes() == b.read_bytes():
            return None
        import pandas as pd

        fa, fb = pd.read_csv(a), pd.read_csv(b)
        drop = [c for c in fa.columns if is_timing_column(c)]
        fa, fb = fa.drop(columns=drop), fb.drop(columns=drop, errors="ignore")
        if fa.equals(fb):
            return None
        return f"{a.name}: tables differ\n{fa.compare(fb) if fa.shape == fb.shape else ''}"
    with np.load(a, allow_pickle=False) as za, np.load(b, allow_pickle=False) as zb:
        if sorted(za.files) != sorted(zb.files):
            return f"{a.name}: arrays {sorted(za.files)} vs {sorted(zb.files)}"
        for key in za.files:
            x, y = za[key], zb[key]
            if x.dtype.kind in "US" and key == "meta":
                if _strip_timings(str(x)) == _strip_timings(str(y)):
                    continue
            if x.shape != y.shape or not np.array_equal(x, y, equal_nan=x.dtype.kind == "f"):
                return f"{a.name}: array {key!r} differs"
    return None


def _strip_timings(meta: str) -> Any:
    import json

    try:
        record = json.loads(meta)
    except ValueError:
        return meta
    if isinstance(record, dict):
        # how the run went (timings, runs resumed from a checkpoint), not what it computed
        return {
            k: v
            for k, v in record.items()
            if "seconds" not in k and "resumed" not in k and k != "created"
        }
    return record


def compare_results(a: Path, b: Path, only: list[str] | None = None) -> list[str]:
    """Differences between the result files of two runs (all of them, or those in ``only``)."""
    fa, fb = result_files(a), result_files(b)
    names = sorted(fa) if only is None else only
    problems = [f"{n}: missing in {b}" for n in names if n not in fb]
    problems += [f"{n}: missing in {a}" for n in names if n not in fa]
    for name in names:
        if name in fa and name in fb:
            why = differences(fa[name], fb[name])
            if why:
                problems.append(f"{name}: {why}")
    return problems


# --- whole runs made in the background -----------------------------------------------------
# The network rules that set torch's thread count from Snakemake's `threads` (1 in the presets):
# the "another machine" run gives them two (another reduction order, as another CPU would).
THREADED_RULES = (
    "pretrain",
    "pretrain_large",
    "sparse_train",
    "spectrum",
    "spectrum_large",
    "linearized_window",
)
#: The rehearsal trimmed to fit the end-to-end tier: the paper's models and every rule stay;
#: fewer Lanczos steps and one learning rate.
REHEARSAL_TRIM = {"spectra": {"lanczos_steps": 2}, "linearized": {"lr_scales": [1.0]}}
REHEARSAL_CONFIGS = ("--configfile", "config/rehearsal.yaml", "trim.yaml")


#: The niceness of every whole run but the shared one, and of the SLURM cluster's jobs: they
#: fill the cores that the tests and the shared run (which most tests wait for) leave idle.
BACKGROUND_NICENESS = 10


def autogroup_niceness_script(niceness: int) -> str:
    """Shell lines that give the calling session ``niceness``. Linux schedules each session as a
    group (sched_autogroup) and a process's nice value weighs only within its group, so a run in
    a session of its own is slowed by its group's niceness (/proc/self/autogroup; ignored where
    there is none), and by nice for the kernels without autogroups."""
    return (
        f"echo {niceness} > /proc/self/autogroup 2>/dev/null\n"
        f"renice -n {niceness} -p $$ >/dev/null 2>&1\n"
    )


def with_niceness(niceness: int, command: list[str]) -> list[str]:
    """``command`` run at ``niceness`` (the session it starts in included)."""
    return ["sh", "-c", autogroup_niceness_script(niceness) + 'exec "$@"', "sh", *command]


@dataclass(frozen=True)
class Launch:
    """How a whole run starts: its command, extra environment and niceness."""

    command: list[str]
    env: Mapping[str, str] | None = None
    niceness: int = BACKGROUND_NICENESS


def _tiny_run(
    workdir: Path, config: Mapping[str, Any] | None = None, *args: str, cores: int = 2
) -> Launch:
    make_workdir(workdir, config)
    return Launch(snakemake_command("--cores", str(cores), *args))


def _trimmed_rehearsal(workdir: Path) -> Launch:
    workdir.mkdir(parents=True, exist_ok=True)
    shutil.copytree(REPO / "config", workdir / "config")
    (workdir / "trim.yaml").write_text(yaml.safe_dump(REHEARSAL_TRIM))
    return Launch([SNAKEMAKE, "--cores", "2", "-s", SNAKEFILE, *REHEARSAL_CONFIGS])


class RunSkipped(Exception):
    """A whole run this machine cannot make (the tests that read it are skipped, saying why)."""


def _slurm_run(workdir: Path) -> Launch:
    """The seed-1 tiny preset through the session's SLURM cluster (started here) and the
    profile (tests/slurm_cluster.py)."""
    from slurm_cluster import session_cluster, site_profile, slurm_options  # imports this module

    reason = why_slurm_cannot_start()
    if reason:
        raise RunSkipped(reason)
    cluster = session_cluster(workdir.parent / "slurm_cluster")
    profile = site_profile(workdir.parent / "slurm_profile")
    launch = _tiny_run(workdir, tiny_config(seed=1), *slurm_options(profile))
    return Launch(launch.command, env=cluster.env)


#: Every whole run that tests read, by the name of the fixture that gives it (tests/conftest.py):
#: a function that prepares the working directory and says how the run starts. Each is made
#: once per session, started in the background as soon as the tests are chosen if one of them
#: uses it, so that the runs fill the cores that each other's chains of single jobs, the unit
#: tests and the SLURM run's status polling leave idle. The shared run has the tests' priority
#: (most of them wait for it), the others a lower one.
WHOLE_RUNS: dict[str, Callable[[Path], Launch]] = {
    "tiny_run": lambda workdir: Launch(_tiny_run(workdir).command, niceness=0),  # the shared run
    "seed1_run": lambda workdir: _tiny_run(workdir, tiny_config(seed=1)),
    # --cores 4: two two-thread jobs at once, as the one-thread run has two one-thread jobs
    "threads2_run": lambda workdir: _tiny_run(
        workdir, None, "--set-threads", *(f"{rule}=2" for rule in THREADED_RULES), cores=4
    ),
    "slurm_run": _slurm_run,
    "trimmed_rehearsal_run": _trimmed_rehearsal,
}
SHARED_RUN = "tiny_run"
SKIPPED = "skipped: "  # the returncode of a run this machine cannot make starts so


@dataclass(frozen=True)
class FinishedRun:
    """A whole run that has ended: its working directory, exit status (or why it did not
    start), output and wall-clock seconds."""

    root: Path
    returncode: int | str
    output: str
    seconds: float = 0.0


_FINISHED: dict[str, FinishedRun] = {}
# name -> (workdir, process, log, start time) of the runs going
_STARTED: dict[str, tuple[Path, subprocess.Popen, Path, float]] = {}


def start_whole_run(name: str, tmp_path_factory: Any) -> None:
    """Start the whole run ``name`` (a key of WHOLE_RUNS) in the background, once per session.
    A run that cannot start ends at once, its returncode saying why."""
    if name in _FINISHED or name in _STARTED:
        return
    workdir = tmp_path_factory.mktemp(name)
    try:
        launch = WHOLE_RUNS[name](workdir)
    except RunSkipped as reason:
        _FINISHED[name] = FinishedRun(workdir, f"{SKIPPED}{reason}", "")
        return
    except Exception as error:  # e.g. the SLURM cluster: the test that reads the run reports it
        _FINISHED[name] = FinishedRun(workdir, f"did not start: {error}", "")
        return
    log = workdir.with_name(f"{workdir.name}.log")
    with open(log, "w") as handle:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            with_niceness(launch.niceness, launch.command),
            cwd=workdir,
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=_env(launch.env),
            start_new_session=True,
        )
    _STARTED[name] = (workdir, process, log, time.monotonic())


def stop_whole_runs() -> None:
    """Kill the runs still going (a session that ended before needing them: -x, Ctrl-C)."""
    for _, process, _, _ in _STARTED.values():
        if process.poll() is None:
            kill_group(process)
    _STARTED.clear()


def whole_run(name: str, tmp_path_factory: Any, timeout: float = 3600) -> FinishedRun:
    """The whole run ``name``, once it has ended (started now if it was not yet)."""
    if name not in _FINISHED:
        start_whole_run(name, tmp_path_factory)
    if name not in _FINISHED:
        workdir, process, log, start = _STARTED[name]  # stop_whole_runs() kills it if cut off
        try:
            returncode: int | str = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_group(process)
            returncode = f"killed after {timeout:.0f} s"
        del _STARTED[name]
        output = log.read_text(errors="replace")
        _FINISHED[name] = FinishedRun(workdir, returncode, output, time.monotonic() - start)
    return _FINISHED[name]


def shared_clean_run(tmp_path_factory: Any) -> Path:
    """One uninterrupted local run of the whole workflow on the tiny preset, made once per test
    session (started in the background if it was not yet) and shared by the tests that read it
    (never write it). Tests take it from the `tiny_run` fixture (tests/conftest.py), which marks
    them for the workflow tier."""
    require_shared_run_fixture()
    run = whole_run(SHARED_RUN, tmp_path_factory)
    if run.returncode != 0:
        why = f"the shared tiny run failed ({run.returncode}):\n{run.output[-5000:]}"
        raise AssertionError(why)
    return run.root


def _shared_root() -> Path | None:
    run = _FINISHED.get(SHARED_RUN)
    return run.root if run is not None else None
