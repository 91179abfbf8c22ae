"""The library's layering (ARCHITECTURE, CONTRIBUTING.md): `quantum` and `learning` never import
each other, the science never imports figures or claims, spectra is shared by both."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "qtrain"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


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


def test_figures_read_tables_not_models():
    found = offenders("figures", ("torch", "qtrain.learning"))
    assert not found, found


@pytest.mark.parametrize("part", ["figures", "claims"])
def test_figures_and_claims_never_import_quantum(part):
    """They read the cost stage's tables; the paper's sizes come from qtrain.paper (claims C1
    still counts parameters through learning.models until the renovation of issue 22)."""
    found = offenders(part, ("qtrain.quantum",))
    assert not found, found


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


# scripts over the limit that issue 22 has not thinned yet (the benchmarks, which move to
# qtrain/bench): the list may only shrink
SCRIPTS_LEFT = {"bench_quantum.py", "bench_hvp.py", "bench_hvp_variants.py"}


def test_every_rule_script_is_thin():
    scripts = SRC.parents[1] / "workflow" / "scripts"
    lengths = {p.name: len(p.read_text().splitlines()) for p in scripts.glob("*.py")}
    over = {name: n for name, n in lengths.items() if n > 40}
    assert set(over) <= SCRIPTS_LEFT, over
    assert set(over) == SCRIPTS_LEFT, f"thinned: drop {SCRIPTS_LEFT - set(over)} from the list"
