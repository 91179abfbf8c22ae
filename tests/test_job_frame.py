"""The job frame of qtrain.run.job and the errors the docs promise (issue 24, item 4):
signals end a job in one clean line, temporaries never outlive a writer, provenance records are
stamped when a job succeeds, a job refuses to run beside a live writer of its outputs, and a
full disk is named with the space needed."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

import qtrain.run.files as qfiles
from qtrain.run.checkpoints import save_checkpoint
from qtrain.run.files import read_json, write_table
from qtrain.run.provenance import provenance_path

_JOB = """
import sys, time
from types import SimpleNamespace
from qtrain.run.files import atomic_write
from qtrain.run.job import setup_logging
from qtrain.run.provenance import write_provenance
out, mode = sys.argv[1], sys.argv[2]
job = SimpleNamespace(
    output=[f"{out}/a.csv", f"{out}/b.csv"],
    rule="prune",
    wildcards={"seed": "0"},
    params={"keep_fraction": 0.1, "data": {"dataset": "digits"}},
)
log = setup_logging(f"{out}/job.log", job=job)
print("started", flush=True)
if mode == "hold":
    time.sleep(120)
with atomic_write(f"{out}/a.csv") as handle:
    handle.write("kept\\n7643\\n")
    if mode == "interrupt":
        print("writing", flush=True)
        time.sleep(120)
write_provenance(f"{out}/a.csv", {"prune": {"keep_fraction": 0.1}})
open(f"{out}/b.csv", "w").write("x\\n")
"""


def _start(folder: Path, mode: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", _JOB, str(folder), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _run(folder: Path, mode: str = "succeed") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", _JOB, str(folder), mode], capture_output=True, text=True
    )


def test_a_finished_job_stamps_every_output_s_record_and_releases_its_lock(tmp_path):
    result = _run(tmp_path)
    assert result.returncode == 0, result.stderr
    for name in ("a.csv", "b.csv"):
        record = read_json(provenance_path(tmp_path / name))
        assert record["rule"] == "prune" and record["wildcards"] == {"seed": "0"}
        assert record["params"] == {"keep_fraction": 0.1, "data": {"dataset": "digits"}}
        data = (tmp_path / name).read_bytes()
        assert record["content"] == {
            "sha256": hashlib.sha256(data).hexdigest(),
            "bytes": len(data),
        }
    assert read_json(provenance_path(tmp_path / "a.csv"))["config"] == {
        "prune": {"keep_fraction": 0.1}
    }
    assert not (tmp_path / "a.csv.lock").exists()


@pytest.mark.parametrize(
    ("sig", "name"), [(signal.SIGINT, "SIGINT (Ctrl-C)"), (signal.SIGTERM, "SIGTERM")]
)
def test_ctrl_c_and_sigterm_end_a_job_in_one_clean_line(tmp_path, sig, name):
    """Ctrl-C is handled like SIGTERM: the log says why in one line (no KeyboardInterrupt
    traceback), the unfinished write's temporary, the lock and the records are removed."""
    job = _start(tmp_path, "interrupt")
    assert job.stdout.readline() == "started\n"
    assert job.stdout.readline() == "writing\n"
    assert list(tmp_path.glob(".a.csv.*.tmp")) and (tmp_path / "a.csv.lock").exists()
    job.send_signal(sig)
    assert job.wait(timeout=60) == 128 + sig
    log = (tmp_path / "job.log").read_text()
    assert f"stopped by {name}" in log and "this job's outputs are incomplete" in log
    assert "Traceback" not in log and "KeyboardInterrupt" not in log
    assert sorted(p.name for p in tmp_path.iterdir()) == ["job.log"]


def test_temporaries_left_by_a_killed_writer_are_removed_when_the_job_starts(tmp_path):
    stale = [tmp_path / ".a.csv.k2j4h5_9.tmp", tmp_path / ".b.csv.tmp"]
    other = tmp_path / ".c.csv.x8d7f6g5.tmp"  # another job's: left alone
    for path in (*stale, other):
        path.write_bytes(b"")
    result = _run(tmp_path)
    assert result.returncode == 0, result.stderr
    assert not any(p.exists() for p in stale) and other.exists()
    assert f"removed {stale[0]}, left by an interrupted writer" in (
        (tmp_path / "job.log").read_text()
    )


