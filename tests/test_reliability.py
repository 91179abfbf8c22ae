"""The workflow under interruption, failure and bad input (docs/reliability.md lists the
guarantees and which test checks each).

End-to-end tests run the `tiny` preset (tests/workflow_helpers.py) in temporary directories: one
clean run of the whole workflow (module fixture), then copies of it that are interrupted, fed bad
input or run again.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
from pathlib import Path

import numpy as np
import pytest
import torch
from workflow_helpers import (
    TINY,
    compare_results,
    kill_group,
    make_workdir,
    output_of,
    result_files,
    run_snakemake,
    start_snakemake,
    tiny_config,
    wait_for,
    why_slurm_cannot_start,
    write_config,
)

from qtrain.run.checkpoints import load_checkpoint
from qtrain.run.files import atomic_write, read_json, write_json
from qtrain.run.provenance import content_stamp, provenance_path
from qtrain.run.resume import Checkpointer

RESULTS = f"results/{TINY}"
RUN = f"{RESULTS}/seed_0"  # the network pipeline of the first training seed


@pytest.fixture(scope="module")
def clean_run(tiny_run) -> Path:
    """One uninterrupted run of the whole workflow on the tiny preset (the session's shared run,
    which tests/test_slurm.py compares its SLURM runs against too)."""
    return tiny_run.root


def copy_run(source: Path, target: Path) -> Path:
    """A copy of a finished run (results, logs and Snakemake's metadata, times preserved)."""
    shutil.copytree(source, target, symlinks=True)
    return target


def accept(path: Path) -> None:
    """Record ``path``'s present content in its provenance record, as if its rule had written
    it: a fault planted below must reach the job that reads the file (an edited result with
    its old record stops the run before any job: tests/test_results_freshness.py)."""
    record = read_json(provenance_path(path))
    record["content"] = content_stamp(path)
    write_json(record, provenance_path(path))


def digest_tree(root: Path) -> dict[str, bytes]:
    files = sorted(p for p in root.rglob("*") if p.is_file())
    return {str(p.relative_to(root)): p.read_bytes() for p in files}


# --- determinism -------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.e2e
def test_two_runs_with_the_same_seeds_give_identical_tables(clean_run, tmp_path):
    """A second whole run with the same config gives the shared run's tables and arrays (timing
    columns aside). Where the SLURM test cluster can start, the SLURM run is that check
    (test_tiny_preset_through_slurm_matches_a_local_run: the seed-1 config through SLURM, every
    table against the local seed-1 run): no whole run here."""
    if why_slurm_cannot_start() is None:
        pytest.skip(
            "checked by tests/test_slurm.py::test_tiny_preset_through_slurm_matches_a_local_run "
            "(the seed-1 run through SLURM, compared table by table with the local seed-1 run)"
        )
    again = make_workdir(tmp_path / "again")
    result = run_snakemake(again, "--cores", "2")
    assert result.returncode == 0, output_of(result)[-5000:]
    assert len(result_files(clean_run)) >= 20
    problems = compare_results(clean_run, again)
    assert not problems, "\n".join(problems)


# --- interruption ------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.e2e
def test_killed_training_and_spectrum_jobs_resume_to_identical_results(clean_run, tmp_path):
    """SIGKILL the run (its whole process group) inside `sparse_train`, then inside `spectrum`;
    each rerun resumes from the job's checkpoints and ends with the clean run's numbers."""
    work = copy_run(clean_run, tmp_path / "run")
    train = work / RUN / "sparse_train/sparse"
    spectra = work / RUN / "spectra/sparse"
    shutil.rmtree(train)
    shutil.rmtree(spectra)
    records, spectrum = train / "records.csv", spectra / "step_00020.npz"
    targets = [str(records.relative_to(work)), str(spectrum.relative_to(work))]

    # 1. killed while training, after a resume checkpoint
    run = start_snakemake(work, *targets, "--cores", "2", log=tmp_path / "kill1.log")
    assert wait_for(lambda: (train / "checkpoints/last.pt").exists(), 600)
    kill_group(run)
    assert not records.exists(), "sparse_train finished before it could be killed"
    killed_at = load_checkpoint(train / "checkpoints/last.pt")["step"]
    assert 0 < killed_at < 30
    # after a kill, Snakemake's lock stays behind: --unlock, then run again (the default
    # profile sets --rerun-incomplete, which redoes the job that was cut off)
    assert run_snakemake(work, "--unlock").returncode == 0

    # 2. the rerun resumes training, then is killed inside the spectrum's Lanczos runs
    run = start_snakemake(work, *targets, "--cores", "2", log=tmp_path / "kill2.log")
    partial = spectra / "partial/step_00020"
    assert wait_for(lambda: partial.is_dir() and any(partial.glob("*.npz")), 600), (
        tmp_path / "kill2.log"
    ).read_text()[-3000:]
    kill_group(run)
    assert not spectrum.exists(), "spectrum finished before it could be killed"
    assert run_snakemake(work, "--unlock").returncode == 0

    # 3. the last rerun finishes
    result = run_snakemake(work, *targets, "--cores", "2")
    assert result.returncode == 0, output_of(result)[-5000:]
    train_log = (work / f"logs/{TINY}/sparse_train/seed_0_sparse.log").read_text()
    assert re.search(rf"resuming sparse from \S+last.pt at step {killed_at}\b", train_log)
    assert "restored step_00000.pt" in train_log  # Snakemake removed it before the rerun
    spectrum_log = (work / f"logs/{TINY}/spectrum/seed_0_sparse_step_00020.log").read_text()
    assert re.search(r"[1-9]\d* run\(s\) resumed", spectrum_log), spectrum_log[-2000:]

    only = [
        f"{RUN}/sparse_train/sparse/records.csv",
        f"{RUN}/sparse_train/sparse/downloads.csv",
        f"{RUN}/spectra/sparse/step_00020.npz",
    ]
    problems = compare_results(clean_run, work, only=only)
    assert not problems, "\n".join(problems)
    for step in (0, 10, 20, 30):
        name = f"sparse_train/sparse/checkpoints/step_{step:05d}.pt"
        ours = torch.load(work / RUN / name, weights_only=True)["model"]
        ref = torch.load(clean_run / RUN / name, weights_only=True)["model"]
        assert all(torch.equal(ours[k], ref[k]) for k in ref), name


@pytest.mark.slow
@pytest.mark.e2e
def test_sigterm_leaves_no_output_a_later_run_would_trust(clean_run, tmp_path):
    """SIGTERM to the run's process group mid-job, as a scheduler's time limit or `scancel`
    sends it: the job stops, its outputs are removed, and the next run redoes it."""
    work = copy_run(clean_run, tmp_path / "run")
    train = work / RUN / "sparse_train/continuous"
    shutil.rmtree(train)
    target = f"{RUN}/sparse_train/continuous/records.csv"
    run = start_snakemake(work, target, "--cores", "2", log=tmp_path / "term.log")
    assert wait_for(lambda: (train / "checkpoints/last.pt").exists(), 600)
    kill_group(run, signal.SIGTERM, timeout=120)
    log = (tmp_path / "term.log").read_text()
    assert run.returncode != 0, log[-3000:]
    assert "Removing output files of failed job sparse_train" in log, log[-3000:]
    assert (
        "stopped by SIGTERM"
        in (work / f"logs/{TINY}/sparse_train/seed_0_continuous.log").read_text()
    )
    declared = ["records.csv", "downloads.csv", *(f"checkpoints/step_{s:05d}.pt" for s in (0, 10))]
    assert not [name for name in declared if (train / name).exists()]
    assert not list(work.rglob("*.tmp")), "a temporary file was left behind"
    dry = run_snakemake(work, target, "-n")
    assert dry.returncode == 0, output_of(dry)[-3000:]
    assert re.search(r"^sparse_train\s+1$", output_of(dry), re.MULTILINE), output_of(dry)


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.e2e
def test_changed_config_after_a_finished_run_just_reruns(clean_run, tmp_path):
    """A config change after a finished run reruns the jobs it concerns from scratch: no
    resume state is left to refuse or to reuse, nothing to delete by hand. While it runs, the
    job's status lines with an ETA reach the console (QTRAIN_STATUS_SECONDS=0: one after every
    step, so the test does not depend on how fast the machine runs the 30 steps)."""
    work = copy_run(clean_run, tmp_path / "run")
    write_config(work, tiny_config(sparse_train={"lr": 0.04}))
    upstream = digest_tree(work / RUN / "prune")
    records = f"{RUN}/sparse_train/sparse/records.csv"
    result = run_snakemake(work, records, "--cores", "2", env={"QTRAIN_STATUS_SECONDS": "0"})
    out = output_of(result)
    assert result.returncode == 0, out[-3000:]
    assert "CheckpointMismatchError" not in out
    log = (work / f"logs/{TINY}/sparse_train/seed_0_sparse.log").read_text()
    assert "resuming sparse" not in log.split("lr=0.04")[-1]
    assert compare_results(clean_run, work, only=[records])  # new numbers
    record = read_json(provenance_path(work / records))
    assert record["config"]["sparse_train"]["lr"] == 0.04
    assert record["resumed_from_step"] == 0
    assert not (work / RUN / "sparse_train/sparse/checkpoints/last.pt").exists()
    assert digest_tree(work / RUN / "prune") == upstream
    # the console (Snakemake's output) got the job's status lines, with an ETA: one per step
    status = re.findall(
        r"^rule sparse_train \(seed=0, variant=sparse\): "
        r"sparse: (\d+)/30 steps, [\d.e+-]+ s/step, ETA \d+ ",
        result.stdout,
        re.MULTILINE,
    )
    assert [int(step) for step in status] == list(range(1, 31)), result.stdout[-3000:]


@pytest.mark.slow
@pytest.mark.e2e
def test_forcerun_pretrain_trains_every_epoch(clean_run, tmp_path):
    """`--forcerun pretrain` (the README's "redo one stage") trains all epochs again: the
    finished run left no checkpoint to resume from, and the provenance's wall time is real."""
    work = copy_run(clean_run, tmp_path / "run")
    log = work / f"logs/{TINY}/pretrain/seed_0.log"
    log.unlink()
    metrics = f"{RUN}/pretrain/metrics.csv"
    result = run_snakemake(work, metrics, "--forcerun", "pretrain", "--cores", "2")
    assert result.returncode == 0, output_of(result)[-3000:]
    text = log.read_text()
    assert "resuming pretraining" not in text
    assert re.search(r"epoch 1/2: loss", text) and re.search(r"epoch 2/2: loss", text), text
    assert not compare_results(clean_run, work, only=[metrics])  # the same numbers
    record = read_json(provenance_path(work / metrics))
    assert record["resumed_from_epoch"] == 0 and record["wall_seconds"] > 0
    assert not (work / RUN / "pretrain/checkpoints").exists()


@pytest.mark.slow
@pytest.mark.e2e
def test_changed_input_never_resumes_from_stale_state(clean_run, tmp_path):
    """The issue's case: the pruned model changes (NaN weights, same config) while
    `sparse_train` has resume state (here: a run killed mid-way). The rerun never resumes from
    that state: it starts over, and fails loudly on the NaN, leaving no records."""
    work = copy_run(clean_run, tmp_path / "run")
    train = work / RUN / "sparse_train/sparse"
    shutil.rmtree(train)
    records = train / "records.csv"
    target = str(records.relative_to(work))
    run = start_snakemake(work, target, "--cores", "2", log=tmp_path / "kill.log")
    assert wait_for(lambda: (train / "checkpoints/last.pt").exists(), 600)
    kill_group(run)
    assert not records.exists(), "sparse_train finished before it could be killed"
    assert run_snakemake(work, "--unlock").returncode == 0
    _poison(work / RUN / "prune/model.pt")

    result = run_snakemake(work, target, "--cores", "2")
    out = output_of(result)
    assert result.returncode != 0
    log = (work / f"logs/{TINY}/sparse_train/seed_0_sparse.log").read_text()
    assert (
        f"{RUN}/sparse_train/sparse/checkpoints/last.pt: inputs changed since this resume "
        f"state was written: starting over (changed: {RUN}/prune/model.pt; the stale state "
        "is deleted)" in log
    ), log[-3000:]
    assert "training diverged: loss is nan at sparse step 1;" in out, out[-3000:]
    assert not records.exists() and not provenance_path(records).exists()


@pytest.mark.slow
@pytest.mark.e2e
def test_changed_checkpoint_recomputes_the_spectrum(clean_run, tmp_path):
    """A checkpoint's conv weights ×3 while the spectrum has finished Lanczos runs stored (a
    run killed mid-way): the stored runs are dropped, every run is recomputed, and the Ritz
    nodes are those of the new weights."""
    work = copy_run(clean_run, tmp_path / "run")
    spectra = work / RUN / "spectra/sparse"
    spectrum = spectra / "step_00020.npz"
    spectrum.unlink()
    target = str(spectrum.relative_to(work))
    run = start_snakemake(work, target, "--cores", "2", log=tmp_path / "kill.log")
    partial = spectra / "partial/step_00020"
    assert wait_for(lambda: partial.is_dir() and any(partial.glob("*.npz")), 600)
    kill_group(run)
    assert not spectrum.exists(), "spectrum finished before it could be killed"
    assert run_snakemake(work, "--unlock").returncode == 0
    checkpoint = work / RUN / "sparse_train/sparse/checkpoints/step_00020.pt"
    state = torch.load(checkpoint, weights_only=True)
    for value in state["model"].values():
        if value.is_floating_point() and value.dim() == 4:
            value.mul_(3)
    torch.save(state, checkpoint)
    accept(checkpoint)

    result = run_snakemake(work, target, "--cores", "2")
    assert result.returncode == 0, output_of(result)[-3000:]
    log = (work / f"logs/{TINY}/spectrum/seed_0_sparse_step_00020.log").read_text()
    changed = (
        "inputs changed since this resume state was written: starting over (changed: "
        f"{RUN}/sparse_train/sparse/checkpoints/step_00020.pt"
    )
    assert changed in log, log[-3000:]
    assert "0 run(s) resumed" in log
    assert not (spectra / "partial").exists()
    with np.load(spectrum) as ours, np.load(clean_run / target) as clean:
        assert ours["nodes"].shape == clean["nodes"].shape
        assert not np.allclose(ours["nodes"], clean["nodes"])


@pytest.mark.slow
@pytest.mark.e2e
def test_truncated_input_checkpoint_names_the_file_and_the_rule(clean_run, tmp_path):
    """A truncated `prune/model.pt` is named before any job (its size differs from its
    provenance record); accepted into its record (as a copy truncated before its record was
    written would be), the job reading it names it and the rule that makes it."""
    work = copy_run(clean_run, tmp_path / "run")
    model = work / RUN / "prune/model.pt"
    model.write_bytes(model.read_bytes()[:1000])
    target = f"{RUN}/sparse_train/sparse/records.csv"
    result = run_snakemake(work, target, "--cores", "2")
    assert result.returncode != 0
    assert f"  {RUN}/prune/model.pt (made by rule prune (seed=0); 1.0 kB now, " in output_of(
        result
    ), output_of(result)[-3000:]
    accept(model)
    result = run_snakemake(work, target, "--cores", "2")
    out = output_of(result)
    assert result.returncode != 0
    assert re.search(
        rf"{RUN}/prune/model.pt is not a readable checkpoint \(truncated or corrupt: \w+"
        rf".*\); delete it and rerun the rule `prune` that makes it \(snakemake --forcerun "
        rf"prune with this run's --configfile and options\)",
        out,
    ), out[-3000:]


@pytest.mark.slow
@pytest.mark.e2e
def test_corrupt_resume_state_is_set_aside_and_the_job_starts_over(clean_run, tmp_path):
    """A truncated `last.pt` (as a full disk or a kill in the middle of a copy leaves it) is
    renamed `last.pt.corrupt` with a warning; the job starts over and ends with the numbers of
    an uninterrupted run."""
    work = copy_run(clean_run, tmp_path / "run")
    checkpoints = work / RUN / "sparse_train/sparse/checkpoints"
    last = checkpoints / "last.pt"
    last.write_bytes((checkpoints / "step_00010.pt").read_bytes()[:5000])
    records = f"{RUN}/sparse_train/sparse/records.csv"
    result = run_snakemake(work, records, "--forcerun", records, "--cores", "2")
    assert result.returncode == 0, output_of(result)[-3000:]
    log = (work / f"logs/{TINY}/sparse_train/seed_0_sparse.log").read_text()
    assert re.search(
        rf"resume state {RUN}/sparse_train/sparse/checkpoints/last.pt is unreadable "
        rf"\(truncated or corrupt: .+\): set aside as \S+last.pt.corrupt; starting over",
        log,
    ), log[-3000:]
    assert (checkpoints / "last.pt.corrupt").exists() and not last.exists()
    problems = compare_results(clean_run, work, only=[records])
    assert not problems, problems


def test_a_finished_run_leaves_no_resume_state_and_readable_files(clean_run):
    """Resume state is removed when its job finishes; every result file has the mode the umask
    allows; every provenance record stands beside its result; logs have no carriage returns."""
    results = clean_run / RESULTS
    leftovers = [
        *results.rglob("last.pt"),
        *results.rglob("resume"),
        *results.rglob("partial"),
        *results.rglob("pretrain/checkpoints"),
    ]
    assert not leftovers, leftovers
    umask = os.umask(0)
    os.umask(umask)
    modes = {
        str(p.relative_to(results)): oct(p.stat().st_mode & 0o777)
        for p in results.rglob("*")
        if p.is_file()
    }
    wrong = {k: v for k, v in modes.items() if v != oct(0o666 & ~umask)}
    assert len(modes) > 100 and not wrong, wrong
    orphans = [
        p for p in results.rglob("*.provenance.json") if not p.with_name(p.name[:-16]).exists()
    ]
    assert not orphans, orphans
    logs = list((clean_run / "logs" / TINY).rglob("*.log"))
    assert len(logs) > 20
    assert not [p for p in logs if "\r" in p.read_text()]
    train_log = clean_run / f"logs/{TINY}/sparse_train/seed_0_sparse.log"
    assert "sparse: 30/30 steps, " in train_log.read_text()


def _poison(path: Path) -> None:
    """NaN into the first 2-d weight of a checkpoint (the file changes; its config does not)."""
    state = torch.load(path, weights_only=True)
    name = next(k for k, v in state["model"].items() if v.is_floating_point() and v.dim() == 2)
    state["model"][name][0, 0] = float("nan")
    torch.save(state, path)
    accept(path)


@pytest.mark.slow
@pytest.mark.e2e
def test_nan_during_training_stops_naming_the_step(clean_run, tmp_path):
    """A NaN in training (here: planted in the pruned model of a finished run, same config)
    stops `sparse_train` at step 1 (it never returns the old records), with no records and no
    provenance record left, and the inputs untouched."""
    work = copy_run(clean_run, tmp_path / "run")
    _poison(work / RUN / "prune/model.pt")
    train = work / RUN / "sparse_train/sparse"
    upstream = digest_tree(work / RUN / "prune")
    result = run_snakemake(work, f"{RUN}/sparse_train/sparse/records.csv", "--cores", "2")
    out = output_of(result)
    assert result.returncode != 0
    assert "training diverged: loss is nan at sparse step 1;" in out, out[-3000:]
    assert "resuming sparse" not in out
    assert not (train / "records.csv").exists()
    assert not provenance_path(train / "records.csv").exists()
    assert not provenance_path(train / "downloads.csv").exists()
    assert digest_tree(work / RUN / "prune") == upstream


@pytest.mark.slow
@pytest.mark.e2e
def test_nan_weights_stop_lanczos_naming_the_iteration(clean_run, tmp_path):
    work = copy_run(clean_run, tmp_path / "run")
    checkpoint = work / RUN / "sparse_train/sparse/checkpoints/step_00020.pt"
    state = torch.load(checkpoint, weights_only=True)
    weight = next(k for k, v in state["model"].items() if v.is_floating_point() and v.dim() == 4)
    state["model"][weight].fill_(float("nan"))
    torch.save(state, checkpoint)
    accept(checkpoint)
    target = f"{RUN}/spectra/sparse/step_00020.npz"
    result = run_snakemake(work, target, "--cores", "2")
    out = output_of(result)
    assert result.returncode != 0
    assert re.search(r"NaN or inf at Lanczos iteration \d+", out), out[-3000:]
    assert not (work / target).exists()


def _fake_cifar(root: Path) -> None:
    folder = root / "cifar-100-python"
    folder.mkdir(parents=True)
    for name in ("train", "test", "meta"):
        (folder / name).write_bytes(b"truncated download")


@pytest.mark.slow
@pytest.mark.e2e
@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing", r"CIFAR-100 is not in \S+ and could not be downloaded .*make data"),
        ("truncated", r"CIFAR-100 file \S+train is corrupted or truncated: md5 \w+, expected"),
    ],
)
def test_cifar_missing_or_corrupted_stops_with_what_to_do(tmp_path, case, message):
    root = tmp_path / "data"
    root.mkdir()
    if case == "truncated":
        _fake_cifar(root)
    before = digest_tree(root)
    work = make_workdir(
        tmp_path / "run",
        tiny_config(data={"dataset": "cifar100", "root": str(root), "download": False}),
    )
    result = run_snakemake(work, f"{RESULTS}/data/summary.json", "--cores", "1")
    assert result.returncode != 0
    assert re.search(message, output_of(result)), output_of(result)[-3000:]
    assert digest_tree(root) == before  # nothing deleted or half-written
    assert not (work / RESULTS / "data").exists() or not any((work / RESULTS / "data").iterdir())


