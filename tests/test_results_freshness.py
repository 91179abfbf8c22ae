"""Issue 24 over copies of the shared tiny run: results never outlive their config or content,
crafted checkpoints are refused by the jobs that read them, Ctrl-C ends jobs cleanly, and a job
never runs beside a live writer of its outputs (row 6: a killed Snakemake's orphans).

The copies leave out Snakemake's metadata (``.snakemake/``), as results copied, shared or
restored arrive: only the provenance records say what made each result.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
from pathlib import Path

import pytest
import torch
from workflow_helpers import (
    TINY,
    compare_results,
    kill_group,
    output_of,
    run_snakemake,
    start_snakemake,
    tiny_config,
    wait_for,
    write_config,
)

from qtrain.run.files import read_json, write_json
from qtrain.run.provenance import content_stamp, provenance_path

RESULTS = f"results/{TINY}"
RUN = f"{RESULTS}/seed_0"


def copy_without_metadata(source: Path, target: Path) -> Path:
    """A finished run as it arrives when copied or shared: results and logs, file times kept,
    no `.snakemake/`."""
    shutil.copytree(source, target, symlinks=True, ignore=shutil.ignore_patterns(".snakemake"))
    return target


def tree(root: Path) -> dict[str, tuple[int, bytes]]:
    return {
        str(p.relative_to(root)): (p.stat().st_mtime_ns, p.read_bytes())
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def accept(path: Path) -> None:
    """Record ``path``'s present content in its provenance record, as if its rule had written
    it (how a crafted file shared with a matching record arrives)."""
    record = read_json(provenance_path(path))
    record["content"] = content_stamp(path)
    write_json(record, provenance_path(path))


@pytest.fixture
def copied(tiny_run, tmp_path) -> Path:
    return copy_without_metadata(tiny_run.root, tmp_path / "run")


def _jobs(out: str) -> dict[str, int]:
    """The job counts of a Snakemake (dry) run's table."""
    table = out.split("Job stats:", 1)[-1] if "Job stats:" in out else out
    return {
        m.group(1): int(m.group(2))
        for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.MULTILINE)
        if m.group(1) != "total"
    }


def test_a_changed_setting_over_copied_results_reruns_what_it_concerns(copied):
    """`sparse_train.lr` changed over copied results (no `.snakemake/`): Snakemake alone says
    "Nothing to be done"; the provenance check marks the sparse_train jobs for rerun, naming
    file, key and both values; upstream results are not rerun. A dry run changes nothing."""
    config = tiny_config()
    old = config["sparse_train"]["lr"]
    new = old * 2
    write_config(copied, tiny_config(sparse_train={"lr": new}))
    before = tree(copied / RESULTS)
    dry = run_snakemake(copied, "-n")
    out = output_of(dry)
    assert dry.returncode == 0, out[-3000:]
    assert (
        f"rule sparse_train (seed=0, variant=sparse): {RUN}/sparse_train/sparse/records.csv "
        f"and {1 + len(range(0, 31, 10))} more were made with other settings (sparse_train.lr: "
        f"{old!r} -> {new!r}); they are made again, as with --forcerun" in out
    ), out[-5000:]
    jobs = _jobs(out)
    seeds = 1 + config["noise"]["extra_seeds"]
    assert jobs.get("sparse_train") == len(config["sparse_train"]["variants"]) * seeds, jobs
    assert "pretrain" not in jobs and "prune" not in jobs and "prepare_data" not in jobs
    assert jobs.get("claims") == 1  # what depends on them follows
    assert tree(copied / RESULTS) == before


