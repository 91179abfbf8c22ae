"""Atomic writes, checkpoints, tables, resume state and provenance records.

Every result the workflow writes goes through :func:`atomic_write` (so an interrupted job
never leaves a partial file that a later run would trust; files get the permissions the umask
allows) and gets a provenance record (config, git commit, package versions, device) beside it.

Every checkpoint, table, array file and JSON record the workflow reads goes through one of
:func:`load_checkpoint`, :func:`load_table`, :func:`load_arrays` or :func:`read_json`: a file
that cannot be read raises :class:`UnreadableFileError`, which names the file, says what is
wrong and what to do.

Resume state (a job's own checkpoints, from which an interrupted job continues) is bound to the
job's config and to the *content* of its input files (:func:`resume_key`); it is used only when
both match (:func:`load_resume_state`), set aside when unreadable, and removed when the job
finishes (:func:`remove_resume_state`).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from base64 import urlsafe_b64encode
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import IO, Any

__all__ = [
    "CheckpointMismatchError",
    "EditedFileError",
    "NotPlainDataError",
    "UnreadableFileError",
    "atomic_write",
    "config_digest",
    "copy_file",
    "discard_resume_file",
    "discard_stale_resume_file",
    "file_digest",
    "format_bytes",
    "git_commit",
    "load_arrays",
    "load_checkpoint",
    "load_resume_state",
    "load_table",
    "package_versions",
    "plain_data",
    "provenance",
    "provenance_path",
    "read_json",
    "remove_resume_state",
    "remove_temporaries",
    "rerun_hint",
    "resume_key",
    "resume_key_change",
    "save_checkpoint",
    "save_tensors",
    "set_aside",
    "setup_logging",
    "write_html_table",
    "write_json",
    "write_provenance",
    "write_table",
]

log = logging.getLogger(__name__)

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


class UnreadableFileError(RuntimeError):
    """A file the workflow reads is damaged (truncated, corrupt, not of the expected kind).

    The message names the file, what is wrong and what to do; ``path`` is the file.
    """

    def __init__(self, message: str, path: str | os.PathLike) -> None:
        super().__init__(message)
        self.path = Path(path)


class NotPlainDataError(UnreadableFileError):
    """A checkpoint or array file holds Python objects other than tensors, arrays and plain
    values: refused unread, since unpickling such objects can run code (a crafted file).
    ``what``: what it holds (e.g. ``the Python object posix.system``)."""

    def __init__(self, message: str, path: str | os.PathLike, what: str) -> None:
        super().__init__(message, path)
        self.what = what


class EditedFileError(UnreadableFileError):
    """A result's content no longer matches the sha256 its provenance record holds: the file
    was changed after the rule that made it wrote it."""


def _read_umask() -> int:
    """The process umask, read without changing it where Linux shows it (/proc), else set and
    restored at once under a lock (done once, at import, before any thread writes files)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


_UMASK_LOCK = threading.Lock()
_UMASK = _read_umask()
FILE_MODE = 0o666 & ~_UMASK
"""The mode of every file :func:`atomic_write` creates: what ``open()`` gives under the umask."""


@contextlib.contextmanager
def atomic_write(
    path: str | os.PathLike, mode: str = "w", size_hint: int | None = None
) -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; rename it onto ``path`` only on success.

    The file gets the mode a plain ``open()`` would give it (``0o666`` less the umask, e.g.
    ``0644`` under umask 022), not ``mkstemp``'s private ``0600``. A directory that cannot be
    written (permissions, read-only or full file system) raises an ``OSError`` naming ``path``
    (and, for a full disk, the space needed: ``size_hint`` bytes where the caller knows it, and
    the space free), also where the writer (e.g. ``torch.save``) wraps the ``OSError`` in an
    error of its own. The temporary file is removed on any failure, ``SystemExit`` included.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as error:
        raise _write_error(path, error, size_hint) from error
    try:
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
            os.fchmod(handle.fileno(), FILE_MODE)
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        cause = _disk_error(error)
        if cause is not None:
            raise _write_error(path, cause, size_hint) from error
        raise


_DISK_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM}


