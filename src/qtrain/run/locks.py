"""A lock per job beside its first output: no two live processes write one job's outputs.

Snakemake's own lock (``.snakemake/locks``) covers a whole run and is lifted by ``--unlock``;
after a ``kill -9`` of Snakemake its jobs keep running (orphans), and a new run would start the
same jobs beside them and resume from the files they are still writing. So each job takes a lock
of its own before it touches anything (:func:`acquire`): a file ``<first output>.lock`` created
exclusively, holding the writer's PID, host, process start time and job, and touched every
:data:`HEARTBEAT_SECONDS` while the job runs. A job finding a lock refuses to run
(:class:`OutputLockedError`) while its holder lives: on the same host, while the PID runs (and is
the same process, by its start time); on another host (a cluster node), while the lock's
heartbeat is younger than :data:`STALE_SECONDS`. A lock left by a dead process (SIGKILL, a node
lost) is taken over with a warning. The lock is removed when the job ends.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "HEARTBEAT_SECONDS",
    "STALE_SECONDS",
    "OutputLock",
    "OutputLockedError",
    "acquire",
    "holder_alive",
    "lock_path",
]

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 30.0
"""How often a running job touches its lock."""
STALE_SECONDS = 180.0
"""A lock from another host whose heartbeat is older than this is stale (its job is gone)."""


class OutputLockedError(RuntimeError):
    """Another live process is writing this job's outputs."""


def lock_path(outputs: list[str]) -> Path:
    """The lock of a job with these declared outputs: ``<first output>.lock``."""
    return Path(f"{outputs[0]}.lock")


def _start_time(pid: int) -> int | None:
    """The start time of process ``pid`` (clock ticks since boot, Linux /proc), None if unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


def _pid_runs(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it runs
        return True
    return True


def holder_alive(holder: dict[str, Any], age_seconds: float) -> bool:
    """Whether the process that wrote lock record ``holder`` still holds it: on this host, its
    PID runs and started when the record says; elsewhere, the heartbeat is recent."""
    if holder.get("host") != socket.gethostname():
        return age_seconds < STALE_SECONDS
    pid = holder.get("pid")
    if not isinstance(pid, int) or not _pid_runs(pid):
        return False
    started = holder.get("started")
    now = _start_time(pid)
    return started is None or now is None or started == now


@dataclass
class OutputLock:
    """A held lock (see the module doc); :meth:`release` removes it."""

    path: Path
    record: dict[str, Any]
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)

    def start_heartbeat(self, every: float = HEARTBEAT_SECONDS) -> None:
        """Touch the lock every ``every`` seconds from a daemon thread until released."""

        def beat() -> None:
            while not self._stop.wait(every):
                with contextlib.suppress(OSError):
                    os.utime(self.path)

        threading.Thread(target=beat, name="qtrain-lock-heartbeat", daemon=True).start()

    def release(self) -> None:
        """Remove the lock if it is still this process's."""
        self._stop.set()
        with contextlib.suppress(OSError, ValueError):
            if json.loads(self.path.read_text()).get("pid") == self.record["pid"]:
                self.path.unlink()


def _read(path: Path) -> tuple[dict[str, Any] | None, float]:
    """The lock record at ``path`` (None if unreadable) and its heartbeat age in seconds."""
    age = time.time() - path.stat().st_mtime  # FileNotFoundError: released meanwhile
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None, age
    return (record if isinstance(record, dict) else None), age


def acquire(
    path: str | os.PathLike,
    job: str = "",
    heartbeat: bool = True,
    wait_for_other_host: float = STALE_SECONDS + HEARTBEAT_SECONDS,
) -> OutputLock:
    """Take the lock at ``path`` for this process (job label ``job``), taking over a stale one;
    :class:`OutputLockedError` naming the holder if a live process holds it.

    A lock held from another host is waited for, up to ``wait_for_other_host`` seconds, before
    refusing: a job retried on another node after its node was lost finds the lost job's lock
    with a recent heartbeat, which goes stale within :data:`STALE_SECONDS`."""
    path = Path(path)
    deadline = time.monotonic() + wait_for_other_host
    waiting = False
    path.parent.mkdir(parents=True, exist_ok=True)
    pid = os.getpid()
    record = {
        "pid": pid,
        "host": socket.gethostname(),
        "started": _start_time(pid),
        "job": job,
        "since": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    attempts = 0
    while attempts < 10:
        attempts += 1
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            try:
                holder, age = _read(path)
            except FileNotFoundError:
                continue  # released meanwhile: try again
            if holder is None:
                if age < 5.0:  # being written this instant
                    time.sleep(0.2)
                    continue
                holder = {}
            elif holder.get("pid") == pid and holder.get("host") == record["host"]:
                return OutputLock(path, holder)  # this process holds it already
            if holder and holder_alive(holder, age):
                elsewhere = holder.get("host") != record["host"]
                if elsewhere and time.monotonic() < deadline:
                    if not waiting:
                        log.warning(
                            "waiting up to %.0f s for the lock %s of PID %s on host %s "
                            "(heartbeat %.0f s ago)",
                            wait_for_other_host,
                            path,
                            holder.get("pid"),
                            holder.get("host"),
                            age,
                        )
                        waiting = True
                    time.sleep(min(5.0, max(0.0, deadline - time.monotonic())))
                    attempts -= 1  # waiting is not a failed attempt
                    continue
                raise OutputLockedError(_locked_message(path, holder, age)) from None
            _take_over(path, holder)
            continue
        with os.fdopen(fd, "w") as handle:
            json.dump(record, handle)
        lock = OutputLock(path, record)
        if heartbeat:
            lock.start_heartbeat()
        return lock
    raise OutputLockedError(f"could not take the lock {path}: it keeps changing hands")


def _take_over(path: Path, holder: dict[str, Any]) -> None:
    """Remove a stale lock (renamed first, so that of two processes taking it over only one
    removes it), with a warning naming its dead holder."""
    aside = path.with_name(f"{path.name}.stale-{os.getpid()}")
    try:
        os.rename(path, aside)
    except OSError as error:
        if error.errno == errno.ENOENT:
            return
        raise
    aside.unlink(missing_ok=True)
    who = (
        f"PID {holder.get('pid')} on {holder.get('host')} ({holder.get('job') or 'a job'}, "
        f"since {holder.get('since')})"
        if holder
        else "an unreadable record"
    )
    log.warning("took over the stale lock %s of %s: that process is gone", path, who)


def _locked_message(path: Path, holder: dict[str, Any], age: float) -> str:
    host = holder.get("host")
    here = host == socket.gethostname()
    where = "on this host" if here else f"on host {host} (heartbeat {age:.0f} s ago)"
    stop = (
        f"wait for it to finish, or stop it (kill {holder.get('pid')})"
        if here
        else f"wait for it to finish, or stop it there; a lock whose heartbeat is older than "
        f"{STALE_SECONDS:.0f} s is taken over"
    )
    return (
        f"another process is still writing this job's outputs: PID {holder.get('pid')} {where}, "
        f"{holder.get('job') or 'a job'} since {holder.get('since')} (lock {path}; e.g. a job "
        "left running by a killed Snakemake). This job refuses to run beside it, so that no two "
        f"processes write the same files; {stop}, then run the workflow again (it resumes "
        "from that job's checkpoints)"
    )
