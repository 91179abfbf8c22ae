"""The library's layering (ARCHITECTURE, CONTRIBUTING.md): `quantum` and `learning` never import
each other, the science never imports figures or claims, spectra is shared by both."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "qtrain"


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, relative imports resolved (``from ..paper import x`` in
    qtrain/learning/flops.py is ``qtrain.paper``; ``from . import y`` is ``qtrain.learning.y``)."""
    tree = ast.parse(path.read_text())
    package = ["qtrain", *path.parent.relative_to(SRC).parts]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            if node.module:
                names.add(".".join([*base, node.module]))
            else:
                names |= {".".join([*base, alias.name]) for alias in node.names}
    return names


def test_relative_imports_are_resolved():
    flops = imported_modules(SRC / "learning" / "flops.py")
    assert {"qtrain.paper", "qtrain.learning.models"} <= flops
    assert "qtrain.learning.batchnorm" in imported_modules(SRC / "learning" / "sparse_training.py")


def offenders(folder: str, prefixes: tuple[str, ...]) -> dict[str, list[str]]:
    """Modules of ``src/qtrain/<folder>/`` that import a module starting with ``prefixes``."""
    found = {
        str(path.relative_to(SRC)): sorted(
            m for m in imported_modules(path) if m.startswith(prefixes)
        )
        for path in sorted((SRC / folder).rglob("*.py"))
    }
    return {k: v for k, v in found.items() if v}


@pytest.mark.parametrize(("part", "forbidden"), [("quantum", "learning"), ("learning", "quantum")])
def test_parts_do_not_import_each_other(part, forbidden):
    found = offenders(part, (f"qtrain.{forbidden}",))
    assert not found, found


UPWARD = ("qtrain.figures", "qtrain.claims")


@pytest.mark.parametrize("part", ["learning", "spectra", "quantum"])
def test_the_science_never_imports_figures_or_claims(part):
    found = offenders(part, UPWARD)
    assert not found, found


def test_spectra_is_shared_and_imports_neither_learning_nor_quantum():
    found = offenders("spectra", ("qtrain.learning", "qtrain.quantum"))
    assert not found, found


def absolute_imports(path: Path) -> set[str]:
    """Modules ``path`` imports, relative imports resolved against its package."""
    package = ["qtrain", *path.relative_to(SRC).parent.parts]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, node.module] if node.module else base)
            names |= {module} | {f"{module}.{alias.name}" for alias in node.names}
    return names


RUN_MODULES = sorted(str(p.relative_to(SRC)) for p in (SRC / "run").glob("*.py"))
# the job-sizing modules read the ResNet arithmetic (closed form, stdlib only); usage.py loads
# a dataset inside baseline_memory to measure what a network job holds before its model
ALLOWED = {"run/usage.py": ("qtrain.learning",)}


@pytest.mark.parametrize("module", ["stats.py", *RUN_MODULES])
def test_the_shared_helpers_import_no_part_of_the_library_above_them(module):
    parts = ("qtrain.learning", "qtrain.spectra", "qtrain.quantum", *UPWARD)
    allowed = ("qtrain.learning.arithmetic", *ALLOWED.get(module, ()))
    found = [
        m
        for m in absolute_imports(SRC / module)
        if m.startswith(parts) and not m.startswith(allowed)
    ]
    assert not found, found


def test_the_resnet_arithmetic_is_stdlib_only_and_stated_once():
    imported = imported_modules(SRC / "learning/arithmetic.py")
    assert {m.split(".")[0] for m in imported} <= {
        "__future__",
        "collections",
        "dataclasses",
        "typing",
    }
    defined = [
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if "def resnet_stats(" in path.read_text()
    ]
    assert defined == ["learning/arithmetic.py"]


def test_config_checks_use_the_standard_library_only():
    third_party = {m.split(".")[0] for m in imported_modules(SRC / "run/config.py")} - {
        "__future__",
        "collections",
        "copy",
        "dataclasses",
        "math",
        "typing",
    }
    assert not third_party, third_party


READERS_MAY_NOT = ("torch", "qtrain.learning", "qtrain.quantum")


@pytest.mark.parametrize("part", ["figures", "claims"])
def test_figures_and_claims_read_tables_only(part):
    """Figures and claims read the stages' tables: never torch, models or the quantum code (the
    paper's sizes come from qtrain.paper, C1's counts from the costs stage's table)."""
    found = offenders(part, READERS_MAY_NOT)
    assert not found, found