def _disk_error(error: BaseException) -> OSError | None:
    """The ``OSError`` of a full, read-only or forbidden file system behind ``error`` (itself,
    or its cause or context: ``torch.save`` reports a failed write as a ``RuntimeError``
    "enforce fail at inline_container.cc" whose context is the ``OSError``), else None."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OSError) and error.errno in _DISK_ERRORS:
            return error
        error = error.__cause__ or error.__context__
    return None


def _write_error(path: Path, error: OSError, size_hint: int | None = None) -> OSError:
    """The ``OSError`` of a failed write, saying which result and where (same errno); for a
    full disk or quota, how much space the file needs and how much is free."""
    space = ""
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        free = _free_bytes(path.parent)
        need = f"it needs about {format_bytes(size_hint)}" if size_hint else "it needs more"
        have = f"{format_bytes(free)} free" if free is not None else "free space unknown"
        space = f" ({need}; {have} on the file system of {path.parent})"
    return OSError(
        error.errno,
        f"cannot write {path}: {error.strerror or error}{space}; check that {path.parent} is "
        "writable and its file system has free space, then run the workflow again (nothing was "
        "written)",
    )


def _free_bytes(folder: Path) -> int | None:
    """Bytes free to this user on the file system of ``folder`` (its nearest existing parent)."""
    for candidate in (folder, *folder.parents):
        try:
            return shutil.disk_usage(candidate).free
        except OSError:
            continue
    return None


def format_bytes(size: int | float) -> str:
    """``size`` bytes for people: ``512 B``, ``3.2 MB``, ``1.4 GB`` (powers of 1000)."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(size) < 1000 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


def copy_file(source: str | os.PathLike, target: str | os.PathLike) -> None:
    """Copy ``source`` to ``target`` byte for byte, atomically (e.g. a stage's table that a
    figure draws as it is, written beside the figure)."""
    data = _existing(source, "file").read_bytes()
    with atomic_write(target, "wb", size_hint=len(data)) as handle:
        handle.write(data)


def write_json(obj: Any, path: str | os.PathLike) -> None:
    """Write ``obj`` as indented, key-sorted JSON, atomically."""
    text = json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n"
    with atomic_write(path, "w", size_hint=len(text.encode())) as handle:
        handle.write(text)


def read_json(path: str | os.PathLike) -> Any:
    """Read a JSON file (:class:`UnreadableFileError` naming it when it is not valid JSON)."""
    path = _existing(path, "JSON record")
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (ValueError, OSError) as error:  # JSONDecodeError and UnicodeDecodeError included
        raise _unreadable(path, "JSON record", error) from error


def write_table(frame: Any, path: str | os.PathLike) -> None:
    """Write a pandas DataFrame as CSV (no index), atomically."""
    text = frame.to_csv(index=False)
    with atomic_write(path, "w", size_hint=len(text.encode())) as handle:
        handle.write(text)


def write_html_table(
    frame: Any, path: str | os.PathLike, title: str, note: str = "", bold: tuple[str, ...] = ()
) -> None:
    """Write a pandas DataFrame as a small self-contained HTML page (a titled table), atomically.

    Snakemake's HTML report shows HTML results inline (images, HTML and PDF only; other files
    are download links), so tables meant to be read in the report are written this way too.
    ``bold``: columns whose cells are set in bold (e.g. a verdict).
    """
    import html

    shown = frame.copy()
    for column in bold:
        if column in shown:
            shown[column] = [f"<b>{html.escape(str(v))}</b>" for v in shown[column]]
    escape = {c: (lambda v: v) if c in bold else (lambda v: html.escape(str(v))) for c in shown}
    body = shown.to_html(index=False, escape=False, na_rep="", formatters=escape, border=0)
    page = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_HTML_STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{html.escape(title)}</h1>\n"
        + (f"<p>{html.escape(note)}</p>\n" if note else "")
        + body
        + "\n</body>\n</html>\n"
    )
    with atomic_write(path, "w") as handle:
        handle.write(page)


_HTML_STYLE = (
    "body{font-family:sans-serif;font-size:13px;margin:1em;color:#111;background:#fff}"
    "h1{font-size:16px}table{border-collapse:collapse;width:100%}"
    # long cells wrap anywhere, so the table fits its frame (no horizontal scrolling)
    "th,td{border:1px solid #bbb;padding:3px 6px;text-align:left;vertical-align:top;"
    "overflow-wrap:anywhere}"
    "th{background:#eee}"
)


