"""Atomic writes, checkpoints, tables and provenance records.

Every result the workflow writes goes through :func:`atomic_write` (so an interrupted job
never leaves a partial file that a later run would trust) and gets a provenance record
(config, git commit, package versions, device) beside it.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import IO, Any

__all__ = [
    "CheckpointMismatchError",
    "atomic_write",
    "config_digest",
    "git_commit",
    "load_checkpoint",
    "package_versions",
    "provenance",
    "provenance_path",
    "read_json",
    "save_checkpoint",
    "setup_logging",
    "write_json",
    "write_provenance",
    "write_table",
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


class CheckpointMismatchError(RuntimeError):
    """A checkpoint was written under a different configuration than the one asked for."""


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; rename it onto ``path`` only on success.

    A directory that cannot be written (permissions, read-only or full file system) raises an
    ``OSError`` naming ``path``.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as error:
        raise _write_error(path, error) from error
    try:
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(error, OSError) and error.errno in _DISK_ERRORS:
            raise _write_error(path, error) from error
        raise


_DISK_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM}


def _write_error(path: Path, error: OSError) -> OSError:
    """The ``OSError`` of a failed write, saying which result and where (same errno)."""
    return OSError(
        error.errno,
        f"cannot write {path}: {error.strerror or error}; check that {path.parent} is writable "
        "and its file system has free space, then run the workflow again (nothing was written)",
    )


def write_json(obj: Any, path: str | os.PathLike) -> None:
    """Write ``obj`` as indented, key-sorted JSON, atomically."""
    with atomic_write(path, "w") as handle:
        json.dump(obj, handle, indent=2, sort_keys=True, default=_json_default)
        handle.write("\n")


def read_json(path: str | os.PathLike) -> Any:
    """Read a JSON file."""
    with open(path) as handle:
        return json.load(handle)


def write_table(frame: Any, path: str | os.PathLike) -> None:
    """Write a pandas DataFrame as CSV (no index), atomically."""
    with atomic_write(path, "w") as handle:
        frame.to_csv(handle, index=False)


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, Mapping):
        return dict(obj)
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")


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


def save_checkpoint(state: Mapping[str, Any], path: str | os.PathLike, config: Mapping) -> None:
    """Save a torch checkpoint atomically, stamped with the digest of ``config``."""
    import torch

    payload = dict(state)
    payload["config_digest"] = config_digest(config)
    with atomic_write(path, "wb") as handle:
        torch.save(payload, handle)


def load_checkpoint(
    path: str | os.PathLike, config: Mapping | None = None, map_location: Any = "cpu"
) -> dict[str, Any]:
    """Load a checkpoint; if ``config`` is given, refuse one written under another config."""
    import torch

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    payload = torch.load(path, map_location=map_location, weights_only=False)
    if config is not None:
        expected = config_digest(config)
        found = payload.get("config_digest")
        if found != expected:
            raise CheckpointMismatchError(
                f"checkpoint {path} was written under config digest {found}, but this run's "
                f"config has digest {expected}; delete the checkpoint or use the matching config"
            )
    return payload


def setup_logging(log_file: str | os.PathLike | None, level: int = logging.INFO) -> logging.Logger:
    """Send Python logging and stderr to ``log_file`` (the rule's log) and return the logger.

    Also makes SIGTERM (a scheduler's time limit, ``scancel``, ``kill``) end the job through
    ``SystemExit``, so that it is logged and unfinished atomic writes are cleaned up.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    if log_file is not None:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        stream = open(log_file, "a", buffering=1)
        sys.stderr = stream
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
    return logging.getLogger("qtrain")


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    logging.getLogger("qtrain").error(
        "stopped by SIGTERM (time limit, scancel or kill): this job's outputs are incomplete; "
        "run the workflow again to redo it (resumable jobs continue from their checkpoints)"
    )
    raise SystemExit(128 + signum)
