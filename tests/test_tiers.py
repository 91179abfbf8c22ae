"""The test tiers (tests/tiers.py): markers derived from fixtures, and the checks that fail a test
marked for the wrong tier. Small suites run in a nested pytest session (pytester)."""

from __future__ import annotations

import pytest
from tiers import E2E, SHARED_RUN_FIXTURE, SLOW, WORKFLOW, executes_jobs, jobs_run

CONFTEST = f"""
import pytest
from tiers import pytest_collection_modifyitems, pytest_runtest_protocol


@pytest.fixture(scope="session")
def {SHARED_RUN_FIXTURE}():
    return "the shared run"


@pytest.fixture
def through_another_fixture({SHARED_RUN_FIXTURE}):
    return {SHARED_RUN_FIXTURE}


@pytest.fixture(scope="session")
def seed1_run():
    return "another whole run"
"""

SUITE = """
import pytest


def test_unit():
    pass


def test_reads_the_shared_run(tiny_run):
    pass


def test_reads_it_through_another_fixture(through_another_fixture):
    pass


@pytest.mark.slow
@pytest.mark.e2e
def test_extra_run():
    pass
"""


def _suite(pytester: pytest.Pytester, tests: str) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_suite=tests)
    pytester.makeini(
        "[pytest]\naddopts = -p no:cacheprovider --strict-markers\n"
        "markers =\n    slow: s\n    workflow: w\n    e2e: e\n"
    )


@pytest.mark.parametrize(
    ("selection", "selected"),
    [
        ("not slow", ["test_unit"]),  # the unit tier
        (
            "not e2e",  # make test
            ["test_unit", "test_reads_the_shared_run", "test_reads_it_through_another_fixture"],
        ),
        ("workflow", ["test_reads_the_shared_run", "test_reads_it_through_another_fixture"]),
        ("e2e", ["test_extra_run"]),
    ],
)
def test_a_test_using_the_shared_run_is_marked_workflow_and_slow(pytester, selection, selected):
    """The marker comes from the fixture (directly or through another fixture), never by hand:
    a test reading the shared run cannot land in the unit tier."""
    _suite(pytester, SUITE)
    result = pytester.runpytest_inprocess("-m", selection, "-v")
    result.assert_outcomes(passed=len(selected))
    ran = [line.split("::")[1].split()[0] for line in result.outlines if " PASSED" in line]
    assert ran == selected


def test_modules_run_from_those_waiting_for_no_run_to_those_reading_another_whole_run(pytester):
    """The tests that wait for no run come first (the whole runs go in the background meanwhile),
    then those reading the shared run, then e2e tests making long runs of their own, then those
    reading another whole run; a module moves whole, at its latest test's rank, in file order
    otherwise."""
    pytester.makeconftest(CONFTEST)
    pytester.makeini(
        "[pytest]\naddopts = -p no:cacheprovider --strict-markers\n"
        "markers =\n    slow: s\n    workflow: w\n    e2e: e\n"
    )
    pytester.makepyfile(
        test_a_other_run="def test_a(seed1_run):\n    pass\ndef test_b():\n    pass\n",
        test_b_shared="def test_c(tiny_run):\n    pass\n",
        test_c_unit="def test_d():\n    pass\n",
        test_d_e2e="import pytest\n@pytest.mark.slow\n@pytest.mark.e2e\n"
        "def test_e():\n    pass\ndef test_f():\n    pass\n",
        test_e_unit="def test_g():\n    pass\n",
    )
    result = pytester.runpytest_inprocess("-v")
    result.assert_outcomes(passed=7)
    ran = [line.split("::")[1].split()[0] for line in result.outlines if " PASSED" in line]
    assert ran == ["test_d", "test_g", "test_c", "test_e", "test_f", "test_a", "test_b"]


JOBS_WITHOUT_E2E = """
import pytest
from workflow_helpers import run_snakemake, shared_clean_run, start_snakemake
from tiers import check_jobs_run, require_e2e, require_jobs_allowed

STATS = "Job stats:\\njob  count\\n---  -----\\nsparse_train  {}\\ntotal  {}\\n"


def test_runs_a_whole_run_unmarked(tmp_path):
    run_snakemake(tmp_path, "--cores", "2")


def test_starts_a_whole_run_unmarked(tmp_path):
    start_snakemake(tmp_path, "--cores", "2", log=tmp_path / "log")


def test_reruns_everything_unmarked(tiny_run, tmp_path):
    require_jobs_allowed(tmp_path, ("results/tiny/x.csv", "--forceall", "--cores", "2"), None)


def test_reads_the_shared_run_without_its_fixture(tmp_path_factory):
    shared_clean_run(tmp_path_factory)


def test_opens_a_browser_unmarked():
    require_e2e("opens a browser")


def test_ran_many_jobs_unmarked(tiny_run):
    check_jobs_run(STATS.format(6, 6), ("results/tiny/claims.csv",))


@pytest.mark.slow
@pytest.mark.e2e
def test_e2e_runs_jobs_in_the_shared_run(tiny_run, tmp_path):
    require_jobs_allowed(tmp_path, ("results/tiny/x.csv",), shared_run=tmp_path)


@pytest.mark.slow
@pytest.mark.e2e
def test_marked_e2e(tmp_path):
    require_e2e("opens a browser")
    require_jobs_allowed(tmp_path, ("--cores", "2"), None)
    check_jobs_run(STATS.format(60, 60), ("--cores", "2"))


def test_a_few_jobs_for_named_targets(tmp_path):
    require_jobs_allowed(tmp_path, ("results/tiny/x.csv", "--forcerun", "prune"), None)
    check_jobs_run(STATS.format(5, 5), ("results/tiny/x.csv",))


def test_a_dry_run_lists_many_jobs_and_runs_none(tmp_path):
    require_jobs_allowed(tmp_path, ("-n", "--cores", "2"), None)
    check_jobs_run(STATS.format(60, 60), ("-n", "--cores", "2"))
"""


