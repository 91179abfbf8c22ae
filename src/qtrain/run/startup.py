"""Before any job runs: results whose settings or content no longer match their provenance.

Snakemake decides what to run from file times and, where its metadata in ``.snakemake/`` holds
them, from the params, code and inputs each file was made with. Results copied, shared or
restored without that metadata have only file times: a changed setting reruns nothing, and an
edited table flows into the claims. Each result's provenance record holds what made it
(:mod:`qtrain.run.provenance`), so :func:`install` has Snakemake compare them, once it has built
the run's jobs and before it decides which of them need to run:

- a result made with **other params** (the job's settings, e.g. ``sparse_train.lr``) is made
  again: its job is marked as if given to ``--forcerun``, with a warning naming the file, the
  key and the old and new values; the jobs after it follow, as for any rerun. A dry run shows
  it (``reason: Forced execution``) and changes nothing.
- a result whose **content changed** after its rule wrote it (sha256 or size differs from the
  record) stops the run before any job, naming the file, its rule and what to do; with
  ``--forcerun`` of that rule or file (or ``--forceall``) it is made again instead.

This check runs at that moment, not while the Snakefile is read, because only then are the
targets, ``--forcerun`` and the dry-run flag known, and a result can be marked for rerun
without deleting anything. It compares every output of the run's jobs that exists and has a
stamped record; files up to :data:`~qtrain.run.provenance.EAGER_BYTES` are hashed, bigger ones
compared by size (their readers hash them in full before use).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .provenance import (
    EAGER_BYTES,
    content_change,
    normalise,
    params_changes,
    read_record,
)

__all__ = ["Finding", "Review", "install", "review_jobs"]


@dataclass
class Finding:
    """One result that no longer matches its record: ``changes`` are ``(key, old, new)`` for
    other params, ``content`` says how the content differs for an edited file."""

    job: Any
    output: str
    changes: list[tuple[str, Any, Any]] = field(default_factory=list)
    content: str | None = None


@dataclass
class Review:
    """What :func:`review_jobs` found: results made with other params (``stale``), results
    edited after their rule wrote them (``edited``), and how many results it compared."""

    stale: list[Finding] = field(default_factory=list)
    edited: list[Finding] = field(default_factory=list)
    compared: int = 0
    seconds: float = 0.0


def _label(job: Any) -> str:
    wildcards = ", ".join(f"{k}={v}" for k, v in dict(job.wildcards_dict).items())
    return f"rule {job.rule.name}" + (f" ({wildcards})" if wildcards else "")


def review_jobs(
    jobs: Iterable[Any],
    forced: Callable[[Any], bool] = lambda job: False,
    eager_bytes: int = EAGER_BYTES,
) -> Review:
    """Compare the outputs of ``jobs`` (Snakemake jobs: ``rule.name``, ``output``, ``params``,
    ``wildcards_dict``) with their provenance records. Jobs with a missing output (they run
    anyway) and ``forced`` jobs are skipped; results without a stamped record are not compared.
    """
    tic = time.perf_counter()
    found = Review()
    for job in jobs:
        outputs = [str(f) for f in job.output]
        if not outputs or forced(job) or not all(Path(f).exists() for f in outputs):
            continue
        current: dict[str, Any] | None = None
        for output in outputs:
            if not Path(output).is_file():
                continue
            record = read_record(output)
            if not record or "content" not in record or "params" not in record:
                continue  # no stamped record (written before issue 24): not compared
            found.compared += 1
            content = content_change(output, record, eager_bytes)
            if content:
                found.edited.append(Finding(job, output, content=content))
                continue
            if current is None:
                try:
                    current = normalise(dict(job.params.items()))
                except Exception:  # a params function that needs more than wildcards
                    current = {}
                    break
            changes = params_changes(record["params"], current)
            if record.get("rule") not in (None, job.rule.name):
                changes.insert(0, ("rule", record.get("rule"), job.rule.name))
            if changes:
                found.stale.append(Finding(job, output, changes))
    found.seconds = time.perf_counter() - tic
    return found


def stale_message(findings: list[Finding]) -> list[str]:
    """One warning per job whose results were made with other params."""
    by_job: dict[Any, list[Finding]] = {}
    for finding in findings:
        by_job.setdefault(finding.job, []).append(finding)
    lines = []
    for job, items in by_job.items():
        changes = "; ".join(f"{key}: {old!r} -> {new!r}" for key, old, new in items[0].changes)
        more = f" and {len(items) - 1} more were" if len(items) > 1 else " was"
        lines.append(
            f"{_label(job)}: {items[0].output}{more} made with other settings "
            f"({changes}); they are made again, as with --forcerun"
        )
    return lines


def edited_message(findings: list[Finding]) -> str:
    """The error naming every result changed after its rule wrote it, and what to do."""
    files = "\n".join(f"  {f.output} (made by {_label(f.job)}; {f.content})" for f in findings)
    rules = " ".join(sorted({f.job.rule.name for f in findings}))
    return (
        "results changed after their rule wrote them (their content no longer matches the "
        f"sha256 in their provenance record):\n{files}\nNothing was run, so that no claim or "
        "figure reads them. Put the originals back, or delete them (the workflow makes them "
        f"again), or make them again with: snakemake --forcerun {rules} (with this run's "
        "--configfile and options)."
    )


def install(workflow: Any) -> None:
    """Have ``workflow`` (Snakemake's) review its jobs' results after building its jobs and
    before deciding which need to run (see the module doc). Call it from the Snakefile, in the
    main process."""
    from snakemake.exceptions import WorkflowError
    from snakemake.logging import logger

    prepare = workflow._prepare_dag

    def prepare_dag(*args: Any, **kwargs: Any) -> Any:
        result = prepare(*args, **kwargs)
        dag = workflow.dag
        check_incomplete = dag.check_incomplete

        def forced(job: Any) -> bool:
            return job.rule in dag.forcerules or not dag.forcefiles.isdisjoint(job.output)

        async def check_then_review() -> None:
            await check_incomplete()  # incomplete files (rerun-incomplete) are forced first
            found = review_jobs(list(dag.jobs), forced)
            if found.compared:
                logger.info(
                    f"qtrain: compared {found.compared} results with their provenance records "
                    f"({found.seconds:.1f} s): {len(found.stale)} made with other settings, "
                    f"{len(found.edited)} changed since"
                )
            if found.edited:
                raise WorkflowError(edited_message(found.edited))
            for line in stale_message(found.stale):
                logger.warning(line)
            dag.forcefiles.update(f.output for f in found.stale)

        dag.check_incomplete = check_then_review
        return result

    workflow._prepare_dag = prepare_dag
