"""Checks that cost nothing: every library function a rule names as a string resolves.

The `fit_table` rules name their function as ``params.function = "module:function"``; a
renamed or moved function would otherwise fail only when the job runs. This test reads the
rule files as text (no Snakemake, no job), resolves the module-level string constants they
use in f-strings, imports each module and checks the name is a callable.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import re
from pathlib import Path

import pytest

RULES = Path(__file__).resolve().parents[1] / "workflow" / "rules"

#: ``NAME = "text"`` at the top level of a rule file (used as ``f"{NAME}:function"``).
CONSTANT = re.compile(r'^([A-Z][A-Z0-9_]*)\s*=\s*"([^"{}]*)"\s*$', re.M)
#: ``function="..."`` or ``function=f"..."`` in a rule's ``params:``.
FUNCTION = re.compile(r'\bfunction\s*=\s*(f?)"([^"]*)"')


def rule_function_strings() -> list[tuple[str, str]]:
    """Every ``(rule file, "module:function")`` named in workflow/rules, f-strings resolved."""
    texts = {path.name: path.read_text() for path in sorted(RULES.glob("*.smk"))}
    constants = {k: v for text in texts.values() for k, v in CONSTANT.findall(text)}
    found = []
    for name, text in texts.items():
        uses = len(re.findall(r"\bfunction\s*=", text))
        matches = FUNCTION.findall(text)
        assert len(matches) == uses, f"{name}: a function= this test cannot read"
        for is_f, value in matches:
            if is_f:
                value = re.sub(r"\{(\w+)\}", lambda m: constants[m.group(1)], value)
            found.append((name, value))
    return found


def resolve(spec: str) -> object:
    """The object ``"package.module:function"`` names (ValueError when it is malformed)."""
    module, sep, attr = spec.partition(":")
    if not sep or not module or not attr:
        raise ValueError(f"{spec!r} is not 'module:function'")
    return getattr(importlib.import_module(module), attr)


def test_the_rules_name_functions_as_strings():
    # the fit_table rules of carleman, quantum and costs: a scan that finds none is broken
    files = {name for name, _ in rule_function_strings()}
    assert {"carleman.smk", "quantum.smk", "costs.smk"} <= files
    assert len(rule_function_strings()) >= 12


@pytest.mark.parametrize(("rule_file", "spec"), rule_function_strings())
def test_every_rule_function_string_resolves_to_a_callable(rule_file, spec):
    assert callable(resolve(spec)), f"{rule_file}: {spec} is not callable"


def test_a_broken_function_string_is_caught():
    with pytest.raises(AttributeError):
        resolve("qtrain.stats:no_such_function")
    with pytest.raises(ModuleNotFoundError):
        resolve("qtrain.no_such_module:fit")
    with pytest.raises(ValueError, match="not 'module:function'"):
        resolve("qtrain.stats.loglog_fit")
    assert not callable(resolve("qtrain.paper:KEEP_FRACTION"))


SCRIPTS = RULES.parent / "scripts"


def script_imports() -> list[tuple[str, str, str]]:
    """``(script, module, name)`` of every ``from qtrain… import name`` of workflow/scripts."""
    found = []
    for path in sorted(SCRIPTS.glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("qtrain"):
                found += [(path.name, node.module, alias.name) for alias in node.names]
    return found


def test_every_library_module_imports():
    """A module moved without its relative imports fails here, not in a job."""
    import pkgutil

    import qtrain

    names = [m.name for m in pkgutil.walk_packages(qtrain.__path__, "qtrain.")]
    assert "qtrain.quantum.carleman.sweeps" in names
    for name in names:
        if not name.startswith("qtrain.run.cpu_probe"):  # a sitecustomize for subprocesses
            importlib.import_module(name)


@pytest.mark.parametrize(("script", "module", "name"), script_imports())
def test_every_name_a_script_imports_from_the_library_exists(script, module, name):
    found = hasattr(importlib.import_module(module), name)
    if not found:  # ``from qtrain.learning import data``: a submodule
        found = importlib.util.find_spec(f"{module}.{name}") is not None
    assert found, f"{script}: {module}.{name}"
