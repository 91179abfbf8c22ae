"""The job frame of every rule script: ``with job(snakemake) as run: ...``.

Opening it, in this order: logging and stderr go to the rule's log; SIGTERM and SIGINT end the
job through ``SystemExit`` (logged in one line, unfinished atomic writes cleaned up); the job's
writer lock is taken (:mod:`.locks`: another live writer of the same outputs stops it); the
temporaries and provenance records a killed writer left beside the outputs are removed; torch
gets the rule's threads and the device comes from ``resources.gpu`` with the GPU fit check.
Closing it after success: every output gets its provenance record (config, device, measured
usage, timing) stamped with the job (:func:`~.provenance.stamp_outputs`) and the resume state
is removed. On failure the records of the outputs are removed (Snakemake removes the outputs).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from .files import _write_error, remove_temporaries
from .provenance import provenance_path

__all__ = [
    "Job",
    "finish_job",
    "handle_signals",
    "job",
    "job_label",
    "log_to",
    "setup_logging",
    "start_job",
]

log = logging.getLogger(__name__)


class Job:
    """The running job as a script sees it: ``log``, ``device`` (a ``torch.device`` when the
    frame chose one), ``threads``, and what to do when it ends well (:meth:`record`,
    :meth:`remove_on_success`)."""

    def __init__(self, smk: Any, log: logging.Logger) -> None:
        self.snakemake = smk
        self.log = log
        self.device: Any = None
        self.threads = int(getattr(smk, "threads", 1) or 1)
        self.started = time.perf_counter()
        self._config: Mapping[str, Any] | None = None
        self._extra: dict[str, Any] = {}
        self._recorded = False
        self._leftovers: list[str] = []
        self._outputs: list[str] | None = None

    @property
    def seconds(self) -> float:
        """Wall-clock seconds since the frame opened."""
        return time.perf_counter() - self.started

    def record(self, config: Mapping[str, Any] | None, outputs: Any = None, **extra: Any) -> None:
        """Give every output (or those of ``outputs``) a provenance record with ``config`` and
        ``extra`` when the job ends well, with the device, the measured usage
        (:func:`.usage.job_usage`) and, with ``timed=True``, the wall seconds."""
        self._config, self._extra, self._recorded = config, dict(extra), True
        self._outputs = None if outputs is None else [str(p) for p in outputs]

    def remove_on_success(self, *paths: str | os.PathLike) -> None:
        """Resume state to remove once the outputs are written (:mod:`.resume`)."""
        self._leftovers.extend(str(p) for p in paths)

    def _write_records(self) -> None:
        from .provenance import write_provenance
        from .usage import job_usage

        extra = dict(self._extra)
        if extra.pop("timed", False):
            extra["wall_seconds"] = self.seconds
        usage = job_usage(self.device) if extra.pop("usage", True) else {}
        outputs = self._outputs
        for path in getattr(self.snakemake, "output", []) if outputs is None else outputs:
            write_provenance(path, self._config, device=self.device, **extra, **usage)


@contextlib.contextmanager
def job(smk: Any, *, torch: bool = False, level: int = logging.INFO) -> Iterator[Job]:
    """The frame of one Snakemake ``script:`` job (``smk``: its ``snakemake`` object).

    Steps, each explicit: :func:`log_to` the rule's log; :func:`handle_signals`;
    :func:`start_job` (lock, temporaries, stale records, progress label); with ``torch``,
    torch's threads from the rule's ``threads``, the device from ``resources.gpu``
    (:func:`.devices.select_device`) and the fit check (:func:`.resources.check_rule_fits`).
    On success: the provenance of every output (:meth:`Job.record`), the resume state
    removed, :func:`finish_job`. On failure (an exception, SIGTERM, SIGINT): the outputs'
    records removed, the lock released, the exception re-raised.
    """
    log = log_to(smk.log[0] if len(getattr(smk, "log", [])) else None, level)
    handle_signals()
    start_job(smk)
    frame = Job(smk, log)
    try:
        if torch:
            _choose_device(frame)
        yield frame
        if frame._recorded:
            frame._write_records()
    except BaseException:
        _Job.failed = True
        _remove_output_provenance()
        _release()
        raise
    if frame._leftovers:
        from .resume import remove_resume_state

        remove_resume_state(*frame._leftovers)
    finish_job()


def _choose_device(frame: Job) -> None:
    """Threads, device and fit check of a torch job."""
    import torch

    from .devices import select_device
    from .resources import check_rule_fits

    smk = frame.snakemake
    torch.set_num_threads(frame.threads)
    frame.device = select_device(getattr(smk, "resources", {}).get("gpu", 0))
    check_rule_fits(smk, frame.device)  # fail before any work if the GPU is too small
    frame.log.info("device %s, %d threads", frame.device, frame.threads)


def log_to(log_file: str | os.PathLike | None, level: int = logging.INFO) -> logging.Logger:
    """Send Python logging and stderr to ``log_file`` (the rule's log); the ``qtrain`` logger."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    if log_file is not None:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        stream = open(log_file, "a", buffering=1)
        sys.stderr = stream
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)
    return logging.getLogger("qtrain")


