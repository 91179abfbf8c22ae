"""The locked install: ``requirements.lock`` (exact versions) and the conda environments
``envs/*.yaml`` generated from it.

``make lock`` installs the project into a fresh venv within pyproject.toml's ranges, then runs
``python -m qtrain.run.envs lock`` (``pip freeze`` of that venv, less the project itself, into
``requirements.lock``) and ``python -m qtrain.run.envs envs`` (each conda environment: its packages
and everything they depend on, at the lock's versions, found from the installed packages'
metadata). ``make install`` installs exactly the lock (``pip install -r requirements.lock``),
then the project with ``--no-deps``. pyproject.toml keeps ranges for library users.

Standard library and ``packaging`` only (both present wherever the project is installed).
"""

from __future__ import annotations

import platform
import re
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

__all__ = [
    "ENVS",
    "EnvSpec",
    "closure",
    "env_text",
    "lock_text",
    "main",
    "normalize",
    "pyproject_requirements",
    "read_env_pins",
    "read_lock",
    "write_envs",
]

REPO = Path(__file__).resolve().parents[3]
LOCK = "requirements.lock"


@dataclass(frozen=True)
class EnvSpec:
    """One conda environment: what it is for and the project dependencies its rules import."""

    name: str
    purpose: str
    packages: tuple[str, ...]


# what every computing rule imports beside its own stack (in this order in envs/*.yaml)
_COMPUTE = ("numpy", "scipy", "pandas", "matplotlib", "scikit-learn", "tqdm", "pyyaml")

#: The conda environments of the rules (``conda:`` directives), by file stem in ``envs/``.
ENVS = {
    "plot": EnvSpec(
        "qtrain-plot",
        "Figures, tables, claims and the report.",
        ("numpy", "scipy", "pandas", "matplotlib", "pyyaml", "jinja2", "docutils"),
    ),
    "quantum": EnvSpec(
        "qtrain-quantum",
        "Quantum track: Carleman, block systems, HHL, tomography, cost model (qdk's resource\n"
        "# estimator), quantum training.",
        ("qiskit", "qiskit-aer", "qdk", *_COMPUTE, "torch"),
    ),
    "torch": EnvSpec(
        "qtrain-torch",
        "PyTorch stages: data, pretrain, prune, sparse training, Hessian spectra.",
        ("torch", "torchvision", *_COMPUTE),
    ),
}


def normalize(name: str) -> str:
    """A distribution name in its canonical form (PEP 503: lower case, runs of ``-_.`` → ``-``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock(path: str | Path = REPO / LOCK) -> dict[str, tuple[str, str]]:
    """``{canonical name: (name as written, version)}`` of a lock file's ``name==version`` lines;
    ``ValueError`` naming the line for anything else (the lock pins exact versions only)."""
    pins: dict[str, tuple[str, str]] = {}
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;=]+)", text)
        if not match:
            raise ValueError(f"{path}:{number}: not an exact pin `name==version`: {line!r}")
        pins[normalize(match.group(1))] = (match.group(1), match.group(2))
    return pins


def pyproject_requirements(path: str | Path = REPO / "pyproject.toml") -> dict[str, str]:
    """``{canonical name: requirement}`` of pyproject.toml's dependencies and optional ones."""
    import tomllib

    project = tomllib.loads(Path(path).read_text())["project"]
    specs = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        specs += extra
    return {normalize(re.split(r"[<>=!~\[; ]", s, maxsplit=1)[0]): s for s in specs}


def _requires(name: str) -> list[str]:
    """The unconditional requirements (extras and false markers dropped) of an installed
    distribution, as canonical names."""
    from packaging.requirements import Requirement

    names = []
    for text in metadata.distribution(name).requires or []:
        requirement = Requirement(text)
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue
        names.append(normalize(requirement.name))
    return names


def closure(packages: Iterable[str], requires=_requires) -> list[str]:
    """``packages`` and everything they depend on (canonical names, sorted), following the
    requirements of the installed distributions (``requires``: name → required names)."""
    seen: set[str] = set()
    todo = [normalize(p) for p in packages]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(requires(name))
    return sorted(seen)


