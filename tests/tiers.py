"""The test tiers: markers derived from fixtures, and checks that fail a test in the wrong tier
(pytest hooks loaded by tests/conftest.py; not a test module).

- unit: no marker. Library units against oracles, dry runs, lint, config errors: seconds.
- ``workflow`` (derived, never written by hand): the test uses the ``tiny_run`` fixture (the one
  run of the whole workflow on the tiny preset, shared by the session), directly or through
  another fixture. It reads that run and may dry-run or report on it, nothing more.
- ``e2e`` (explicit, with ``slow``): the test makes runs of its own: a whole extra run, jobs rerun
  on a copy of the shared run (kill and resume, bad input), SLURM, the browser, torch.compile.

``slow`` is added to every ``workflow`` and ``e2e`` test, so ``-m "not slow"`` is the unit tier.
``make test`` runs ``-m "not e2e"`` (units and the shared run), ``make test-all`` everything.

A marker cannot drift: ``workflow`` is derived here from the fixtures, and the helpers that run
workflow jobs (``workflow_helpers.run_snakemake`` / ``start_snakemake`` without ``-n``), start the
SLURM test cluster or a browser call :func:`require_e2e`, which fails a test not marked ``e2e``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

SHARED_RUN_FIXTURE = "tiny_run"
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


# Snakemake options after which no job is executed: these may run in any tier.
NO_JOBS = frozenset(
    {"-n", "--dry-run", "--dryrun", "--unlock", "--lint", "--report", "--summary", "-D"}
    | {"--detailed-summary", "--list-rules", "-l", "--dag", "--rulegraph", "--filegraph"}
)


def executes_jobs(args: tuple[str, ...] | list[str]) -> bool:
    """Whether ``snakemake ARGS`` executes jobs (not a dry run, an unlock, a lint or a report)."""
    return not any(arg in NO_JOBS or arg.startswith("--report=") for arg in args)
