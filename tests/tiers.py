"""The test tiers: markers derived from fixtures, and checks that fail a test in the wrong tier
(pytest hooks loaded by tests/conftest.py; not a test module).

- unit: no marker. Library units against oracles, dry runs, lint, config errors: seconds.
- ``workflow`` (derived, never written by hand): the test uses the ``tiny_run`` fixture (the one
  run of the whole workflow on the tiny preset, shared by the session), directly or through
  another fixture. It reads that run, dry-runs or reports on it, or reruns the few jobs a change
  concerns on a copy of it (never in the shared run itself, never a whole run).
- ``e2e`` (explicit, with ``slow``): the test makes runs of its own: a whole extra run (in a
  folder that holds no copy of the shared run's results, or with ``--forceall``), the SLURM
  cluster, the browser, torch.compile; and, by choice, the long kill-and-resume and bad-input
  tests of tests/test_reliability.py.

``slow`` is added to every ``workflow`` and ``e2e`` test, so ``-m "not slow"`` is the unit tier
(a few unit tests that take long, dry runs of every documented command, carry ``slow`` by hand).
``make test`` runs ``-m "not e2e"`` (units and the shared run), ``make test-all`` everything.

A marker cannot drift: ``workflow`` is derived here from the fixtures, and the helpers that run
workflow jobs (``workflow_helpers.run_snakemake`` / ``start_snakemake`` without ``-n``), start the
SLURM test cluster or a browser call :func:`require_jobs_allowed` or :func:`require_e2e`, which
fail a test that is not in a tier allowed to do it, saying what to add.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

SHARED_RUN_FIXTURE = "tiny_run"
SHARED_PRESET = "tiny"  # the shared run's results lie under results/tiny/
WORKFLOW, E2E, SLOW = "workflow", "e2e", "slow"

_RUNNING: list[Any] = []  # the test item running now (a stack: pytester nests sessions)


class TierError(AssertionError):
    """A test does what its tier does not allow (see tests/tiers.py)."""


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """``workflow`` on every test that uses the shared run; ``slow`` on workflow and e2e."""
    for item in items:
        if SHARED_RUN_FIXTURE in getattr(item, "fixturenames", ()):
            item.add_marker(WORKFLOW)
        if item.get_closest_marker(WORKFLOW) or item.get_closest_marker(E2E):
            if not item.get_closest_marker(SLOW):
                item.add_marker(SLOW)


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
    """Fail the running test unless its tier may run ``snakemake ARGS`` in ``workdir``: any tier
    a dry run (and the like); the workflow tier jobs on a copy of the shared run (``workdir``
    holds results of the tiny preset) without ``--forceall``; a whole run only the e2e tier.
    No test runs jobs in the shared run itself (``shared_run``): the others read it."""
    if not executes_jobs(args):
        return
    command = f"snakemake {' '.join(args)}"
    if shared_run is not None and Path(workdir).resolve() == Path(shared_run).resolve():
        raise TierError(
            f"{running_test().nodeid if running_test() else 'a helper'} runs jobs in the shared "
            f"run ({command}): the other tests read it; copy it first (shutil.copytree)"
        )
    on_a_copy = (Path(workdir) / "results" / SHARED_PRESET).is_dir()
    whole = on_a_copy and FORCE_ALL & set(args)
    if on_a_copy and not whole and has_marker(WORKFLOW):
        return
    what = "reruns every job of a copy" if whole else "runs workflow jobs of its own"
    require_e2e(f"{what} ({command})")


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
