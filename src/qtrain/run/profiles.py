"""Which Snakemake profiles a run uses, checked when the workflow starts.

Snakemake 9 loads ``profiles/default/`` next to the Snakefile as the *workflow profile* unless
``--workflow-profile`` names another one (or ``none``), and a workflow profile takes precedence
over every ``--profile``. So ``--profile profiles/slurm`` runs with ``profiles/default``'s
settings on top of the SLURM profile's (``cores: 2`` caps every job's threads at 2,
``latency-wait: 5`` replaces the 60 s a shared file system needs), silently.
:func:`profile_problem` names that case so the Snakefile can refuse it before any job;
``--workflow-profile profiles/slurm`` is the documented way.
Standard library and PyYAML only.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["profile_args", "profile_problem", "read_profile"]


def profile_args(argv: Sequence[str], env: Mapping[str, str]) -> tuple[list[str], str | None]:
    """The ``--profile`` values (or ``$SNAKEMAKE_PROFILE`` when none is given) and the
    ``--workflow-profile`` value of a Snakemake command line."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--profile", action="append", default=[])
    parser.add_argument("--workflow-profile")
    known, _ = parser.parse_known_args(list(argv))
    profiles = known.profile or ([env["SNAKEMAKE_PROFILE"]] if env.get("SNAKEMAKE_PROFILE") else [])
    return [p for p in profiles if p != "none"], known.workflow_profile


def read_profile(folder: Path) -> dict[str, Any]:
    """The settings of a profile folder (``profile.yaml`` or ``config.yaml``; {} if neither)."""
    import yaml

    for name in ("profile.yaml", "config.yaml"):
        if (folder / name).is_file():
            return yaml.safe_load((folder / name).read_text()) or {}
    return {}


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def profile_problem(
    argv: Sequence[str], env: Mapping[str, str], basedir: str | os.PathLike, cwd: str = "."
) -> str | None:
    """Why this command line's profiles would not do what they say (None when they would): one
    of this workflow's own profiles (``profiles/<name>/`` beside the Snakefile, other than
    ``default``) given with ``--profile`` while ``profiles/default`` is loaded as the workflow
    profile, which overrides it."""
    profiles, workflow_profile = profile_args(argv, env)
    if workflow_profile is not None or not profiles:
        return None
    own = Path(basedir) / "profiles"
    default = own / "default"
    if not default.is_dir():
        return None
    for given in profiles:
        path = Path(given) if Path(given).is_absolute() else Path(cwd) / given
        if path.is_file():
            path = path.parent
        if not path.is_dir() or not _inside(path, own) or _inside(path, default):
            continue
        mine, theirs = read_profile(path), read_profile(default)
        overridden = sorted(k for k in theirs if mine.get(k, object()) != theirs[k])
        shown = ", ".join(
            f"{k}: {theirs[k]}" + (f" instead of {mine[k]}" if k in mine else "")
            for k in overridden
        )
        return (
            f"{given} is this workflow's own profile: give it with --workflow-profile {given}, "
            "not --profile. With --profile, Snakemake also loads the workflow profile "
            "profiles/default/, which takes precedence"
            + (f" ({shown})" if shown else "")
            + "; --workflow-profile replaces it."
        )
    return None