def test_figures_and_claims_load_neither_torch_nor_the_science_when_imported():
    """The same, transitively: importing every module of both leaves torch, qtrain.learning and
    qtrain.quantum unloaded (a fresh interpreter)."""
    code = (
        "import importlib, pkgutil, sys\n"
        "import qtrain.claims, qtrain.figures\n"
        "for pkg in (qtrain.claims, qtrain.figures):\n"
        "    for m in pkgutil.iter_modules(pkg.__path__):\n"
        "        importlib.import_module(pkg.__name__ + '.' + m.name)\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] == 'torch' or "
        f"m.startswith({READERS_MAY_NOT[1:]!r})))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_the_cost_calculator_sits_above_learning_and_quantum():
    """`qtrain-cost` needs torch to count a model's FLOPs (learning) and the cost model
    (quantum): only the top-level module qtrain/cost_cli.py imports both."""
    both = []
    for path in sorted(SRC.rglob("*.py")):
        names = imported_modules(path)
        if any(m.startswith("qtrain.learning") for m in names) and any(
            m.startswith("qtrain.quantum") for m in names
        ):
            both.append(str(path.relative_to(SRC)))
    assert both == ["cost_cli.py"], both
    calculator = imported_modules(SRC / "quantum" / "costs" / "calculator.py")
    assert not [m for m in calculator if m.startswith(("torch", "qtrain.learning"))]


def test_the_paper_facts_use_the_standard_library_only():
    third_party = {m.split(".")[0] for m in imported_modules(SRC / "paper.py")}
    assert third_party <= {"__future__", "dataclasses", "math"}, third_party


def test_the_quantum_stages_point_one_way():
    """carleman/ (maps, Carleman, block systems) is read by circuits/ and costs/, never the
    reverse: a circuit or a cost never changes what the Carleman stage computes."""
    found = offenders("quantum/carleman", ("qtrain.quantum.circuits", "qtrain.quantum.costs"))
    assert not found, found
    found = offenders("quantum/circuits", ("qtrain.quantum.costs",))
    assert not found, found


def test_nothing_in_the_library_imports_the_benchmarks():
    """qtrain.bench sits on top: benchmarks call the science, the science never calls them."""
    found = {
        str(path.relative_to(SRC)): sorted(
            m for m in imported_modules(path) if m.startswith("qtrain.bench")
        )
        for path in sorted(SRC.rglob("*.py"))
        if path.relative_to(SRC).parts[0] != "bench"
    }
    assert not {k: v for k, v in found.items() if v}


def test_no_flat_module_left_in_quantum():
    """One sub-package per stage file (carleman.smk, quantum.smk, costs.smk)."""
    flat = sorted(p.name for p in (SRC / "quantum").glob("*.py") if p.name != "__init__.py")
    assert flat == [], flat
    assert {p.name for p in (SRC / "quantum").iterdir() if p.is_dir() and p.name[0] != "_"} == {
        "carleman",
        "circuits",
        "costs",
    }


def test_every_rule_script_is_thin():
    """A script reads snakemake, calls the library and writes: 40 lines at most."""
    scripts = SRC.parents[1] / "workflow" / "scripts"
    lengths = {p.name: len(p.read_text().splitlines()) for p in scripts.glob("*.py")}
    assert len(lengths) > 30, "no scripts found"
    assert {name: n for name, n in lengths.items() if n > 40} == {}


def test_no_module_over_500_lines():
    """Modules stay under 500 lines: a longer one is split along a real seam (CONTRIBUTING)."""
    lengths = {str(p.relative_to(SRC)): len(p.read_text().splitlines()) for p in SRC.rglob("*.py")}
    assert len(lengths) > 100, "no modules found"
    assert {name: n for name, n in lengths.items() if n > 500} == {}


def test_every_rule_script_opens_the_one_job_frame():
    """`with job(snakemake, ...) as run:` in every script (issue 22): lock, signals, device,
    provenance and resume cleanup in one place, no second frame."""
    scripts = SRC.parents[1] / "workflow" / "scripts"
    texts = {p.name: p.read_text() for p in scripts.glob("*.py")}
    assert len(texts) > 30
    without = sorted(n for n, t in texts.items() if "with job(snakemake" not in t)
    assert without == [], without
    assert not [n for n, t in texts.items() if "setup_logging" in t]