def python_version() -> str:
    """``major.minor`` of the running Python."""
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def lock_text(freeze: str, python: str | None = None, machine: str | None = None) -> str:
    """The lock file: a header saying what it is, then ``freeze``'s pins (sorted by name)."""
    pins = [line.strip() for line in freeze.splitlines() if line.strip()]
    pins = [p for p in pins if not p.startswith(("#", "-e ", "qtrain==", "pip=="))]
    pins.sort(key=lambda p: normalize(p.split("==", 1)[0]))
    python = python or python_version()
    machine = machine or f"{platform.system()} {platform.machine()}"
    header = (
        "# Exact versions of every package `make install` installs into .venv: pip install -r\n"
        "# requirements.lock, then the project itself with --no-deps (pip check must pass).\n"
        "# Generated by `make lock` (python -m qtrain.run.envs lock): pip freeze of a fresh venv\n"
        "# where `pip install -e '.[dev]'` chose versions within pyproject.toml's ranges, on\n"
        f"# Python {python}, {machine}. Do not edit by hand: `make lock` regenerates it and\n"
        "# envs/*.yaml. Pins are for this platform (e.g. torch's CUDA packages on Linux x86_64);\n"
        "# elsewhere, install within the ranges: pip install -e '.[dev]'.\n"
    )
    return header + "\n".join(pins) + "\n"


def env_text(
    stem: str, lock: Mapping[str, tuple[str, str]], requires=_requires, python: str = "3.11"
) -> str:
    """The conda environment file ``envs/<stem>.yaml``: python, pip and, through pip, the
    env's packages and their dependencies at the lock's versions."""
    spec = ENVS[stem]
    names = closure(spec.packages, requires)
    missing = [n for n in names if n not in lock]
    if missing:
        raise ValueError(
            f"envs/{stem}.yaml needs {missing}, which requirements.lock does not pin: run "
            "`make lock`"
        )
    lines = [
        f"# {spec.purpose}",
        "# Generated by `make lock` (python -m qtrain.run.envs envs) from requirements.lock: the",
        f"# packages {', '.join(spec.packages)}",
        "# and everything they depend on, at the lock's exact versions. Do not edit by hand.",
        "# Untested: no conda on the machines this project is built on; tests/test_lock.py",
        "# checks these pins against the lock. The library is found through PYTHONPATH=src",
        "# (workflow/rules/common.smk).",
        f"name: {spec.name}",
        "channels:",
        "  - conda-forge",
        "dependencies:",
        f"  - python={python}",
        "  - pip",
        "  - pip:",
        *(f'      - "{lock[n][0]}=={lock[n][1]}"' for n in names),
    ]
    return "\n".join(lines) + "\n"


def read_env_pins(path: str | Path) -> dict[str, str]:
    """``{canonical name: version}`` of a conda environment file's pip pins."""
    import yaml

    env = yaml.safe_load(Path(path).read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    pins = {}
    for spec in pip:
        name, sep, version = spec.partition("==")
        if not sep:
            raise ValueError(f"{path}: {spec!r} is not an exact pin")
        pins[normalize(name)] = version
    return pins


def _lock_python(path: Path) -> str:
    match = re.search(r"Python (\d+\.\d+)", path.read_text())
    return match.group(1) if match else python_version()


def write_envs(lock_path: str | Path = REPO / LOCK, envs_dir: str | Path = REPO / "envs") -> None:
    """Write every ``envs/<stem>.yaml`` from the lock (dependencies from installed metadata)."""
    lock_path = Path(lock_path)
    lock = read_lock(lock_path)
    for stem in ENVS:
        text = env_text(stem, lock, python=_lock_python(lock_path))
        (Path(envs_dir) / f"{stem}.yaml").write_text(text)


def main(argv: list[str] | None = None) -> int:
    """``python -m qtrain.run.envs lock [FILE]`` writes the lock from ``pip freeze`` of this
    Python; ``python -m qtrain.run.envs envs [FILE]`` writes envs/*.yaml from the lock."""
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] not in ("lock", "envs"):
        print("usage: python -m qtrain.run.envs {lock,envs} [LOCKFILE]", file=sys.stderr)
        return 2
    path = Path(args[1]) if len(args) > 1 else REPO / LOCK
    if args[0] == "lock":
        freeze = subprocess.run(
            # --all: setuptools and wheel too (runtime dependencies of some packages); pip, the
            # installer itself, is dropped by lock_text
            [sys.executable, "-m", "pip", "freeze", "--all", "--exclude-editable"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        path.write_text(lock_text(freeze))
    else:
        write_envs(path, path.resolve().parent / "envs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