def test_running_jobs_of_its_own_without_the_e2e_marker_fails(pytester):
    """A test that makes a whole run of its own (no target, or --forceall), runs more than a few
    jobs in one call, or starts SLURM or a browser, and is not marked e2e, fails saying what to
    add; so does one that reaches the shared run without the fixture that marks it, and any that
    would run jobs in the shared run itself. A few jobs for named targets, and a dry run of any
    size (its job table lists what it would run), are fine in any tier."""
    _suite(pytester, JOBS_WITHOUT_E2E)
    result = pytester.runpytest_inprocess("-rA")
    result.assert_outcomes(passed=3, failed=7)
    passed = [line.split("::")[1] for line in result.outlines if line.startswith("PASSED ")]
    assert passed == [
        "test_marked_e2e",
        "test_a_few_jobs_for_named_targets",
        "test_a_dry_run_lists_many_jobs_and_runs_none",
    ]
    out = "\n".join(line for line in result.outlines if line.startswith("E "))  # the errors
    assert out.count("but it is not marked e2e: add @pytest.mark.slow and @pytest.mark.e2e") == 5
    assert out.count("makes a whole run of its own (snakemake --cores 2)") == 2
    assert "makes a whole run of its own (snakemake results/tiny/x.csv --forceall" in out
    assert "ran 6 workflow jobs (snakemake results/tiny/claims.csv; at most 5 in one" in out
    assert "reads the shared tiny run without the `tiny_run` fixture" in out
    assert "test_e2e_runs_jobs_in_the_shared_run runs jobs in the shared run" in out


def test_jobs_run_reads_snakemake_s_job_table():
    """The job count the check uses, from Snakemake's own table (as printed before the jobs)."""
    out = (
        "Building DAG of jobs...\nJob stats:\njob             count\n"
        "------------  -------\nprune                 1\nsparse_train          2\n"
        "total                 3\n\nSelect jobs to execute...\n"
    )
    assert jobs_run(out) == 3
    assert jobs_run("Building DAG of jobs...\nNothing to be done.\n") == 0


@pytest.mark.parametrize(
    ("args", "runs_jobs"),
    [
        (("--cores", "2"), True),
        (("results/tiny/x.csv", "--forcerun", "pretrain", "--cores", "2"), True),
        (("-n",), False),
        (("results/tiny/x.csv", "--dry-run"), False),
        (("--unlock",), False),
        (("--report", "report.html"), False),
        (("--report=report.html",), False),
        (("--lint",), False),
    ],
)
def test_which_snakemake_commands_run_jobs(args, runs_jobs):
    assert executes_jobs(args) is runs_jobs


def test_every_test_of_this_session_is_in_its_tier(request):
    """Over the tests collected in this session: a test using the shared run carries the
    workflow and slow markers; every e2e test is slow; no unit test uses the shared run."""
    for item in request.session.items:
        names = getattr(item, "fixturenames", ())
        marks = {m.name for m in item.iter_markers()}
        if SHARED_RUN_FIXTURE in names:
            assert {WORKFLOW, SLOW} <= marks, item.nodeid
        if E2E in marks:
            assert SLOW in marks, item.nodeid
        if SLOW not in marks:
            assert SHARED_RUN_FIXTURE not in names, item.nodeid


def test_whole_runs_start_at_collection_only_for_the_chosen_tests(monkeypatch):
    """conftest.pytest_collection_finish starts, in the background, the shared run when a chosen
    test reads it (through either fixture) and each e2e whole run a chosen test uses; none when
    only unit tests are chosen."""
    from types import SimpleNamespace

    import conftest

    def session(*fixtures: tuple[str, ...]):
        items = [SimpleNamespace(fixturenames=names) for names in fixtures]
        option = SimpleNamespace(collectonly=False)
        return SimpleNamespace(
            items=items, config=SimpleNamespace(option=option, _tmp_path_factory=None)
        )

    started: list[str] = []
    monkeypatch.setattr(conftest, "start_whole_run", lambda name, factory: started.append(name))
    conftest.pytest_collection_finish(session(("tmp_path",), ("repo",)))
    assert started == []
    conftest.pytest_collection_finish(session(("tmp_path",), ("seed1_run", "tiny_run")))
    assert started == ["tiny_run", "seed1_run"]
    started.clear()
    conftest.pytest_collection_finish(session(("trimmed_rehearsal_run",), ("slurm_run",)))
    assert started == ["slurm_run", "trimmed_rehearsal_run"]


def test_every_whole_run_has_its_fixture_and_rank():
    """Each of workflow_helpers.WHOLE_RUNS is a session fixture of tests/conftest.py, and the tier
    hook knows it (so that the tests reading it come last)."""
    import conftest
    from tiers import OTHER_RUN_FIXTURES
    from workflow_helpers import WHOLE_RUNS

    assert set(WHOLE_RUNS) == {SHARED_RUN_FIXTURE, *OTHER_RUN_FIXTURES}
    for name in WHOLE_RUNS:
        assert callable(getattr(conftest, name)), name
