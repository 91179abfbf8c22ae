"""The library's layering (CONTRIBUTING.md): `quantum` and `learning` never import each other."""

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