def test_a_hand_edited_table_stops_the_run_before_a_claim_reads_it(copied):
    """kept 7643 → 9000 style edit of `prune/sparsity.csv` in copied results: the run stops
    before any job, naming the file and its rule; C1's table is not recomputed from it. With
    `--forcerun prune` the table is made again instead."""
    sparsity = copied / RUN / "prune/sparsity.csv"
    lines = sparsity.read_text().splitlines()
    total = lines[-1].split(",")
    kept = int(total[3])
    total[3] = str(kept + 1357)
    sparsity.write_text("\n".join([*lines[:-1], ",".join(total)]) + "\n")
    claims = copied / RESULTS / "claims/training.csv"
    before = claims.read_bytes(), claims.stat().st_mtime_ns
    result = run_snakemake(copied, str(claims.relative_to(copied)), "--cores", "2")
    out = output_of(result)
    assert result.returncode != 0
    assert (
        "results changed after their rule wrote them (their content no longer matches the "
        f"sha256 in their provenance record):\n  {RUN}/prune/sparsity.csv (made by rule prune "
        "(seed=0); sha256 " in out
    ), out[-3000:]
    assert "snakemake --forcerun prune (with this run's --configfile and options)" in out
    assert (claims.read_bytes(), claims.stat().st_mtime_ns) == before
    assert "Select jobs to execute" not in out
    dry = run_snakemake(copied, str(claims.relative_to(copied)), "--forcerun", "prune", "-n")
    assert dry.returncode == 0, output_of(dry)[-3000:]
    seeds = 1 + tiny_config()["noise"]["extra_seeds"]
    assert _jobs(output_of(dry)).get("prune") == seeds  # --forcerun prune: every seed's


def test_a_damaged_array_file_is_named_with_its_rule_before_any_job(copied):
    subsets = copied / RESULTS / "data/subsets.npz"
    subsets.write_bytes(subsets.read_bytes()[:300])
    result = run_snakemake(copied, f"{RUN}/prune/sparsity.csv", "-n")
    out = output_of(result)
    assert result.returncode != 0
    assert f"  {RESULTS}/data/subsets.npz (made by rule prepare_data; 300 B now, " in out, out


@pytest.mark.slow
def test_a_changed_setting_over_copied_results_gives_new_numbers(tiny_run, tmp_path):
    work = copy_without_metadata(tiny_run.root, tmp_path / "run")
    new = tiny_config()["sparse_train"]["lr"] * 2
    write_config(work, tiny_config(sparse_train={"lr": new}))
    upstream = tree(work / RUN / "prune")
    records = f"{RUN}/sparse_train/sparse/records.csv"
    result = run_snakemake(work, records, "--cores", "2")
    assert result.returncode == 0, output_of(result)[-3000:]
    assert compare_results(tiny_run.root, work, only=[records])  # new numbers
    record = read_json(provenance_path(work / records))
    assert record["params"]["sparse_train"]["lr"] == new
    assert tree(work / RUN / "prune") == upstream


class Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.slow
def test_a_crafted_checkpoint_never_runs_its_code_in_a_job(tiny_run, tmp_path):
    """The issue's case: a crafted `pretrain/model.pt` (every real key kept, one extra object
    whose `__reduce__` runs a command). Edited after its rule wrote it, it stops the run before
    any job; shared with a matching provenance record, `prune` refuses it unread. Neither runs
    the command."""
    work = copy_without_metadata(tiny_run.root, tmp_path / "run")
    model = work / RUN / "pretrain/model.pt"
    marker = tmp_path / "marker"
    state = torch.load(model, weights_only=True)
    state["extra"] = Payload(marker)
    torch.save(state, model)
    target = f"{RUN}/prune/sparsity.csv"
    result = run_snakemake(work, target, "--forcerun", "prune", "--cores", "1")
    assert result.returncode != 0
    assert f"  {RUN}/pretrain/model.pt (made by rule pretrain (seed=0); " in output_of(result)
    accept(model)
    result = run_snakemake(work, target, "--forcerun", "prune", "--cores", "1")
    out = output_of(result) + (work / f"logs/{TINY}/prune/seed_0.log").read_text()
    assert result.returncode != 0
    assert (
        f"{RUN}/pretrain/model.pt is not plain data: it holds the Python object posix.system, "
        "so it was refused without being loaded" in out
    ), out[-3000:]
    assert "rerun the rule `pretrain` that makes it (snakemake --forcerun pretrain" in out
    assert not marker.exists()


