"""Shared test settings, fixtures and the test tiers.

``tiny_run`` runs the whole workflow once per test session on the tiny preset
(``.test/config/tiny.yaml``) in a temporary directory (started in the background as soon as the
tests are chosen, if one of them uses it); tests that need real workflow outputs
(report, claims, figures, reruns on copies) share it. A test using it is marked ``workflow`` by
the hooks of ``tests/tiers.py`` (loaded here), which also fail a test that makes a run of its own
without the ``e2e`` marker. ``dry_run`` runs each distinct dry run of the repository's workflow
once.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from slurm_cluster import stop_session_cluster
from tiers import (
    SHARED_RUN_FIXTURES,
    pytest_collection_modifyitems,
    pytest_runtest_protocol,
    require_e2e,
    require_jobs_allowed,
)
from workflow_helpers import (
    SHARED_RUN,
    SKIPPED,
    WHOLE_RUNS,
    FinishedRun,
    shared_clean_run,
    start_whole_run,
    stop_whole_runs,
    tiny_config,
    whole_run,
)

__all__ = ["pytest_collection_modifyitems", "pytest_runtest_protocol"]  # the tier hooks
pytest_plugins = ["pytester"]  # tests/test_tiers.py runs small suites in a nested session

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")

torch.set_num_threads(1)


@dataclass
class WorkflowRun:
    """A workflow working directory with its own config file."""

    root: Path
    config: dict
    configfile: str = "run.yaml"

    @property
    def preset(self) -> str:
        return self.config["preset"]

    @property
    def results(self) -> Path:
        return self.root / "results" / self.preset

    def snakemake(self, *args: str, check: bool = True, timeout: int = 3600):
        """Run snakemake here (targets first, then options); returns the CompletedProcess."""
        require_jobs_allowed(self.root, args, shared_run=self.root)  # never: others read it
        cmd = [
            SNAKEMAKE,
            *args,
            "-s",
            str(REPO / "Snakefile"),
            "--cores",
            "2",
            "--configfile",
            self.configfile,
        ]
        env = dict(os.environ, PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1")
        result = subprocess.run(
            cmd, cwd=self.root, capture_output=True, text=True, timeout=timeout, env=env
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"snakemake {' '.join(args)} failed:\n"
                f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
            )
        return result

    def report(self) -> Path:
        path = self.root / "report.html"
        if not path.exists():
            result = self.snakemake("--report", str(path))
            # captions are reStructuredText: a markup error would show as broken text
            messages = [
                line
                for line in result.stderr.splitlines()
                if "(ERROR/" in line or "(WARNING/" in line
            ]
            assert not messages, "\n".join(messages)
        return path


@pytest.fixture
def one_thread():
    """torch on one thread for the test (restored after it): timings and results of tests that
    run many small torch operations do not depend on the machine's cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def repo() -> Path:
    """The repository root."""
    return REPO


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start every whole run a chosen test reads (workflow_helpers.WHOLE_RUNS: the shared tiny
    run, and in the e2e tier the seed, machine, SLURM and rehearsal runs) in the background as
    soon as the tests are chosen: the other tests run meanwhile (the tier hook puts the tests
    that wait for a run last), the runs filling the cores the tests leave idle."""
    if session.config.option.collectonly:
        return
    used = {name for item in session.items for name in getattr(item, "fixturenames", ())}
    if used & set(SHARED_RUN_FIXTURES):
        start_whole_run(SHARED_RUN, session.config._tmp_path_factory)  # the session's factory
    for name in sorted(used & set(WHOLE_RUNS) - {SHARED_RUN}):
        start_whole_run(name, session.config._tmp_path_factory)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Stop the runs still going if the session ends before a test waited for them, then the
    SLURM test cluster if one was started."""
    stop_whole_runs()
    stop_session_cluster()


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> WorkflowRun:
    """The whole workflow (rule `all`) run once on the tiny preset; the same run that
    tests/test_reliability.py and tests/test_slurm.py compare against (do not modify results).
    A test using it, directly or through another fixture, is in the workflow tier."""
    root = shared_clean_run(tmp_path_factory)
    return WorkflowRun(root, tiny_config(), configfile="tiny.yaml")


def _e2e_run(name: str, tmp_path_factory) -> FinishedRun:
    require_e2e(f"reads the whole run {name!r} (workflow_helpers.WHOLE_RUNS)")
    run = whole_run(name, tmp_path_factory)
    if isinstance(run.returncode, str) and run.returncode.startswith(SKIPPED):
        pytest.skip(run.returncode.removeprefix(SKIPPED))
    return run


@pytest.fixture(scope="session")
def seed1_run(tmp_path_factory) -> FinishedRun:
    """The whole tiny preset with master seed 1 (e2e)."""
    return _e2e_run("seed1_run", tmp_path_factory)


@pytest.fixture(scope="session")
def threads2_run(tmp_path_factory) -> FinishedRun:
    """The whole tiny preset, seed 0, with two threads per network job: another machine (e2e)."""
    return _e2e_run("threads2_run", tmp_path_factory)


@pytest.fixture(scope="session")
def slurm_run(tmp_path_factory) -> FinishedRun:
    """The whole tiny preset with master seed 1 through the SLURM test cluster (e2e; skipped
    where the cluster cannot start)."""
    return _e2e_run("slurm_run", tmp_path_factory)


@pytest.fixture(scope="session")
def trimmed_rehearsal_run(tmp_path_factory) -> FinishedRun:
    """The rehearsal preset trimmed (workflow_helpers.REHEARSAL_TRIM), run whole (e2e)."""
    return _e2e_run("trimmed_rehearsal_run", tmp_path_factory)


@pytest.fixture(scope="session")
def dry_run():
    """``dry_run(*args, env=None)``: ``snakemake -n --forceall ARGS`` in the repository (the
    CompletedProcess), run once per distinct command and environment in a test session."""
    done: dict[tuple, subprocess.CompletedProcess] = {}

    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        key = (args, tuple(sorted((env or {}).items())))
        if key not in done:
            done[key] = subprocess.run(
                [SNAKEMAKE, "-n", "--forceall", *args],
                cwd=REPO,
                capture_output=True,
                text=True,
                timeout=600,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
            )
        return done[key]

    return run
