"""A lock per job: no two live processes write one job's outputs (issue 24, items 4 and row 6)."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time

import pytest

from qtrain.run.locks import (
    STALE_SECONDS,
    OutputLockedError,
    acquire,
    holder_alive,
    lock_path,
)


def test_lock_is_exclusive_reentrant_and_removed_on_release(tmp_path):
    path = lock_path([str(tmp_path / "records.csv"), str(tmp_path / "downloads.csv")])
    assert path == tmp_path / "records.csv.lock"
    lock = acquire(path, "rule sparse_train (seed=0)", heartbeat=False)
    record = json.loads(path.read_text())
    assert record["pid"] == os.getpid() and record["host"] == socket.gethostname()
    assert record["job"] == "rule sparse_train (seed=0)"
    assert acquire(path, heartbeat=False).record["pid"] == os.getpid()  # this process: ok
    lock.release()
    assert not path.exists()


def _other_process() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])


def test_a_live_writer_on_this_host_keeps_the_lock(tmp_path):
    path = tmp_path / "records.csv.lock"
    writer = _other_process()
    try:
        record = {
            "pid": writer.pid,
            "host": socket.gethostname(),
            "started": None,
            "job": "rule sparse_train (seed=0, variant=sparse)",
            "since": "2025-01-01 00:00:00",
        }
        path.write_text(json.dumps(record))
        with pytest.raises(OutputLockedError) as caught:
            acquire(path, heartbeat=False)
        message = str(caught.value)
        assert message.startswith(
            f"another process is still writing this job's outputs: PID {writer.pid} on this "
            "host, rule sparse_train (seed=0, variant=sparse) since 2025-01-01 00:00:00 (lock "
            f"{path}; e.g. a job left running by a killed Snakemake)."
        )
        assert f"stop it (kill {writer.pid}), then run the workflow again" in message
        assert json.loads(path.read_text()) == record  # left as it was
    finally:
        writer.kill()
        writer.wait()


def test_a_dead_writer_s_lock_is_taken_over(tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    path = tmp_path / "records.csv.lock"
    gone = _other_process()
    gone.kill()
    gone.wait()
    path.write_text(json.dumps({"pid": gone.pid, "host": socket.gethostname(), "job": "j"}))
    lock = acquire(path, "new", heartbeat=False)
    assert json.loads(path.read_text())["pid"] == os.getpid()
    assert f"took over the stale lock {path} of PID {gone.pid} on {socket.gethostname()}" in (
        caplog.text
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["records.csv.lock"]
    lock.release()


def test_liveness_by_pid_start_time_and_heartbeat():
    here = socket.gethostname()
    me = {"pid": os.getpid(), "host": here}
    assert holder_alive(me, age_seconds=10**6)  # on this host the PID decides, not the age
    assert not holder_alive({**me, "started": -1}, 0)  # the PID was reused by another process
    assert holder_alive({"pid": 1, "host": "node-7"}, age_seconds=STALE_SECONDS - 1)
    assert not holder_alive({"pid": 1, "host": "node-7"}, age_seconds=STALE_SECONDS + 1)


def test_a_lock_from_another_host_is_taken_over_once_its_heartbeat_is_stale(tmp_path):
    path = tmp_path / "x.lock"
    path.write_text(json.dumps({"pid": 1, "host": "node-7", "since": "then"}))
    with pytest.raises(OutputLockedError, match=r"PID 1 on host node-7 \(heartbeat \d+ s ago\)"):
        acquire(path, heartbeat=False, wait_for_other_host=0)
    old = time.time() - STALE_SECONDS - 5
    os.utime(path, (old, old))
    lock = acquire(path, heartbeat=False, wait_for_other_host=0)
    assert json.loads(path.read_text())["host"] == socket.gethostname()
    lock.release()


def test_a_lock_from_another_host_is_waited_for_until_its_heartbeat_goes_stale(
    tmp_path, monkeypatch
):
    """A job retried on another node after its node was lost: the lost job's lock still has a
    recent heartbeat; the job waits for it to go stale and takes it over."""
    import qtrain.run.locks as locks

    monkeypatch.setattr(locks, "STALE_SECONDS", 0.6)
    path = tmp_path / "x.lock"
    path.write_text(json.dumps({"pid": 1, "host": "node-7", "since": "then"}))
    tic = time.monotonic()
    lock = acquire(path, heartbeat=False, wait_for_other_host=30)
    assert 0.3 < time.monotonic() - tic < 20
    assert json.loads(path.read_text())["pid"] == os.getpid()
    lock.release()


def test_the_heartbeat_touches_the_lock(tmp_path):
    path = tmp_path / "x.lock"
    lock = acquire(path, heartbeat=False)
    old = time.time() - 1000
    os.utime(path, (old, old))
    lock.start_heartbeat(every=0.05)
    deadline = time.monotonic() + 10
    while path.stat().st_mtime < old + 500 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert path.stat().st_mtime > old + 500
    lock.release()
    assert not path.exists()


def test_release_leaves_a_lock_another_process_took(tmp_path):
    path = tmp_path / "x.lock"
    lock = acquire(path, heartbeat=False)
    path.write_text(json.dumps({"pid": 12345678, "host": "elsewhere"}))
    lock.release()
    assert path.exists()
