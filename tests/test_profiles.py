"""`--profile` against `--workflow-profile` (issue 24, item 6): this workflow's SLURM profile given
with --profile would run under profiles/default's settings (Snakemake 9 loads it as the
workflow profile, which takes precedence); the workflow refuses that before any job, naming the
right option, and runs with --workflow-profile."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from workflow_helpers import REPO, SNAKEMAKE

from qtrain.run.profiles import profile_args, profile_problem, read_profile


def _workflow(tmp_path: Path) -> Path:
    """A workflow folder with a default profile and a cluster profile (hand-written)."""
    (tmp_path / "profiles/default").mkdir(parents=True)
    (tmp_path / "profiles/default/config.yaml").write_text("cores: 2\nlatency-wait: 5\n")
    (tmp_path / "profiles/cluster").mkdir()
    (tmp_path / "profiles/cluster/config.yaml").write_text("executor: slurm\nlatency-wait: 60\n")
    return tmp_path


def test_profile_args_reads_both_options_and_the_environment():
    assert profile_args(["-n", "--profile", "a", "--profile=b"], {}) == (["a", "b"], None)
    assert profile_args(["--workflow-profile", "w"], {}) == ([], "w")
    assert profile_args(["--cores", "1"], {"SNAKEMAKE_PROFILE": "e"}) == (["e"], None)
    assert profile_args(["--profile", "a"], {"SNAKEMAKE_PROFILE": "e"}) == (["a"], None)
    assert profile_args(["--profile", "none"], {}) == ([], None)


def test_read_profile_prefers_profile_yaml(tmp_path):
    (tmp_path / "config.yaml").write_text("cores: 1\n")
    assert read_profile(tmp_path) == {"cores": 1}
    (tmp_path / "profile.yaml").write_text("cores: 3\n")
    assert read_profile(tmp_path) == {"cores": 3}
    assert read_profile(tmp_path / "missing") == {}


def test_own_profile_with_profile_is_named_with_what_overrides_it(tmp_path):
    base = _workflow(tmp_path)
    problem = profile_problem(["--profile", "profiles/cluster"], {}, base, cwd=str(base))
    assert problem is not None
    assert "--workflow-profile profiles/cluster" in problem
    assert "cores: 2" in problem and "latency-wait: 5 instead of 60" in problem
    # the same through the environment variable, and with the profile's file named
    assert profile_problem([], {"SNAKEMAKE_PROFILE": "profiles/cluster"}, base, str(base))
    file = str(base / "profiles/cluster/config.yaml")
    assert profile_problem(["--profile", file], {}, base, cwd="/")


@pytest.mark.parametrize(
    "argv",
    [
        ["--workflow-profile", "profiles/cluster"],
        ["--profile", "profiles/cluster", "--workflow-profile", "none"],
        ["--profile", "profiles/default"],
        ["--profile", "elsewhere"],  # a profile of the user's, not this workflow's
        ["--cores", "2"],
    ],
)
def test_the_right_ways_pass(tmp_path, argv):
    base = _workflow(tmp_path)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere/config.yaml").write_text("executor: slurm\n")
    assert profile_problem(argv, {}, base, cwd=str(base)) is None


def _dry_run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [SNAKEMAKE, "results/smoke/seed_0/prune/sparsity.csv", "-n", *args,
         "--configfile", "config/smoke.yaml"],
        cwd=REPO, capture_output=True, text=True, timeout=600,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )  # fmt: skip


def test_slurm_profile_given_with_profile_is_refused_before_any_job():
    result = _dry_run("--profile", "profiles/slurm")
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert "give it with --workflow-profile profiles/slurm, not --profile" in out, out[-3000:]
    assert "Job stats" not in out


def test_slurm_profile_given_as_workflow_profile_runs():
    result = _dry_run("--workflow-profile", "profiles/slurm")
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    assert "slurm_partition=cpu" in out  # the SLURM profile's resources reach the jobs
