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


@pytest.mark.parametrize(("part", "forbidden"), [("quantum", "learning"), ("learning", "quantum")])
def test_parts_do_not_import_each_other(part, forbidden):
    offenders = {
        str(path.relative_to(SRC)): sorted(
            m for m in imported_modules(path) if m.startswith(f"qtrain.{forbidden}")
        )
        for path in sorted((SRC / part).glob("*.py"))
    }
    offenders = {k: v for k, v in offenders.items() if v}
    assert not offenders, offenders


UPWARD = ("qtrain.figures", "qtrain.claims")


@pytest.mark.parametrize("part", ["learning", "spectra", "quantum"])
def test_the_science_never_imports_figures_or_claims(part):
    offenders = {
        str(path.relative_to(SRC)): sorted(
            m for m in imported_modules(path) if m.startswith(UPWARD)
        )
        for path in sorted((SRC / part).glob("*.py"))
    }
    offenders = {k: v for k, v in offenders.items() if v}
    assert not offenders, offenders


def test_spectra_is_shared_and_imports_neither_learning_nor_quantum():
    offenders = {
        str(path.relative_to(SRC)): sorted(
            m for m in imported_modules(path) if m.startswith(("qtrain.learning", "qtrain.quantum"))
        )
        for path in sorted((SRC / "spectra").glob("*.py"))
    }
    offenders = {k: v for k, v in offenders.items() if v}
    assert not offenders, offenders


@pytest.mark.parametrize("module", ["stats.py", "config.py", "io.py", "progress.py"])
def test_the_shared_helpers_import_no_part_of_the_library_above_them(module):
    parts = ("qtrain.learning", "qtrain.spectra", "qtrain.quantum", *UPWARD)
    assert not [m for m in imported_modules(SRC / module) if m.startswith(parts)]


def test_config_checks_use_the_standard_library_only():
    third_party = {m.split(".")[0] for m in imported_modules(SRC / "config.py")} - {
        "__future__",
        "collections",
        "copy",
        "math",
        "typing",
    }
    assert not third_party, third_party


def test_figures_read_tables_not_models():
    offenders = {
        str(path.relative_to(SRC)): sorted(
            m for m in imported_modules(path) if m.startswith(("torch", "qtrain.learning"))
        )
        for path in sorted((SRC / "figures").glob("*.py"))
    }
    offenders = {k: v for k, v in offenders.items() if v}
    assert not offenders, offenders
