"""Progress of long loops: whole lines in the log (no carriage returns), a status line with an
ETA on the console at least every interval, also while one iteration takes long."""

from __future__ import annotations

import io
import logging
import re
import time

import pytest
from workflow_helpers import wait_for

from qtrain.run.progress import Progress, format_duration, set_job_label, status_interval

LINE = re.compile(r"^train: \d+/10 steps, (ETA unknown|[\d.e-]+ s/step, ETA \d+ (s|min|h))$")


@pytest.fixture
def log_text():
    """What qtrain.run.progress logs, as the rule's log file would hold it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("qtrain.run.progress")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield stream
    logger.removeHandler(handler)


def test_log_gets_whole_lines_without_carriage_returns(log_text):
    console = io.StringIO()
    bar = Progress(total=10, desc="train", mininterval=0, status_every=3600, console=console)
    for _ in range(10):
        bar.update(1)
    bar.close()
    text = log_text.getvalue()
    assert "\r" not in text and "\x1b" not in text
    lines = [line.removeprefix("INFO ") for line in text.splitlines()]
    assert lines[0] == "train: 0/10 steps, ETA unknown"
    assert lines[-1].startswith("train: 10/10 steps, ")
    assert all(LINE.match(line) for line in lines), lines
    assert console.getvalue() == ""  # the interval did not elapse


def test_console_status_line_every_interval_even_inside_a_long_iteration(log_text):
    """With no update for many intervals (one long step), status lines keep coming; once closed,
    none. Waits for the lines (up to a minute) instead of sleeping a set time: the test does
    not depend on how fast the machine is."""
    set_job_label("rule sparse_train (variant=sparse)")
    console = io.StringIO()
    try:
        bar = Progress(total=10, desc="train", initial=4, status_every=0.05, console=console)
        bar.update(1)
        assert wait_for(lambda: len(console.getvalue().splitlines()) >= 3, timeout=60)
        bar.close()
        bar._thread.join(timeout=60)  # the status thread ends with the bar
        assert not bar._thread.is_alive()
        lines = console.getvalue().splitlines()
        time.sleep(0.2)  # 4 intervals: nothing more comes once the thread has ended
        assert console.getvalue().splitlines() == lines
    finally:
        set_job_label("")
    assert len(lines) >= 3, lines
    assert re.fullmatch(
        r"rule sparse_train \(variant=sparse\): train: 5/10 steps, [\d.e-]+ s/step, ETA \d+ s",
        lines[-1],
    ), lines
    assert "status: train: 5/10 steps" in log_text.getvalue()  # the log has it too


def test_status_interval_zero_prints_after_every_step(log_text):
    """QTRAIN_STATUS_SECONDS=0: one console status line per step (loops that call update() and
    iterated ones alike), however fast the steps are; no status thread."""
    console = io.StringIO()
    bar = Progress(total=5, desc="train", status_every=0, console=console)
    for _ in range(5):
        bar.update(1)
    bar.close()
    assert bar._thread is None
    lines = console.getvalue().splitlines()
    assert [line.split(",")[0] for line in lines] == [f"train: {k}/5 steps" for k in range(1, 6)]
    assert all(re.search(r", [\d.e-]+ s/step, ETA \d+ s$", line) for line in lines), lines
    console = io.StringIO()
    runs = Progress(range(4), desc="runs", unit="run", status_every=0, console=console)
    assert list(runs) == [0, 1, 2, 3]
    assert [line.split(",")[0] for line in console.getvalue().splitlines()] == [
        f"runs: {k}/4 runs" for k in range(1, 5)
    ]


def test_iterating_closes_the_bar_and_counts(log_text):
    assert [x for x in Progress(range(3), desc="runs", unit="run", mininterval=0)] == [0, 1, 2]
    assert log_text.getvalue().splitlines()[-1].startswith("INFO runs: 3/3 runs, ")


def test_status_interval_and_durations(monkeypatch):
    monkeypatch.setenv("QTRAIN_STATUS_SECONDS", "0.5")
    assert status_interval() == 0.5
    monkeypatch.setenv("QTRAIN_STATUS_SECONDS", "0")
    assert status_interval() == 0.0  # after every step
    monkeypatch.setenv("QTRAIN_STATUS_SECONDS", "-1")
    assert status_interval() == 60.0
    monkeypatch.setenv("QTRAIN_STATUS_SECONDS", "soon")
    assert status_interval() == 60.0
    monkeypatch.delenv("QTRAIN_STATUS_SECONDS")
    assert status_interval() == 60.0
    assert [format_duration(s) for s in (4, 600, 9000)] == ["4 s", "10 min", "2.5 h"]
