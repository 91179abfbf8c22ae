"""Config files checked as text YAML, with errors that name the file, the line and the column.

Snakemake 9.27 reports a config file it cannot parse as "Config file is not valid JSON or YAML"
(no file, no line) and a binary one with a raw ``UnicodeDecodeError``. The Snakefile checks the
workflow's own config file with :func:`check_config_files` before its ``configfile:`` directive
reads it; ``python -m qtrain.run.config_files FILE ...`` checks any config file (the Makefile
runs it on the file it passes with ``--configfile``, which Snakemake parses before the Snakefile).
Only PyYAML and the standard library are used.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

__all__ = [
    "ConfigFileError",
    "check_config_files",
    "load_schema",
    "read_config_file",
    "read_merged_config",
]

_SAMPLE = 1 << 16


class ConfigFileError(ValueError):
    """A config file that is missing, not text, not YAML, or not a mapping of keys."""


def read_config_file(path: str | os.PathLike) -> dict[str, Any]:
    """The mapping in a YAML (or JSON) config file; :class:`ConfigFileError` naming the file,
    and for a syntax error its line and column, when it cannot be one."""
    import yaml

    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError as error:
        raise ConfigFileError(f"config file {path} not found") from error
    except OSError as error:
        raise ConfigFileError(f"config file {path} cannot be read: {error.strerror}") from error
    _check_text(path, raw)
    text = raw.decode("utf-8")
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        raise ConfigFileError(_syntax_message(path, text, error)) from error
    except yaml.YAMLError as error:
        raise ConfigFileError(f"{path}: not valid YAML: {error}") from error
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigFileError(
            f"{path}: a config file must be a mapping of keys (e.g. `seed: 0`) at its top level, "
            f"not a {type(data).__name__}"
        )
    return data


def _check_text(path: Path, raw: bytes) -> None:
    """:class:`ConfigFileError` if ``raw`` is not UTF-8 text (a binary or mis-encoded file)."""
    hint = "give a text YAML config file (e.g. a copy of config/smoke.yaml)"
    nul = raw.find(b"\0", 0, _SAMPLE)
    if nul >= 0:
        raise ConfigFileError(
            f"{path} is not a text YAML file (it contains binary data: a NUL byte at offset "
            f"{nul}); {hint}"
        )
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise ConfigFileError(
            f"{path} is not a text YAML file (byte 0x{raw[error.start]:02x} at offset "
            f"{error.start}, line {line}, is not UTF-8 text); {hint}"
        ) from error


def _syntax_message(path: Path, text: str, error: Any) -> str:
    """``<path>:<line>:<column>: not valid YAML …`` with the problem, its context, the line and
    a caret under the column."""
    mark = error.problem_mark or error.context_mark
    problem = error.problem or str(error)
    if mark is None:
        return f"{path}: not valid YAML: {problem}"
    context = ""
    if error.context:
        context = f" ({error.context}"
        if error.context_mark is not None and error.context_mark.line != mark.line:
            context += f" that starts at line {error.context_mark.line + 1}"
        context += ")"
    lines = text.splitlines()
    shown = lines[mark.line] if mark.line < len(lines) else ""
    advice = (
        "indent with spaces, not tabs"
        if "\t" in shown or "'\\t'" in problem
        else "check the brackets, quotes, colons and indentation there"
    )
    return (
        f"{path}:{mark.line + 1}:{mark.column + 1}: not valid YAML at line {mark.line + 1}, "
        f"column {mark.column + 1}: {problem}{context}; {advice}\n"
        f"    {shown}\n    {' ' * mark.column}^"
    )


def read_merged_config(*paths: str | os.PathLike) -> dict[str, Any]:
    """The config files read in order and merged as Snakemake merges them (each over the ones
    before it, key by key): e.g. ``config/config.yaml`` and ``config/smoke.yaml`` give the
    smoke preset in full."""
    from .config import merge_config

    return merge_config({}, *(read_config_file(path) for path in paths))


def load_schema(path: str | os.PathLike) -> dict[str, Any]:
    """A JSON schema written as YAML (the workflow's ``workflow/schemas/config.schema.yaml``)."""
    import yaml

    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def check_config_files(*paths: str | os.PathLike) -> None:
    """Check each existing config file (missing ones are Snakemake's to report)."""
    for path in paths:
        if Path(path).exists():
            read_config_file(path)


def main(argv: list[str] | None = None) -> int:
    """``python -m qtrain.run.config_files FILE ...``: exit 1 naming the first bad file."""
    try:
        for path in sys.argv[1:] if argv is None else argv:
            read_config_file(path)
    except ConfigFileError as error:
        print(f"ConfigFileError: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