def load_table(path: str | os.PathLike, empty_ok: bool = False, **read_csv: Any) -> Any:
    """Read a CSV table (pandas); :class:`UnreadableFileError` naming the file when it is empty
    (unless ``empty_ok``: an empty DataFrame), truncated or not CSV, ``FileNotFoundError``
    saying what makes it when it is missing. ``read_csv``: options of ``pandas.read_csv``."""
    import pandas as pd

    path = _existing(path, "CSV table")
    _verify(path)
    try:
        return pd.read_csv(path, **read_csv)
    except pd.errors.EmptyDataError as error:
        if empty_ok:
            return pd.DataFrame()
        raise _unreadable(path, "CSV table", error) from error
    except (ValueError, OSError) as error:  # ParserError, UnicodeDecodeError
        raise _unreadable(path, "CSV table", error) from error


def load_arrays(path: str | os.PathLike, keys: Iterable[str] = ()) -> dict[str, Any]:
    """Read every array of an ``.npz`` file (no pickles) into a dict.

    :class:`UnreadableFileError` naming the file when it is truncated or corrupt or lacks one
    of ``keys``; ``FileNotFoundError`` saying what makes it when it is missing.
    """
    import zipfile

    import numpy as np

    path = _existing(path, "array file (.npz)")
    _verify(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: np.array(data[key]) for key in data.files}
    except ValueError as error:
        if "allow_pickle" in str(error):  # an object array: a pickle, never loaded
            raise _not_plain(path, "array file (.npz)", "a pickled object array") from error
        raise _unreadable(path, "array file (.npz)", error) from error
    except (OSError, EOFError, KeyError, zipfile.BadZipFile) as error:
        raise _unreadable(path, "array file (.npz)", error) from error
    missing = [key for key in keys if key not in arrays]
    if missing:
        raise UnreadableFileError(
            f"{path} is not the array file this step expects: it has no {missing} (it has "
            f"{sorted(arrays)}); {rerun_hint(path)}",
            path,
        )
    return arrays


