"""Provenance records: what made each result (config, commit, versions, device, the job), and
the checks of its settings and its content against the record.

:func:`provenance` makes a record and :func:`write_provenance` writes it beside a result
(:func:`provenance_path`); :func:`config_digest` is the short hash that binds checkpoints and
records to a config.

When a job ends well, every declared output's record ``<file>.provenance.json`` is stamped
(:func:`stamp_outputs`, called by the job frame, :func:`qtrain.run.job.job`) with

- ``rule`` and ``wildcards``: the job that made the file;
- ``params``: the rule's params as the job got them, as JSON. These are the settings
  Snakemake's own "params" rerun trigger compares, kept beside the result so that results
  copied, shared or restored without Snakemake's metadata (``.snakemake/``) are compared too;
- ``content``: the sha256 and size of the file.

Before any job runs, :mod:`qtrain.run.startup` compares each existing result of the run's jobs
with its record: other params (:func:`params_changes`) → the job runs again; other content
(:func:`content_change`) → the run stops naming the file. The readers of :mod:`qtrain.run.files`
(``load_checkpoint``, ``load_arrays``, ``load_table``) check the content again, in full, before
they use a file.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import sys
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from .files import _json_default, file_digest, format_bytes, write_json

__all__ = [
    "EAGER_BYTES",
    "PROVENANCE_PACKAGES",
    "config_digest",
    "content_change",
    "content_stamp",
    "git_commit",
    "normalise",
    "package_versions",
    "params_changes",
    "provenance",
    "provenance_path",
    "read_record",
    "stamp_outputs",
    "write_provenance",
]

PROVENANCE_PACKAGES = (
    "qtrain",
    "torch",
    "torchvision",
    "numpy",
    "scipy",
    "pandas",
    "matplotlib",
    "scikit-learn",
    "qiskit",
    "qiskit-aer",
    "snakemake",
)


def config_digest(config: Mapping[str, Any]) -> str:
    """A short, stable hash of a (JSON-serializable) configuration."""
    text = json.dumps(config, sort_keys=True, default=_json_default)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def git_commit(cwd: str | os.PathLike | None = None) -> str | None:
    """The git commit of the code (with ``+dirty`` when its tracked files have changes), or None.

    ``cwd`` defaults to the folder of this package (an editable install inside the checkout), so
    a run in another working directory (a scratch folder, a cluster's job directory) still
    records the commit of the code it ran; failing that, the current directory.
    """
    if cwd is None:
        return _git_commit_in(Path(__file__).resolve().parent) or _git_commit_in(os.getcwd())
    return _git_commit_in(cwd)


def _git_commit_in(cwd: str | os.PathLike) -> str | None:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit + ("+dirty" if dirty else "")


def package_versions(names: tuple[str, ...] = PROVENANCE_PACKAGES) -> dict[str, str | None]:
    """Installed versions of the packages a result depends on (None when absent)."""
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _device_description(device: Any = None) -> str:
    if device is None:
        return f"cpu ({platform.processor() or platform.machine()})"
    text = str(device)
    if text.startswith("cuda"):
        try:
            import torch

            return f"{text} ({torch.cuda.get_device_name(torch.device(text))})"
        except Exception:  # pragma: no cover - only on GPU machines
            return text
    return f"{text} ({platform.processor() or platform.machine()})"


def provenance(
    config: Mapping[str, Any] | None = None, device: Any = None, **extra: Any
) -> dict[str, Any]:
    """A provenance record: config (and its digest), commit, versions, device, host, time."""
    record: dict[str, Any] = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": package_versions(),
        "device": _device_description(device),
    }
    if config is not None:
        record["config"] = dict(config)
        record["config_digest"] = config_digest(config)
    record.update(extra)
    return record


def provenance_path(result: str | os.PathLike) -> Path:
    """Where the provenance record of ``result`` lives: ``<result>.provenance.json``."""
    result = Path(result)
    return result.with_name(result.name + ".provenance.json")


def write_provenance(
    result: str | os.PathLike,
    config: Mapping[str, Any] | None = None,
    device: Any = None,
    **extra: Any,
) -> Path:
    """Write the provenance record of ``result`` beside it and return its path."""
    path = provenance_path(result)
    write_json(provenance(config, device, **extra), path)
    return path


EAGER_BYTES = 64 * 1000**2
"""Files up to this size are hashed before every run; bigger ones (checkpoints of the paper's
models, 0.4 GB each) are compared by size there and hashed in full by the reader that loads
them, which reads them anyway."""


def read_record(result: str | os.PathLike) -> dict[str, Any] | None:
    """The provenance record beside ``result`` (None when there is none or it is not a JSON
    object)."""
    try:
        record = json.loads(provenance_path(result).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def content_stamp(path: str | os.PathLike) -> dict[str, Any]:
    """What the record says of a file's content: its sha256 and size in bytes."""
    path = Path(path)
    return {"sha256": file_digest(path), "bytes": path.stat().st_size}


def normalise(value: Any) -> Any:
    """``value`` as JSON reads it back (tuples become lists, paths strings; other objects their
    ``str``), so that a job's params and the params Snakemake evaluates compare equal."""

    def default(obj: Any) -> Any:
        if hasattr(obj, "tolist"):
            return obj.tolist()
        if isinstance(obj, Mapping):
            return dict(obj)
        if hasattr(obj, "items") and callable(obj.items):  # Snakemake's Namedlist
            return dict(obj.items())
        return str(obj)

    return json.loads(json.dumps(value, sort_keys=True, default=default))


def stamp_outputs(
    outputs: Iterable[str | os.PathLike],
    rule: str,
    wildcards: Mapping[str, Any],
    params: Mapping[str, Any],
) -> list[Path]:
    """Add the rule, wildcards, params and content of each existing output file to its
    provenance record (writing a record where the job wrote none); returns the records."""
    written = []
    base: dict[str, Any] | None = None
    for output in map(Path, outputs):
        if not output.is_file():
            continue
        record = read_record(output)
        if record is None:
            base = base if base is not None else provenance()
            record = dict(base)
        record.update(
            rule=rule,
            wildcards=normalise(dict(wildcards)),
            params=normalise(dict(params)),
            content=content_stamp(output),
        )
        path = provenance_path(output)
        write_json(record, path)
        written.append(path)
    return written


def params_changes(recorded: Any, current: Any, prefix: str = "") -> list[tuple[str, Any, Any]]:
    """Where two params records differ: ``(key, recorded value, current value)`` per leaf, the
    key dotted from the param's name (e.g. ``sparse_train.lr``); ``"(absent)"`` for a key one
    side lacks."""
    if isinstance(recorded, dict) and isinstance(current, dict):
        changes = []
        for key in sorted(set(recorded) | set(current), key=str):
            name = f"{prefix}.{key}" if prefix else str(key)
            if key not in recorded:
                changes.append((name, "(absent)", current[key]))
            elif key not in current:
                changes.append((name, recorded[key], "(absent)"))
            else:
                changes += params_changes(recorded[key], current[key], name)
        return changes
    return [] if _same(recorded, current) else [(prefix or "params", recorded, current)]


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON values, a NaN equal to a NaN (JSON keeps NaN; NaN != NaN)."""
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


def content_change(
    path: str | os.PathLike, record: Mapping[str, Any] | None, eager_bytes: int | None = None
) -> str | None:
    """How ``path`` differs from the content its record holds (None: no difference found, or
    no content recorded). The size is always compared; the sha256 when the file is at most
    ``eager_bytes`` (None: always)."""
    content = (record or {}).get("content")
    if not isinstance(content, Mapping) or "sha256" not in content:
        return None
    path = Path(path)
    size = path.stat().st_size
    if content.get("bytes") is not None and size != content["bytes"]:
        return f"{format_bytes(size)} now, {format_bytes(content['bytes'])} when written"
    if eager_bytes is not None and size > eager_bytes:
        return None
    digest = file_digest(path)
    if digest != content["sha256"]:
        return f"sha256 {digest[:12]}… now, {str(content['sha256'])[:12]}… when written"
    return None
