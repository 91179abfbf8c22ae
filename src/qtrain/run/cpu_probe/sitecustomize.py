"""CPU probe of ``qtrain.run.estimate.record_reference`` (not part of the library).

``record_reference`` puts this folder first on PYTHONPATH and names a log file in
``QTRAIN_CPU_PROBE``; every Python process then imports this module at start-up, and each
Snakemake script job (a ``__main__`` with a ``snakemake`` object) appends one JSON line when it
exits: its rule, wildcards and CPU seconds (user + system, its own and its finished children's).
Without ``QTRAIN_CPU_PROBE`` it does nothing.
"""

from __future__ import annotations

import atexit
import json
import os
import resource
import sys
import time

_LOG = os.environ.get("QTRAIN_CPU_PROBE")
_START = time.monotonic()


def _record() -> None:
    job = getattr(sys.modules.get("__main__"), "snakemake", None)
    if job is None or not hasattr(job, "rule"):
        return
    cpu = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        cpu += usage.ru_utime + usage.ru_stime
    line = {
        "rule": job.rule,
        "wildcards": {k: str(v) for k, v in job.wildcards.items()},
        "cpu_seconds": round(cpu, 3),
        "wall_seconds": round(time.monotonic() - _START, 3),
    }
    with open(_LOG, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(line) + "\n")


if _LOG:
    atexit.register(_record)
