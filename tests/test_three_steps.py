"""CONTRIBUTING.md's "From a figure to its science in three steps", walked for every figure and
claim on the dry run of each preset (no job runs):

1. figure ``<id>`` is made by rule ``plot_<id>``, whose inputs are stage tables (CSV files a
   stage rule writes: never a figure's, a claim's or a spectrum array);
2. the registry entry ``FIGURES["<id>"]`` draws them with a plot function of a topic module of
   ``qtrain.figures`` (the stage rules' own functions: tests/test_rule_functions.py);
3. each stage's claim rule ``claims_<stage>`` reads stage tables too and calls functions of its
   domain module of ``qtrain.claims``; rule ``claims`` reads only the stages' claim tables.
"""

from __future__ import annotations

import importlib
import re
import types
from pathlib import Path

import pytest

from qtrain.claims.core import CLAIMS
from qtrain.figures import registry
from qtrain.figures.registry import FIGURES

REPO = Path(__file__).resolve().parents[1]
JOB = re.compile(r"^(?:local)?rule (\w+):\n((?:    .*\n)+)", re.M)


def dry_run_jobs(text: str) -> list[tuple[str, list[str], list[str]]]:
    """``(rule, inputs, outputs)`` of every job a ``snakemake -n`` listing shows."""
    jobs = []
    for match in JOB.finditer(text):
        fields = dict(re.findall(r"^    (\w+): (.*)$", match.group(2), re.M))
        inputs, outputs = (
            [p for p in fields.get(k, "").split(", ") if p] for k in ("input", "output")
        )
        jobs.append((match.group(1), inputs, outputs))
    return jobs


@pytest.fixture(params=["paper", "smoke"], scope="module")
def workflow_jobs(request, dry_run):
    args = ["--configfile", "config/smoke.yaml"] if request.param == "smoke" else []
    result = dry_run("--cores", "2", *args)  # the dry run of tests/test_workflow.py
    assert result.returncode == 0, result.stdout + result.stderr
    jobs = dry_run_jobs(result.stdout)
    assert len(jobs) > 50
    return request.param, jobs


def _reads(jobs, rule: str) -> list[tuple[str, str]]:
    """``(input path, the rule that writes it)`` of every job of ``rule``."""
    producer = {path: name for name, _, outputs in jobs for path in outputs}
    pairs = [
        (path, producer.get(path, ""))
        for name, inputs, _ in jobs
        if name == rule
        for path in inputs
    ]
    assert any(name == rule for name, _, _ in jobs), f"rule {rule} has no job"
    return pairs


def _is_stage_table(path: str, writer: str, preset: str) -> bool:
    top = f"results/{preset}/"
    return (
        path.startswith(top)
        and path.endswith(".csv")
        and not path.startswith((f"{top}figures/", f"{top}claims/"))
        and writer not in ("", "claims")
        and not writer.startswith(("plot_", "claims_"))
    )


def test_the_dry_run_listing_is_read():
    text = (
        "rule a:\n    input: x.csv, y.csv\n    output: z.csv\n    jobid: 1\n\n"
        "localrule b:\n    output: x.csv\n"
    )
    assert dry_run_jobs(text) == [("a", ["x.csv", "y.csv"], ["z.csv"]), ("b", [], ["x.csv"])]
    jobs = dry_run_jobs(text)
    assert _reads(jobs, "a") == [("x.csv", "b"), ("y.csv", "")]
    assert not _is_stage_table("results/p/spectra/s.npz", "spectrum", "p")
    assert not _is_stage_table("results/p/figures/f.csv", "plot_f", "p")
    assert _is_stage_table("results/p/spectra/masses.csv", "spectrum_masses", "p")


def test_step_1_every_figure_rule_reads_stage_tables(workflow_jobs):
    preset, jobs = workflow_jobs
    for fig in FIGURES:
        wrong = [
            (path, writer)
            for path, writer in _reads(jobs, f"plot_{fig}")
            if not _is_stage_table(path, writer, preset)
        ]
        assert not wrong, f"plot_{fig} reads what is not a stage table: {wrong}"


def _plot_functions(fig: str) -> list[object]:
    """The ``qtrain.figures`` functions the registry entry's plot calls (``module.plot_x`` or a
    function imported into the registry)."""
    names = FIGURES[fig].plot.__code__.co_names
    found = []
    for i, name in enumerate(names):
        value = getattr(registry, name, None)
        if isinstance(value, types.ModuleType) and i + 1 < len(names):
            found.append(getattr(value, names[i + 1], None))
        elif callable(value) and name.startswith("plot_"):
            found.append(value)
    return found


@pytest.mark.parametrize("fig", sorted(FIGURES))
def test_step_2_every_registry_entry_draws_with_a_topic_module_function(fig):
    functions = _plot_functions(fig)
    assert functions, f"FIGURES[{fig!r}].plot calls no function of qtrain.figures"
    for function in functions:
        assert callable(function), f"FIGURES[{fig!r}].plot names a missing function"
        assert function.__module__.startswith("qtrain.figures."), function.__module__
        assert function.__name__.startswith("plot_"), function.__name__


# `from qtrain.claims.<domain> import a, b` on one line, or `import (...)` over several
CLAIM_FUNCTION = re.compile(
    r"^[ \t]*from (qtrain\.claims\.\w+) import (?:\(([\w,\s]+)\)|([\w, ]+)$)", re.M
)


def _claim_rules(jobs) -> list[str]:
    return sorted({name for name, _, _ in jobs if name.startswith("claims_")})


def test_step_3_every_claim_rule_reads_stage_tables_and_calls_its_domain(workflow_jobs):
    preset, jobs = workflow_jobs
    rules = _claim_rules(jobs)
    assert len(rules) == 6, rules  # training, spectra, proxy, carleman, quantum, costs
    for rule in rules:
        wrong = [
            (path, writer)
            for path, writer in _reads(jobs, rule)
            if not _is_stage_table(path, writer, preset)
        ]
        assert not wrong, f"{rule} reads what is not a stage table: {wrong}"
        script = (REPO / "workflow" / "scripts" / f"{rule}.py").read_text()
        calls = [
            (module, name.strip())
            for module, grouped, inline in CLAIM_FUNCTION.findall(script)
            for name in (grouped or inline).split(",")
            if name.strip()
        ]
        assert calls, f"workflow/scripts/{rule}.py calls no domain module of qtrain.claims"
        for module, name in calls:
            assert callable(getattr(importlib.import_module(module), name)), (module, name)
    # the assembling rule reads the stages' claim tables and nothing else
    writers = {writer for _, writer in _reads(jobs, "claims")}
    assert writers == set(rules), writers


def test_every_claim_has_its_function_in_a_domain_module():
    modules = [
        importlib.import_module(f"qtrain.claims.{name}")
        for name in ("training", "spectra", "proxy", "carleman", "quantum", "costs")
    ]
    for claim_id in CLAIMS:
        name = f"claim_{claim_id.lower()}"
        owners = [
            m.__name__
            for m in modules
            for attr in dir(m)
            if re.fullmatch(rf"{name}(_rows)?", attr) and getattr(m, attr).__module__ == m.__name__
        ]
        assert len(owners) == 1, (claim_id, owners)