def _existing(path: str | os.PathLike, kind: str) -> Path:
    """``path`` as a Path; ``FileNotFoundError`` saying how to make it when it is missing."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            errno.ENOENT, f"{kind} not found: {path}; run the workflow to make it", str(path)
        )
    return path


def _unreadable(path: Path, kind: str, error: BaseException) -> UnreadableFileError:
    reason = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return UnreadableFileError(
        f"{path} is not a readable {kind} (truncated or corrupt: {reason}); {rerun_hint(path)}",
        path,
    )


def _not_plain(path: Path, kind: str, what: str) -> NotPlainDataError:
    return NotPlainDataError(
        f"{path} is not plain data: it holds {what}, so it was refused without being loaded "
        f"(loading Python objects from a file can run code). A {kind} of this workflow holds "
        "only tensors or arrays, numbers, strings, lists and dicts; this one was crafted or "
        f"written by other software (or by a version of this workflow before issue 24). Do not "
        f"use it: {rerun_hint(path)}",
        path,
        what,
    )


def _verify(path: Path) -> None:
    """Raise :class:`EditedFileError` if ``path`` changed after its rule wrote it (its
    provenance record holds the content's sha256; files without one are not checked)."""
    from .run.provenance import content_change, read_record

    record = read_record(path)
    change = content_change(path, record, eager_bytes=None) if record else None
    if change:
        rule = record.get("rule") or _producing_rule(path) or "?"
        hint = rerun_hint(path)
        raise EditedFileError(
            f"{path} was changed after rule `{rule}` wrote it ({change}); it is not used. "
            f"{hint[:1].upper()}{hint[1:]}, or put the original back",
            path,
        )


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
    try:
        rule = json.loads(provenance_path(path).read_text()).get("rule")
    except (OSError, ValueError, AttributeError):
        return None
    return str(rule) if rule else None


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


def save_checkpoint(
    state: Mapping[str, Any],
    path: str | os.PathLike,
    config: Mapping,
    resume_key: Mapping[str, Any] | None = None,
) -> None:
    """Save a torch checkpoint atomically, stamped with the digest of ``config`` (and, for
    resume state, with its :func:`resume_key`). It holds plain data only (:func:`save_tensors`).
    """
    payload = dict(state)
    payload["config_digest"] = config_digest(config)
    if resume_key is not None:
        payload["resume_key"] = dict(resume_key)
    save_tensors(payload, path)


def save_tensors(payload: Mapping[str, Any], path: str | os.PathLike) -> None:
    """Save a record of tensors and plain values (numbers, strings, None, lists, tuples, dicts)
    with ``torch.save``, atomically, so that :func:`load_checkpoint` reads it back with
    ``weights_only=True`` (never unpickling code). NumPy scalars become Python numbers; any
    other object raises ``TypeError`` naming its key. A full disk raises an ``OSError`` naming
    the path, the space needed and the space free."""
    import torch

    payload = plain_data(dict(payload))
    with atomic_write(path, "wb", size_hint=_tensor_bytes(payload) + 65536) as handle:
        torch.save(payload, handle)


_PLAIN = (type(None), bool, int, float, complex, str, bytes)


def plain_data(value: Any, where: str = "checkpoint") -> Any:
    """``value`` as tensors and plain values only (what ``torch.load(weights_only=True)``
    reads): NumPy scalars become Python numbers, mappings dicts (an ``OrderedDict``, e.g. a
    state dict, stays one), tuples and lists keep their type; other objects raise
    ``TypeError`` naming where they are (e.g. ``checkpoint['records'][3]['lr']``)."""
    import numpy as np
    import torch

    if type(value) in _PLAIN or isinstance(
        value, (torch.Tensor, torch.dtype, torch.device, torch.Size)
    ):
        return value
    if isinstance(value, np.generic) and not isinstance(value, np.object_):
        return value.item()  # np.float64 is a float, but pickles as a NumPy object
    for kind in _PLAIN[1:]:  # subclasses (e.g. a path string of Snakemake): the plain value
        if isinstance(value, kind):
            return kind(value)
    if isinstance(value, Mapping):
        items = [(k, plain_data(v, f"{where}[{k!r}]")) for k, v in value.items()]
        if type(value) is dict or not isinstance(value, dict):
            return dict(items)
        try:
            return type(value)(items)  # an OrderedDict (a state dict) stays one
        except TypeError:  # a dict subclass that cannot be built from pairs
            return dict(items)
    if isinstance(value, (list, tuple)) and type(value) in (list, tuple):
        return type(value)(plain_data(v, f"{where}[{i}]") for i, v in enumerate(value))
    raise TypeError(
        f"{where} is a {type(value).__module__}.{type(value).__qualname__}: checkpoints hold "
        "tensors and plain values only (numbers, strings, None, lists, tuples, dicts)"
    )


def _tensor_bytes(value: Any) -> int:
    """Bytes of the tensors in a plain-data record (what ``torch.save`` writes, roughly)."""
    import torch

    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, Mapping):
        return sum(_tensor_bytes(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(_tensor_bytes(v) for v in value)
    return 0


def load_checkpoint(
    path: str | os.PathLike, config: Mapping | None = None, map_location: Any = "cpu"
) -> dict[str, Any]:
    """Load a checkpoint; if ``config`` is given, refuse one written under another config.

    Read with ``torch.load(weights_only=True)``: a file holding anything but tensors and plain
    values is refused unread (:class:`NotPlainDataError`), so a crafted checkpoint cannot run
    code. A missing file raises ``FileNotFoundError``, a damaged one (truncated, corrupt, not a
    checkpoint) :class:`UnreadableFileError`, one changed after its rule wrote it
    :class:`EditedFileError`; each names the file and what to do.
    """
    path = _existing(path, "checkpoint")
    _verify(path)
    payload = _torch_load(path, map_location)
    if config is not None:
        expected = config_digest(config)
        found = payload.get("config_digest")
        if found != expected:
            raise CheckpointMismatchError(
                f"checkpoint {path} was written under config digest {found}, but this run's "
                f"config has digest {expected}; delete the checkpoint or use the matching config"
            )
    return payload


def _torch_load(path: Path, map_location: Any) -> dict[str, Any]:
    """``torch.load(weights_only=True)`` of a workflow checkpoint (a dict);
    :class:`NotPlainDataError` if it holds other objects, :class:`UnreadableFileError` if it
    is damaged or not a record."""
    import pickle

    import torch

    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except (KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except pickle.UnpicklingError as error:
        if "weights only load failed" in str(error).lower():
            raise _not_plain(path, "checkpoint", _refused_object(str(error))) from None
        raise _unreadable(path, "checkpoint", error) from error
    except Exception as error:  # torch raises RuntimeError, OSError, EOFError…
        raise _unreadable(path, "checkpoint", error) from error
    if not isinstance(payload, dict):
        raise UnreadableFileError(
            f"{path} is not a checkpoint of this workflow (it holds a {type(payload).__name__}, "
            f"not a record); {rerun_hint(path)}",
            path,
        )
    return payload


def _refused_object(message: str) -> str:
    """What torch's safe loader refused, from its message (e.g. ``the object posix.system``)."""
    import re

    found = re.search(r"GLOBAL ([\w.]+)", message)
    if found:
        return f"the Python object {found.group(1)}"
    found = re.search(r"Unsupported operand (\S+)", message)
    return f"pickle code other than data (operand {found.group(1)})" if found else "objects"


# --- resume state: bound to the config and to the content of the inputs -----------------------

_DIGESTS: dict[tuple[str, int, int, int], str] = {}


def file_digest(path: str | os.PathLike) -> str:
    """The sha256 of a file's content (streamed), cached per process by path, size, inode and
    modification time."""
    path = Path(path)
    stat = path.stat()
    cache = (str(path.resolve()), stat.st_size, stat.st_ino, stat.st_mtime_ns)
    if cache not in _DIGESTS:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        _DIGESTS[cache] = digest.hexdigest()
    return _DIGESTS[cache]


def resume_key(
    config: Mapping[str, Any], inputs: Iterable[str | os.PathLike] | Mapping[str, Any] = ()
) -> dict[str, Any]:
    """What resume state is bound to: the digest of ``config`` and the content digest of every
    input file (a list of paths, a mapping of names to paths or lists of them, or Snakemake's
    ``snakemake.input``)."""
    values: Iterable[Any] = inputs.values() if isinstance(inputs, Mapping) else inputs
    paths: list[str] = []
    for value in values:
        if isinstance(value, (str, os.PathLike)):
            paths.append(str(value))
        else:
            paths.extend(str(v) for v in value)
    return {
        "config": config_digest(config),
        "inputs": {path: file_digest(path) for path in sorted(set(paths))},
    }


def resume_key_change(saved: Any, key: Any) -> str | None:
    """Why resume state written under ``saved`` may not be used under ``key`` (None if it may):
    e.g. ``"inputs changed since this resume state was written (results/…/model.pt)"``."""
    change = _key_change(saved, key)
    if change is None:
        return None
    what, changed = change
    return f"{what} ({', '.join(changed)})" if changed else what


def _key_change(saved: Any, key: Any) -> tuple[str, list[str]] | None:
    """(what changed, the input files that changed) between two resume keys, None if equal."""
    if saved == key:
        return None
    if saved is None:
        return (
            "this resume state has no record of its inputs (written by an older version of the "
            "workflow)",
            [],
        )
    if not isinstance(saved, Mapping) or not isinstance(key, Mapping):
        return "inputs or config changed since this resume state was written", []
    old, new = dict(saved.get("inputs") or {}), dict(key.get("inputs") or {})
    changed = sorted(p for p in set(old) | set(new) if old.get(p) != new.get(p))
    parts = (["config"] if saved.get("config") != key.get("config") else []) + (
        ["inputs"] if changed else []
    )
    what = " and ".join(parts) or "inputs or config"
    return f"{what} changed since this resume state was written", changed


def load_resume_state(
    path: str | os.PathLike, key: Mapping[str, Any], map_location: Any = "cpu"
) -> dict[str, Any] | None:
    """The resume state saved at ``path`` if it was written under ``key``; else None.

    Missing: None. Unreadable (truncated, corrupt): set aside as ``<name>.corrupt`` with a
    warning, None. Written under another config or other inputs (:func:`resume_key`): deleted
    with a warning that says what changed, None; the job then starts over. Never reused.
    """
    path = Path(path)
    remove_temporaries(path)
    if not path.exists():
        return None
    try:
        payload = _torch_load(path, map_location)
    except UnreadableFileError as error:
        discard_resume_file(path, error)
        return None
    if not discard_stale_resume_file(path, payload.get("resume_key"), key):
        return None
    return payload


def discard_resume_file(path: str | os.PathLike, error: BaseException) -> Path:
    """Set an unreadable resume file aside (``<name>.corrupt``) with a warning; returns where.
    One that is not plain data (:class:`NotPlainDataError`) is refused unread, with a warning
    saying so."""
    aside = set_aside(path)
    if isinstance(error, NotPlainDataError):
        log.warning(
            "resume state %s is not plain data (it holds %s): refused without loading it, set "
            "aside as %s (do not use it); starting over",
            path,
            error.what,
            aside,
        )
        return aside
    if isinstance(error, UnreadableFileError) and error.__cause__ is not None:
        error = error.__cause__
    log.warning(
        "resume state %s is unreadable (truncated or corrupt: %s: %s): set aside as %s; "
        "starting over",
        path,
        type(error).__name__,
        error,
        aside,
    )
    return aside


def discard_stale_resume_file(path: str | os.PathLike, saved: Any, key: Any) -> bool:
    """True if resume state written under ``saved`` may be used under ``key``; else delete
    ``path`` with a warning naming what changed (e.g. "inputs changed since this resume state
    was written: starting over …") and return False."""
    change = _key_change(saved, key)
    if change is None:
        return True
    what, changed = change
    detail = f"changed: {', '.join(changed)}; " if changed else ""
    Path(path).unlink(missing_ok=True)
    log.warning("%s: %s: starting over (%sthe stale state is deleted)", path, what, detail)
    return False


def set_aside(path: str | os.PathLike) -> Path:
    """Rename a damaged file to ``<name>.corrupt`` (replacing an older one) and return that."""
    path = Path(path)
    aside = path.with_name(path.name + ".corrupt")
    os.replace(path, aside)
    return aside


def remove_resume_state(*paths: str | os.PathLike) -> list[Path]:
    """Remove a finished job's resume state (files or folders; missing ones are skipped), and
    the folder holding them when it is left empty. Returns what was removed."""
    removed = []
    for path in map(Path, paths):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
        else:
            continue
        removed.append(path)
        with contextlib.suppress(OSError):  # not empty (another job's state) or gone
            path.parent.rmdir()
    if removed:
        log.info("job finished: removed its resume state %s", ", ".join(map(str, removed)))
    return removed


def setup_logging(
    log_file: str | os.PathLike | None, level: int = logging.INFO, *, job: Any = None
) -> logging.Logger:
    """Send Python logging and stderr to ``log_file`` (the rule's log) and return the logger.

    Also makes SIGTERM (a scheduler's time limit, ``scancel``, ``kill``) and SIGINT (Ctrl-C)
    end the job through ``SystemExit``, so that it is logged in one line (no traceback) and
    unfinished atomic writes are cleaned up.

    In a Snakemake ``script:`` job (``job``: its ``snakemake`` object, taken from the script's
    globals when not given) it also frames the job:

    - it takes the job's lock (:mod:`qtrain.run.locks`) before touching anything, and refuses
      to run (exit 1, the reason in the log) while another live process writes the same
      outputs, e.g. a job left running by a killed Snakemake; a dead writer's lock is taken over;
    - it removes the temporary files a killed writer left beside the job's outputs;
    - it keeps provenance records with their results: the records of the job's declared
      outputs are removed when the job starts (a record of an older result never stands beside
      a missing or new one) and when it fails (Snakemake then removes the outputs); when it
      succeeds, every output's record is stamped with the rule, wildcards, params and content
      hash (:func:`qtrain.run.provenance.stamp_outputs`);
    - it names the job in the console status lines of :mod:`qtrain.progress`.
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
        signal.signal(signal.SIGTERM, _exit_on_signal)
        signal.signal(signal.SIGINT, _exit_on_signal)
    if job is None:
        job = getattr(sys.modules.get("__main__"), "snakemake", None)
    if job is not None:
        _start_job(job)
    return logging.getLogger("qtrain")


class _Job:
    """The running job's frame: its declared outputs, lock and outcome."""

    outputs: list[str] = []
    lock: Any = None
    failed: bool = False
    rule: str = "?"
    wildcards: dict[str, Any] = {}
    params: dict[str, Any] = {}


def _start_job(job: Any) -> None:
    """Lock ``job``'s outputs, remove stale temporaries and provenance records of its outputs
    now (and the records if it fails), stamp the records when it succeeds, and name it in the
    progress status lines."""
    import atexit

    from .progress import set_job_label
    from .run.locks import OutputLockedError, acquire, lock_path

    outputs = [str(path) for path in getattr(job, "output", [])]
    label = job_label(job)
    if outputs:
        lock = lock_path(outputs)
        try:
            _Job.lock = acquire(lock, label)
        except OutputLockedError as error:
            logging.getLogger("qtrain").error("%s: %s", label, error)
            raise SystemExit(1) from None
        except OSError as error:  # e.g. a result folder that cannot be written
            logging.getLogger("qtrain").error("%s: %s", label, _write_error(lock, error))
            raise SystemExit(1) from None
    _Job.outputs = outputs
    _Job.failed = False
    _Job.rule = str(getattr(job, "rule", "?"))
    _Job.wildcards = _items(getattr(job, "wildcards", {}))
    _Job.params = _items(getattr(job, "params", {}))
    for output in outputs:
        remove_temporaries(output)
    _remove_output_provenance()
    set_job_label(label)
    if sys.excepthook is not _excepthook:
        global _previous_excepthook
        _previous_excepthook = sys.excepthook
        sys.excepthook = _excepthook
        atexit.register(_finish_job)


def _items(named: Any) -> dict[str, Any]:
    """A Snakemake Namedlist (wildcards, params) or mapping as a dict of its named items."""
    try:
        return dict(named.items())
    except (AttributeError, TypeError, ValueError):
        return {}


def _finish_job() -> None:
    """At exit: stamp the outputs' provenance records if the job succeeded; release its lock.
    A job whose records cannot be stamped fails (exit 1) with the reason in its log."""
    try:
        if not _Job.failed and _Job.outputs:
            from .run.provenance import stamp_outputs

            try:
                stamp_outputs(_Job.outputs, _Job.rule, _Job.wildcards, _Job.params)
            except Exception as error:  # e.g. a full disk: the job did not finish
                logging.getLogger("qtrain").error(
                    "could not record the provenance of this job's outputs: %s", error
                )
                _remove_output_provenance()
                logging.shutdown()
                os._exit(1)
    finally:
        if _Job.lock is not None:
            _Job.lock.release()
            _Job.lock = None


def remove_temporaries(path: str | os.PathLike) -> None:
    """Remove the temporary files that an interrupted writer of ``path`` left beside it
    (``.<name>.*.tmp`` of :func:`atomic_write`, ``.<name>.tmp``): only this job writes them."""
    path = Path(path)
    if not path.parent.is_dir():
        return
    for pattern in (f".{path.name}.*.tmp", f".{path.name}.tmp"):
        for tmp in path.parent.glob(pattern):
            with contextlib.suppress(OSError):
                tmp.unlink()
                log.info("removed %s, left by an interrupted writer", tmp)


def job_label(job: Any) -> str:
    """``rule <name>`` with its wildcards, e.g. ``rule sparse_train (variant=sparse)``."""
    label = f"rule {getattr(job, 'rule', '?')}"
    try:
        wildcards = ", ".join(f"{k}={v}" for k, v in job.wildcards.items())
    except AttributeError:
        wildcards = ""
    return f"{label} ({wildcards})" if wildcards else label


def _remove_output_provenance() -> None:
    for output in _Job.outputs:
        with contextlib.suppress(OSError):
            provenance_path(output).unlink(missing_ok=True)


_previous_excepthook = sys.excepthook


def _excepthook(kind: type[BaseException], error: BaseException, trace: Any) -> None:
    _Job.failed = True
    _remove_output_provenance()
    _previous_excepthook(kind, error, trace)


_SIGNALS = {
    signal.SIGTERM: "SIGTERM (time limit, scancel or kill)",
    signal.SIGINT: "SIGINT (Ctrl-C)",
}


def _exit_on_signal(signum: int, frame: Any) -> None:
    _Job.failed = True
    logging.getLogger("qtrain").error(
        "stopped by %s: this job's outputs are incomplete; run the workflow again to redo it "
        "(resumable jobs continue from their checkpoints)",
        _SIGNALS.get(signum, f"signal {signum}"),
    )
    _remove_output_provenance()
    raise SystemExit(128 + signum)
