"""The test tiers: markers derived from fixtures, and checks that fail a test in the wrong tier
(pytest hooks loaded by tests/conftest.py; not a test module).

- unit: no marker. Library units against oracles, dry runs, lint, config errors: seconds. It may
  run a few jobs for named targets (one cheap job, say).
- ``workflow`` (derived, never written by hand): the test uses the ``tiny_run`` fixture (the one
  run of the whole workflow on the tiny preset, shared by the session), directly or through
  another fixture. It reads that run, dry-runs or reports on it, or reruns the few jobs a change
  concerns on a copy of it (never in the shared run itself).
- ``e2e`` (explicit, with ``slow``): the test makes runs of its own: a whole extra run (no
  target, or ``--forceall``), more than ``MAX_JOBS`` jobs in one Snakemake call, the SLURM
  cluster, the browser, torch.compile; and, by choice, the long kill-and-resume and bad-input
  tests of tests/test_reliability.py.

``slow`` is added to every ``workflow`` and ``e2e`` test, so ``-m "not slow"`` is the unit tier
(a few long unit tests, e.g. the dry runs of every documented command, carry ``slow`` by hand).
``make test`` runs ``-m "not e2e"`` (units and the shared run), ``make test-all`` everything.

A marker cannot drift: ``workflow`` is derived here from the fixtures; the helpers that run
workflow jobs (``workflow_helpers.run_snakemake`` / ``start_snakemake`` without ``-n``) call
:func:`require_jobs_allowed` before the run and :func:`check_jobs_run` after it, and the SLURM
test cluster and the browser call :func:`require_e2e`: each fails a test whose tier may not do
what it does, saying what to add.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

SHARED_RUN_FIXTURE = "tiny_run"
SHARED_RUN_FIXTURES = (SHARED_RUN_FIXTURE,)  # the fixtures that give the shared run
# The fixtures of the e2e tier's other whole runs (workflow_helpers.WHOLE_RUNS).
OTHER_RUN_FIXTURES = ("seed1_run", "threads2_run", "slurm_run", "trimmed_rehearsal_run")
WORKFLOW, E2E, SLOW = "workflow", "e2e", "slow"
# The most jobs one Snakemake call of a unit or workflow-tier test may run (on a copy of the
# shared run: the few jobs a change concerns; each costs seconds of start-up).
MAX_JOBS = 5

_RUNNING: list[Any] = []  # the test item running now (a stack: pytester nests sessions)


class TierError(AssertionError):
    """A test does what its tier does not allow (see tests/tiers.py)."""


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """``workflow`` on every test that uses the shared run; ``slow`` on workflow and e2e; the
    modules in the order of :func:`waiting_rank`."""
    for item in items:
        if set(SHARED_RUN_FIXTURES) & set(getattr(item, "fixturenames", ())):
            item.add_marker(WORKFLOW)
        if item.get_closest_marker(WORKFLOW) or item.get_closest_marker(E2E):
            if not item.get_closest_marker(SLOW):
                item.add_marker(SLOW)
    module_rank: dict[str, int] = {}
    for item in items:
        module = item.nodeid.split("::")[0]
        module_rank[module] = max(module_rank.get(module, 0), waiting_rank(item))
    items.sort(key=lambda item: module_rank[item.nodeid.split("::")[0]])  # stable


def waiting_rank(item: pytest.Item) -> int:
    """How late a test comes: 0 waits for no run, 1 reads the shared run, 2 makes long runs of
    its own (e2e), 3 reads another whole run. The whole runs start in the background when the
    tests are chosen (tests/conftest.py), so the tests that need none run meanwhile, and the
    shared run (at the tests' priority) is done before the tests that read it. A module comes
    at its latest test's rank, whole (its module fixtures are made once)."""
    fixtures = set(getattr(item, "fixturenames", ()))
    if fixtures & set(OTHER_RUN_FIXTURES):
        return 3
    if item.get_closest_marker(E2E):
        return 2
    return 1 if item.get_closest_marker(WORKFLOW) else 0


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[Any]:
    """Remember the running test (setup, call and teardown) for the checks below."""
    _RUNNING.append(item)
    try:
        return (yield)
    finally:
        _RUNNING.pop()


def running_test() -> pytest.Item | None:
    """The test pytest is running now (None outside a test, e.g. helpers used from a shell)."""
    return _RUNNING[-1] if _RUNNING else None


def has_marker(name: str) -> bool:
    """Whether the running test carries marker ``name`` (True outside pytest: nothing to check)."""
    item = running_test()
    return item is None or item.get_closest_marker(name) is not None


def require_e2e(what: str) -> None:
    """Fail the running test unless it is marked ``e2e``: it does ``what``."""
    if not has_marker(E2E):
        raise TierError(
            f"{running_test().nodeid} {what}, but it is not marked e2e: add "
            "@pytest.mark.slow and @pytest.mark.e2e (tests/tiers.py; `make test` leaves e2e "
            "tests to `make test-all`)"
        )


def require_shared_run_fixture() -> None:
    """Fail the running test unless it reached the shared run through the ``tiny_run`` fixture
    (which marks it ``workflow``)."""
    if not has_marker(WORKFLOW):
        raise TierError(
            f"{running_test().nodeid} reads the shared tiny run without the `tiny_run` fixture: "
            "take the run from it (or from a fixture that uses it), so that the test is marked "
            "for the workflow tier (tests/tiers.py)"
        )


def require_jobs_allowed(workdir: Path, args: Sequence[str], shared_run: Path | None) -> None:
    """Before ``snakemake ARGS`` runs in ``workdir``: fail the running test unless its tier may
    start it. Any tier may dry-run (and the like) or make named targets (the first arguments);
    a whole run (no target, or ``--forceall``) is the e2e tier's. No test runs jobs in the shared
    run itself (``shared_run``): the others read it."""
    if not executes_jobs(args):
        return
    command = f"snakemake {' '.join(args)}"
    if shared_run is not None and Path(workdir).resolve() == Path(shared_run).resolve():
        where = running_test().nodeid if running_test() else "a helper"
        raise TierError(
            f"{where} runs jobs in the shared run ({command}): the other tests read it; copy it "
            "first (shutil.copytree) and run them in the copy"
        )
    if not args or args[0].startswith("-") or FORCE_ALL & set(args):
        require_e2e(f"makes a whole run of its own ({command})")


def jobs_run(output: str) -> int:
    """The number of jobs a Snakemake run started: the total of its "Job stats" table (0 when
    it stopped before any job)."""
    match = re.search(r"^Job stats:\n(?:.*\n)*?total\s+(\d+)\s*$", output, re.MULTILINE)
    return int(match.group(1)) if match else 0


def check_jobs_run(output: str, args: Sequence[str]) -> None:
    """After ``snakemake ARGS`` printed ``output``: fail the running test unless it is marked
    e2e or Snakemake ran at most ``MAX_JOBS`` jobs; more is a run of its own. A dry run's
    "Job stats" list the jobs it would run: none ran."""
    if not executes_jobs(args):
        return
    jobs = jobs_run(output)
    if jobs > MAX_JOBS:
        require_e2e(
            f"ran {jobs} workflow jobs (snakemake {' '.join(args)}; at most {MAX_JOBS} in one "
            "call outside the e2e tier)"
        )


# Snakemake options after which no job is executed: these may run in any tier.
NO_JOBS = frozenset(
    {"-n", "--dry-run", "--dryrun", "--unlock", "--lint", "--report", "--summary", "-D"}
    | {"--detailed-summary", "--list-rules", "-l", "--dag", "--rulegraph", "--filegraph"}
)
# Options that make Snakemake rerun every job of the DAG.
FORCE_ALL = frozenset({"-F", "--forceall"})


def executes_jobs(args: tuple[str, ...] | list[str]) -> bool:
    """Whether ``snakemake ARGS`` executes jobs (not a dry run, an unlock, a lint or a report)."""
    return not any(arg in NO_JOBS or arg.startswith("--report=") for arg in args)