@pytest.mark.slow
def test_ctrl_c_stops_jobs_with_a_clean_message(tiny_run, tmp_path):
    """SIGINT to the run's process group (Ctrl-C in a terminal) mid-job: the job's log says so
    in one line (no KeyboardInterrupt traceback); no temporary file, lock or output is left
    that a later run would trust, and the next run redoes the job."""
    work = copy_without_metadata(tiny_run.root, tmp_path / "run")
    train = work / RUN / "sparse_train/continuous"
    shutil.rmtree(train)
    target = f"{RUN}/sparse_train/continuous/records.csv"
    run = start_snakemake(work, target, "--cores", "2", log=tmp_path / "int.log")
    assert wait_for(lambda: (train / "checkpoints/last.pt").exists(), 600)
    kill_group(run, signal.SIGINT, timeout=120)
    log = (work / f"logs/{TINY}/sparse_train/seed_0_continuous.log").read_text()
    assert "stopped by SIGINT (Ctrl-C): this job's outputs are incomplete" in log, log[-3000:]
    assert "KeyboardInterrupt" not in log and "Traceback" not in log
    assert not (train / "records.csv").exists()
    assert not list(work.rglob("*.tmp")) and not list((work / RESULTS).rglob("*.lock"))
    dry = run_snakemake(work, target, "-n")
    assert dry.returncode == 0, output_of(dry)[-3000:]
    assert _jobs(output_of(dry)).get("sparse_train") == 1


@pytest.mark.slow
@pytest.mark.e2e
def test_a_new_run_never_resumes_from_files_an_orphan_still_writes(tiny_run, tmp_path):
    """Row 6 of issue 24: `kill -9` of Snakemake leaves its job running (an orphan); after
    `--unlock`, a new run of the same job refuses to run beside it (it would resume from the
    state the orphan is writing). Once the orphan is gone, its lock is taken over, the job
    resumes from the orphan's last state and ends with the clean run's numbers."""
    work = copy_without_metadata(tiny_run.root, tmp_path / "run")
    train = work / RUN / "sparse_train/sparse"
    shutil.rmtree(train)
    target = f"{RUN}/sparse_train/sparse/records.csv"
    lock = train / "records.csv.lock"
    run = start_snakemake(work, target, "--cores", "2", log=tmp_path / "first.log")
    orphan = None
    try:
        assert wait_for(lambda: (train / "checkpoints/last.pt").exists(), 600)
        orphan = json.loads(lock.read_text())["pid"]
        os.kill(run.pid, signal.SIGKILL)  # Snakemake only: its job keeps running
        run.wait(timeout=60)
        os.kill(orphan, signal.SIGSTOP)  # hold the orphan mid-job while the new run tries
        assert run_snakemake(work, "--unlock").returncode == 0
        second = run_snakemake(work, target, "--cores", "2")
        assert second.returncode != 0
        log = (work / f"logs/{TINY}/sparse_train/seed_0_sparse.log").read_text()
        assert (
            "rule sparse_train (seed=0, variant=sparse): another process is still writing this "
            f"job's outputs: PID {orphan} on this host" in log
        ), log[-3000:]
        assert "resuming sparse" not in log
        assert (train / "checkpoints/last.pt").exists()  # the orphan's state, untouched
    finally:
        if orphan is not None:
            os.kill(orphan, signal.SIGCONT)
        kill_group(run)  # the orphan is in the first run's process group
    assert run_snakemake(work, "--unlock").returncode == 0
    third = run_snakemake(work, target, "--cores", "2")
    assert third.returncode == 0, output_of(third)[-3000:]
    log = (work / f"logs/{TINY}/sparse_train/seed_0_sparse.log").read_text()
    assert f"took over the stale lock {lock.relative_to(work)} of PID {orphan}" in log
    assert re.search(r"resuming sparse from \S+last.pt at step [1-9]", log), log[-3000:]
    problems = compare_results(tiny_run.root, work, only=[target])
    assert not problems, problems