def test_a_job_refuses_to_run_beside_a_live_writer_and_takes_over_a_dead_one_s_lock(tmp_path):
    """Row 6 of issue 24 in units: a writer left running (an orphan of a killed Snakemake)
    holds the job's lock; the same job started again refuses, touching nothing; once the
    orphan is gone, its lock is taken over."""
    orphan = _start(tmp_path, "hold")
    assert orphan.stdout.readline() == "started\n"
    (tmp_path / "a.csv").write_text("being written\n")
    provenance_path(tmp_path / "a.csv").write_text("{}")
    second = tmp_path / "second"
    second.mkdir()
    try:
        result = subprocess.run(
            [
                sys.executable,
                "-c",
                _JOB.replace('f"{out}/job.log"', f'"{second}/job.log"'),
                str(tmp_path),
                "succeed",
            ],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 1
        log = (second / "job.log").read_text()
        assert (
            f"rule prune (seed=0): another process is still writing this job's outputs: PID "
            f"{orphan.pid} on this host, rule prune (seed=0) since " in log
        )
        assert "Traceback" not in log
        assert (tmp_path / "a.csv").read_text() == "being written\n"  # untouched
        assert provenance_path(tmp_path / "a.csv").exists()
        assert json.loads((tmp_path / "a.csv.lock").read_text())["pid"] == orphan.pid
    finally:
        orphan.kill()  # SIGKILL: its lock stays behind
        orphan.wait()
    assert (tmp_path / "a.csv.lock").exists()
    result = _run(tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"took over the stale lock {tmp_path}/a.csv.lock of PID {orphan.pid}" in (
        (tmp_path / "job.log").read_text()
    )
    assert not (tmp_path / "a.csv.lock").exists()


def _full_disk(monkeypatch, tmp_path: Path) -> None:
    """Temporary files of atomic_write land on /dev/full: every write fails with ENOSPC, as on
    a full file system (the torch writer reports it as its own RuntimeError)."""
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    placeholder = tmp_path / "placeholder.tmp"  # what the cleanup removes (never /dev/full)

    def mkstemp(prefix: str = "", suffix: str = "", dir: str | None = None):
        placeholder.write_bytes(b"")
        return os.open("/dev/full", os.O_WRONLY), str(placeholder)

    monkeypatch.setattr(qfiles.tempfile, "mkstemp", mkstemp)


def test_a_full_disk_during_a_checkpoint_save_names_the_path_and_the_space_needed(
    tmp_path, monkeypatch
):
    _full_disk(monkeypatch, tmp_path)
    path = tmp_path / "results/prune/model.pt"
    with pytest.raises(OSError) as caught:
        save_checkpoint({"model": {"w": torch.zeros(1_000_000)}}, path, {"c": 1})
    error = caught.value
    assert error.errno == errno.ENOSPC
    assert str(error).startswith(
        f"[Errno 28] cannot write {path}: No space left on device (it needs about 4.1 MB; "
    )
    assert f"free on the file system of {path.parent}); check that" in str(error)
    assert "enforce fail" not in str(error)
    assert not path.exists() and not list(path.parent.glob("*.tmp"))


def test_a_full_disk_during_a_table_save_names_the_path_and_the_space_needed(tmp_path, monkeypatch):
    """The writer itself raises OSError(ENOSPC) (monkeypatched), as a full disk makes it."""
    real_fdopen = os.fdopen

    class FullDisk:
        def __init__(self, handle):
            self.handle = handle

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name):
            return getattr(self.handle, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

    monkeypatch.setattr(qfiles.os, "fdopen", lambda fd, mode: FullDisk(real_fdopen(fd, mode)))
    path = tmp_path / "prune/sparsity.csv"
    frame = pd.DataFrame({"kept": range(1000)})
    with pytest.raises(OSError) as caught:
        write_table(frame, path)
    size = len(frame.to_csv(index=False))
    assert str(caught.value).startswith(
        f"[Errno 28] cannot write {path}: No space left on device (it needs about "
        f"{qfiles.format_bytes(size)}; "
    )
    assert not path.exists() and not list(path.parent.glob("*.tmp"))


def test_format_bytes():
    assert [qfiles.format_bytes(n) for n in (0, 999, 1000, 4_100_000, 415e6, 2.4e12)] == [
        "0 B",
        "999 B",
        "1.0 kB",
        "4.1 MB",
        "415.0 MB",
        "2.4 TB",
    ]


def test_resume_state_temporaries_are_removed_when_the_job_looks_for_its_state(tmp_path):
    """`last.pt` and stored Lanczos runs are not declared outputs: their temporaries are
    removed where the job looks for its resume state."""
    from qtrain.run.resume import load_resume_state, resume_key
    from qtrain.spectra.lanczos import DensitySettings
    from qtrain.spectra.resumable import resumable_spectral_density

    leftovers = [tmp_path / ".last.pt.a1b2c3d4.tmp", tmp_path / "partial/.probe_0.npz.x1y2.tmp"]
    leftovers[1].parent.mkdir()
    for path in leftovers:
        path.write_bytes(b"")
    assert load_resume_state(tmp_path / "last.pt", resume_key({})) is None
    matrix = torch.diag(torch.arange(1.0, 5.0, dtype=torch.float64))
    settings = DensitySettings(steps=2, bounds_steps=None)
    resumable_spectral_density(lambda v: matrix @ v, 4, settings, state_dir=tmp_path / "partial")
    assert not any(path.exists() for path in leftovers)


# --- the `with job(snakemake) as run:` frame ---------------------------------------------------

_FRAMED = """
import sys
from types import SimpleNamespace
from qtrain.run.job import job
out, mode = sys.argv[1], sys.argv[2]
smk = SimpleNamespace(
    output=[f"{out}/a.csv", f"{out}/b.csv"],
    log=[f"{out}/job.log"],
    rule="prune",
    wildcards={"seed": "0"},
    params={"keep_fraction": 0.1},
    threads=1,
    resources={"gpu": 0},
)
open(f"{out}/resume.pt", "w").write("state")
with job(smk, torch=True) as run:
    assert str(run.device) == "cpu" and run.threads == 1
    open(f"{out}/a.csv", "w").write("a\\n1\\n")
    if mode == "fail":
        raise ValueError("broken on purpose")
    open(f"{out}/b.csv", "w").write("b\\n2\\n")
    run.record({"prune": {"keep_fraction": 0.1}}, timed=True, kept=7)
    run.remove_on_success(f"{out}/resume.pt")
"""


@pytest.mark.parametrize("mode", ["ok", "fail"])
def test_the_job_frame_records_every_output_on_success_and_none_on_failure(tmp_path, mode):
    result = subprocess.run(
        [sys.executable, "-c", _FRAMED, str(tmp_path), mode], capture_output=True, text=True
    )
    log = (tmp_path / "job.log").read_text()
    assert "device cpu, 1 threads" in log
    records = [provenance_path(tmp_path / name) for name in ("a.csv", "b.csv")]
    if mode == "fail":
        assert result.returncode != 0 and "broken on purpose" in log
        assert not any(r.exists() for r in records)
        assert (tmp_path / "resume.pt").exists()  # resume state outlives a failed job
        return
    assert result.returncode == 0, log
    for record in map(read_json, records):
        assert record["config"] == {"prune": {"keep_fraction": 0.1}} and record["kept"] == 7
        assert record["rule"] == "prune" and record["wildcards"] == {"seed": "0"}
        assert record["peak_rss_mb"] > 0 and record["threads"] == 1
        assert record["wall_seconds"] >= 0 and record["device"].startswith("cpu")
        assert "sha256" in record["content"]
    assert not (tmp_path / "resume.pt").exists()
