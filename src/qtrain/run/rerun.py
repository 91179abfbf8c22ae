"""Which rule to rerun for a damaged file: the one place that reads Snakemake's metadata.

:func:`rerun_hint` names the rule that makes a file, from Snakemake's record of it in
``.snakemake/metadata`` (its file layout: base64 of the path, split at the file-name limit) or,
failing that, from the file's provenance record.
"""

from __future__ import annotations

import json
import os
from base64 import urlsafe_b64encode
from pathlib import Path

__all__ = [
    "rerun_hint",
]


def rerun_hint(path: str | os.PathLike) -> str:
    """What to do about a damaged workflow file: rerun the rule that makes it (named when
    Snakemake's records in ``.snakemake/`` or the file's provenance record say which), or
    delete it and run the workflow."""
    rule = _producing_rule(path) or _recorded_rule(path)
    if rule:
        return (
            f"delete it and rerun the rule `{rule}` that makes it (snakemake --forcerun {rule} "
            "with this run's --configfile and options)"
        )
    return (
        f"delete it and run the workflow again, which makes it anew (or: snakemake --forcerun "
        f"{path} with this run's --configfile and options)"
    )


def _producing_rule(path: str | os.PathLike) -> str | None:
    """The rule that made ``path``, from Snakemake's metadata record of it (None if none)."""
    try:
        name = Path(path)
        if name.is_absolute():
            name = name.relative_to(Path.cwd())
        folder = Path(".snakemake/metadata")
        if not folder.is_dir():
            return None
        max_len = os.pathconf(folder, "PC_NAME_MAX") or 255
        b64 = urlsafe_b64encode(str(name).encode()).decode()
        parts = [b64[i : i + max_len - 1] for i in range(0, len(b64), max_len - 1)]
        record = folder.joinpath(*["@" + p for p in parts[:-1]], parts[-1])
        rule = json.loads(record.read_text()).get("rule")
        return str(rule) if rule else None
    except (OSError, ValueError, AttributeError):
        return None


def _recorded_rule(path: str | os.PathLike) -> str | None:
    """The rule named in the provenance record beside ``path`` (None if none)."""
    from .provenance import provenance_path

    try:
        rule = json.loads(provenance_path(path).read_text()).get("rule")
    except (OSError, ValueError, AttributeError):
        return None
    return str(rule) if rule else None
