"""The locked install (issue 24, item 5): requirements.lock pins exact versions that pyproject's
ranges admit, `make install` installs exactly them, and envs/*.yaml are generated from the same
lock (the packages of each environment and everything they depend on, at the locked versions)."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

from qtrain.run.envs import (
    ENVS,
    closure,
    env_text,
    lock_text,
    normalize,
    pyproject_requirements,
    read_env_pins,
    read_lock,
)

REPO = Path(__file__).resolve().parents[1]
LOCK = REPO / "requirements.lock"


def test_the_lock_pins_every_package_exactly_once():
    text = LOCK.read_text()
    assert text.startswith("# Exact versions") and "make lock" in text
    pins = read_lock(LOCK)
    assert len(pins) == len([line for line in text.splitlines() if "==" in line])
    assert "qtrain" not in pins and "pip" not in pins  # the project and the installer are not
    assert {"torch", "snakemake", "qiskit", "numpy", "pytest"} <= set(pins)


def test_pyproject_ranges_admit_the_locked_versions():
    pins = read_lock(LOCK)
    for name, spec in pyproject_requirements(REPO / "pyproject.toml").items():
        assert name in pins, f"{spec} (pyproject.toml) is not in requirements.lock: make lock"
        version = pins[name][1]
        assert Requirement(spec).specifier.contains(version, prereleases=True), (
            f"requirements.lock pins {name}=={version}, outside pyproject's {spec}"
        )


def test_the_installed_versions_are_the_locked_ones():
    """What `make install` promises: every package at its locked version (else: make install)."""
    wrong = {}
    for name, (_, version) in read_lock(LOCK).items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        if installed != version:
            wrong[name] = (version, installed)
    assert not wrong, f"locked vs installed (run `make install`): {wrong}"


@pytest.mark.parametrize("stem", sorted(ENVS))
def test_each_conda_env_is_the_one_the_lock_generates(stem):
    """The file equals what `make lock` writes: its packages and their dependencies (from the
    installed packages' metadata), pinned at the lock's versions."""
    path = REPO / "envs" / f"{stem}.yaml"
    assert path.read_text() == env_text(stem, read_lock(LOCK)), f"{path}: run make lock"


@pytest.mark.parametrize("stem", sorted(ENVS))
def test_each_conda_env_pins_lock_versions_and_serves_the_library(stem):
    path = REPO / "envs" / f"{stem}.yaml"
    env = yaml.safe_load(path.read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    assert conda == ["python=3.11", "pip"]
    lock = {name: version for name, (_, version) in read_lock(LOCK).items()}
    pins = read_env_pins(path)
    assert pins and all(lock.get(name) == version for name, version in pins.items())
    required = pyproject_requirements(REPO / "pyproject.toml")
    assert {normalize(p) for p in ENVS[stem].packages} <= set(required)
    assert {normalize(p) for p in ENVS[stem].packages} <= set(pins)
    assert "Untested" in path.read_text()  # no conda here: said in the file


def test_every_rule_uses_a_generated_env():
    used = set()
    for smk in (REPO / "workflow/rules").glob("*.smk"):
        used |= set(re.findall(r'"\.\./\.\./envs/(\w+)\.yaml"', smk.read_text()))
    assert used and used <= set(ENVS), used - set(ENVS)
    assert {p.stem for p in (REPO / "envs").glob("*.yaml")} == set(ENVS)


def test_make_install_uses_the_lock():
    makefile = (REPO / "Makefile").read_text()
    rule = re.search(r"^\$\(VENV\)/\.installed:(.*?)\n\n", makefile, re.M | re.S).group(0)
    assert "$(LOCK)" in rule.splitlines()[0] and "LOCK := requirements.lock" in makefile
    assert "pip install --quiet -r $(LOCK)" in rule and "--no-deps -e ." in rule
    assert "pip check" in rule
    assert re.search(r"^lock:", makefile, re.M)


def test_closure_follows_requirements_through_cycles():
    graph = {"a": ["b", "c"], "b": ["d"], "c": ["a"], "d": [], "e": ["a"]}
    assert closure(["a"], graph.__getitem__) == ["a", "b", "c", "d"]
    assert closure(["D"], graph.__getitem__) == ["d"]  # names are normalized


def test_lock_text_sorts_and_drops_the_project_and_pip():
    freeze = "Zeta==1\npip==24.0\n-e git+https://x#egg=qtrain\nqtrain==0.1\nalpha_beta==2.0\n"
    text = lock_text(freeze, python="3.11", machine="Linux x86_64")
    pins = [line for line in text.splitlines() if not line.startswith("#")]
    assert pins == ["alpha_beta==2.0", "Zeta==1"]
    assert "Python 3.11, Linux x86_64" in text


def test_read_lock_refuses_anything_but_exact_pins(tmp_path):
    bad = tmp_path / "bad.lock"
    bad.write_text("# header\nnumpy==2.0\ntorch>=2.4\n")
    with pytest.raises(ValueError, match=r"bad.lock:3: not an exact pin"):
        read_lock(bad)