def handle_signals() -> None:
    """Make SIGTERM (a scheduler's time limit, ``scancel``, ``kill``) and SIGINT (Ctrl-C) end
    the job through ``SystemExit``: logged in one line, unfinished atomic writes cleaned up,
    the outputs' records removed (only the main thread can install handlers)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _exit_on_signal)
        signal.signal(signal.SIGINT, _exit_on_signal)


def setup_logging(
    log_file: str | os.PathLike | None, level: int = logging.INFO, *, job: Any = None
) -> logging.Logger:
    """The frame for code that cannot use :func:`job` as a ``with`` block: :func:`log_to`,
    :func:`handle_signals` and, for a Snakemake job ``job``, :func:`start_job` with
    :func:`finish_job` at exit (records stamped on success, removed by an uncaught
    exception)."""
    log = log_to(log_file, level)
    handle_signals()
    if job is not None:
        import atexit

        start_job(job)
        if sys.excepthook is not _excepthook:
            global _previous_excepthook
            _previous_excepthook = sys.excepthook
            sys.excepthook = _excepthook
            atexit.register(finish_job)
    return log


class _Job:
    """The running job's frame: its declared outputs, lock and outcome."""

    outputs: list[str] = []
    lock: Any = None
    failed: bool = False
    rule: str = "?"
    wildcards: dict[str, Any] = {}
    params: dict[str, Any] = {}


def start_job(job: Any) -> None:
    """Lock ``job``'s outputs (another live writer stops this one: exit 1, the reason in the
    log; a dead writer's lock is taken over), remove the temporaries a killed writer left
    beside them and their provenance records (a record of an older result never stands beside
    a missing or new one), and name the job in the progress status lines."""
    from .locks import OutputLockedError, acquire, lock_path
    from .progress import set_job_label

    outputs = [str(path) for path in getattr(job, "output", [])]
    label = job_label(job)
    if outputs:
        lock = lock_path(outputs)
        try:
            _Job.lock = acquire(lock, label)
        except OutputLockedError as error:
            logging.getLogger("qtrain").error("%s: %s", label, error)
            raise SystemExit(1) from None
        except OSError as error:  # e.g. a result folder that cannot be written
            logging.getLogger("qtrain").error("%s: %s", label, _write_error(lock, error))
            raise SystemExit(1) from None
    _Job.outputs = outputs
    _Job.failed = False
    _Job.rule = str(getattr(job, "rule", "?"))
    _Job.wildcards = _items(getattr(job, "wildcards", {}))
    _Job.params = _items(getattr(job, "params", {}))
    for output in outputs:
        remove_temporaries(output)
    _remove_output_provenance()
    set_job_label(label)


def _items(named: Any) -> dict[str, Any]:
    """A Snakemake Namedlist (wildcards, params) or mapping as a dict of its named items."""
    try:
        return dict(named.items())
    except (AttributeError, TypeError, ValueError):
        return {}


def finish_job() -> None:
    """Stamp the outputs' provenance records with the job (rule, wildcards, params, content
    hash: :func:`.provenance.stamp_outputs`) if it succeeded; release its lock. A job whose
    records cannot be stamped fails (exit 1) with the reason in its log."""
    try:
        if not _Job.failed and _Job.outputs:
            from .provenance import stamp_outputs

            try:
                stamp_outputs(_Job.outputs, _Job.rule, _Job.wildcards, _Job.params)
            except Exception as error:  # e.g. a full disk: the job did not finish
                logging.getLogger("qtrain").error(
                    "could not record the provenance of this job's outputs: %s", error
                )
                _remove_output_provenance()
                logging.shutdown()
                os._exit(1)
    finally:
        _release()


def _release() -> None:
    if _Job.lock is not None:
        _Job.lock.release()
        _Job.lock = None


def job_label(job: Any) -> str:
    """``rule <name>`` with its wildcards, e.g. ``rule sparse_train (variant=sparse)``."""
    label = f"rule {getattr(job, 'rule', '?')}"
    try:
        wildcards = ", ".join(f"{k}={v}" for k, v in job.wildcards.items())
    except AttributeError:
        wildcards = ""
    return f"{label} ({wildcards})" if wildcards else label


def _remove_output_provenance() -> None:
    for output in _Job.outputs:
        with contextlib.suppress(OSError):
            provenance_path(output).unlink(missing_ok=True)


_previous_excepthook = sys.excepthook


def _excepthook(kind: type[BaseException], error: BaseException, trace: Any) -> None:
    _Job.failed = True
    _remove_output_provenance()
    _previous_excepthook(kind, error, trace)


_SIGNALS = {
    signal.SIGTERM: "SIGTERM (time limit, scancel or kill)",
    signal.SIGINT: "SIGINT (Ctrl-C)",
}


def _exit_on_signal(signum: int, frame: Any) -> None:
    _Job.failed = True
    logging.getLogger("qtrain").error(
        "stopped by %s: this job's outputs are incomplete; run the workflow again to redo it "
        "(resumable jobs continue from their checkpoints)",
        _SIGNALS.get(signum, f"signal {signum}"),
    )
    _remove_output_provenance()
    raise SystemExit(128 + signum)
