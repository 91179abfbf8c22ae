"""Progress of long loops, readable in job logs and on the console.

:class:`Progress` is a ``tqdm`` that never writes carriage returns: it logs one whole line
("pretrain: 120/400 steps, 4.1 s/step, ETA 13 min") at most every ``mininterval`` seconds, and a
background thread prints the same line, prefixed with the job (``rule sparse_train
(variant=sparse)``), to the console every ``status_every`` seconds (default 60, or the
``QTRAIN_STATUS_SECONDS`` environment variable; 0: after every step, whatever the machine's
speed), also while one iteration takes long. In a
Snakemake ``script:`` job the console is Snakemake's standard output (the terminal, or the
SLURM job's output file); the log is the rule's log file.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import weakref
from typing import Any

from tqdm import tqdm

__all__ = ["Progress", "format_duration", "set_job_label", "status_interval"]

log = logging.getLogger(__name__)

_JOB_LABEL = ""
STATUS_ENV = "QTRAIN_STATUS_SECONDS"


def set_job_label(label: str) -> None:
    """Name the job in console status lines (``qtrain.run.job.setup_logging`` does this)."""
    global _JOB_LABEL
    _JOB_LABEL = label


def status_interval(default: float = 60.0) -> float:
    """Seconds between console status lines: ``QTRAIN_STATUS_SECONDS`` or ``default``; 0 means
    a line after every step."""
    try:
        value = float(os.environ.get(STATUS_ENV, default))
    except ValueError:
        return default
    return value if value >= 0 else default


def format_duration(seconds: float) -> str:
    """A duration for people: ``45 s``, ``13 min``, ``2.5 h``."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.3g}"


class _Discard:
    """A file that swallows what tqdm would draw (its carriage-return bar)."""

    encoding = "utf-8"

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


class Progress(tqdm):
    """``tqdm`` for jobs: whole lines to the log, a status line on the console every minute.

    Use it as tqdm (an iterable, or ``total=`` with :meth:`update`; ``initial=`` for a resumed
    loop). ``unit`` is singular (``"step"``); ``status_every`` defaults to
    :func:`status_interval`; ``console`` defaults to the process's standard output.
    """

    def __init__(
        self,
        iterable: Any = None,
        desc: str | None = None,
        total: float | None = None,
        *,
        unit: str = "step",
        mininterval: float = 30.0,
        status_every: float | None = None,
        console: Any = None,
        **kwargs: Any,
    ) -> None:
        self._unit_name = unit
        self._initial_n = kwargs.get("initial", 0)
        self._console = console
        self._status_every = status_interval() if status_every is None else status_every
        self._stop = threading.Event()
        kwargs.update(file=_Discard(), disable=False, ascii=True, leave=True, dynamic_ncols=False)
        if self._status_every == 0:  # every step: tqdm calls update() after each one
            mininterval, kwargs["miniters"] = 0, 1
        super().__init__(iterable, desc=desc, total=total, mininterval=mininterval, **kwargs)
        self._thread = None
        if self._status_every == 0:
            return
        self._thread = threading.Thread(
            target=_heartbeat,
            args=(weakref.ref(self), self._stop, self._status_every),
            name="qtrain-progress",
            daemon=True,
        )
        self._thread.start()

    def status(self) -> str:
        """``<desc>: <n>/<total> <unit>s, <s>/<unit>, ETA <duration>``."""
        n, total = self.n, self.total
        elapsed = time.time() - getattr(self, "start_t", time.time())
        done = n - self._initial_n
        count = f"{_number(n)}/{_number(total)}" if total else _number(n)
        parts = [f"{self.desc or 'progress'}: {count} {self._unit_name}s"]
        if done > 0:
            per = elapsed / done
            parts.append(f"{per:.3g} s/{self._unit_name}")
            if total:
                parts.append(f"ETA {format_duration(max(total - n, 0) * per)}")
        else:
            parts.append("ETA unknown")
        return ", ".join(parts)

    def update(self, n: float | None = 1) -> bool | None:
        """Count ``n`` more; with a status interval of 0, print the status line too."""
        displayed = super().update(n)
        if self._status_every == 0 and not self.disable:
            self.console_status()
        return displayed

    def display(self, msg: str | None = None, pos: int | None = None) -> bool:
        """Log the status as one line (tqdm calls this at most every ``mininterval``)."""
        if msg == "":  # tqdm clearing its bar: nothing to clear in a log
            return True
        log.info("%s", msg if msg is not None else self.status())
        return True

    def console_status(self) -> None:
        """Print the status line, prefixed with the job, on the console (and log it)."""
        line = self.status()
        label = f"{_JOB_LABEL}: " if _JOB_LABEL else ""
        stream = self._console if self._console is not None else sys.__stdout__
        try:
            stream.write(f"{label}{line}\n")
            stream.flush()
        except (OSError, ValueError, AttributeError):  # console closed: the log still has it
            pass
        log.info("status: %s", line)

    def close(self) -> None:
        """Stop the console status lines and log the final line."""
        self._stop.set()
        super().close()


def _heartbeat(bar: weakref.ref, stop: threading.Event, every: float) -> None:
    """Print ``bar``'s status every ``every`` seconds until it is closed or garbage."""
    while not stop.wait(every):
        progress = bar()
        if progress is None or progress.disable:
            return
        progress.console_status()
        del progress