@pytest.mark.slow
@pytest.mark.e2e
def test_unwritable_result_directory_stops_naming_the_path(tmp_path):
    """A result directory that cannot be written stops the job with its path; nothing is left."""
    work = make_workdir(tmp_path / "run")
    data = work / RESULTS / "data"
    data.mkdir(parents=True)
    data.chmod(0o555)
    try:
        if os.geteuid() == 0:  # root ignores permission bits: drop the capability that does
            if shutil.which("setpriv") is None:
                pytest.skip("running as root and setpriv (util-linux) is missing")
            user = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]
        else:
            user = []
        result = run_snakemake(work, f"{RESULTS}/data/summary.json", "--cores", "1", prefix=user)
    finally:
        if data.exists():
            data.chmod(0o755)
    out = output_of(result)
    assert result.returncode != 0
    assert re.search(rf"cannot write \S*{RESULTS}/data/\S+: Permission denied", out), out[-3000:]
    assert not list(work.rglob("*.tmp"))
    assert not data.exists() or not any(data.iterdir())  # Snakemake may remove the empty folder


# --- units behind the guarantees ---------------------------------------------------------------


def test_atomic_write_names_an_unwritable_path(tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("old")
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("")
    with pytest.raises(OSError, match=r"cannot write \S+not_a_dir/x.csv"):
        with atomic_write(blocker / "x.csv") as handle:
            handle.write("new")
    assert target.read_text() == "old"


def test_resume_restores_step_checkpoints_that_snakemake_removed(tmp_path):
    """Snakemake deletes a job's declared outputs before running it again: a resumed
    sparse-training run puts the step checkpoints it wrote before the interruption back."""
    from qtrain.learning.data import load_digits
    from qtrain.learning.models import cifar_resnet
    from qtrain.learning.pruning import global_magnitude_masks
    from qtrain.learning.sparse_training import SparseTrainSettings, sparse_train

    data = load_digits()
    settings = SparseTrainSettings(
        steps=8, batch_size=32, lr=0.05, window_steps=4, checkpoint_steps=(0, 4, 8), resume_every=2
    )

    def train(folder, on_step=None):
        torch.manual_seed(0)
        model = cifar_resnet(8, 1, 10, 1)
        masks = global_magnitude_masks(model, 0.1)
        return sparse_train(
            model,
            masks,
            data,
            settings,
            "sparse",
            seed=0,
            accuracy_indices=np.arange(64),
            checkpointer=Checkpointer(folder / "last.pt", {"test": 1}),
            on_step=on_step,
        )

    ref, _ = train(tmp_path / "ref")

    def stop(record):
        if record["step"] == 6:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(tmp_path / "run", on_step=stop)
    for step in (0, 4):
        (tmp_path / "run" / f"step_{step:05d}.pt").unlink()
    records, _ = train(tmp_path / "run")
    assert records.equals(ref)
    for step in (0, 4, 8):
        ours = torch.load(tmp_path / "run" / f"step_{step:05d}.pt", weights_only=True)
        theirs = torch.load(tmp_path / "ref" / f"step_{step:05d}.pt", weights_only=True)
        assert ours["step"] == step
        assert all(torch.equal(ours["model"][k], theirs["model"][k]) for k in theirs["model"])
