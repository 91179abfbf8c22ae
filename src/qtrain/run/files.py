"""Files a job writes and reads: atomic writes, tables, JSON and arrays, and errors for people.

Every result goes through :func:`atomic_write` (an interrupted job never leaves a partial file
that a later run would trust; files get the permissions the umask allows). Every table, array
file and JSON record is read through :func:`load_table`, :func:`load_arrays` or
:func:`read_json`: a file that cannot be read raises :class:`UnreadableFileError`, which names
the file, what is wrong and which rule to rerun (:mod:`.rerun`); one changed after its rule
wrote it raises :class:`EditedFileError`. Checkpoints: :mod:`.checkpoints`.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from .rerun import _producing_rule, rerun_hint

__all__ = [
    "FILE_MODE",
    "CheckpointMismatchError",
    "EditedFileError",
    "NotPlainDataError",
    "UnreadableFileError",
    "atomic_write",
    "copy_file",
    "file_digest",
    "format_bytes",
    "load_arrays",
    "load_table",
    "read_json",
    "remove_temporaries",
    "write_html_table",
    "write_json",
    "write_table",
]

log = logging.getLogger(__name__)


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
    from .provenance import content_change, read_record

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


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, Mapping):
        return dict(obj)
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")


_DIGESTS: dict[tuple[str, str, int, int, int], str] = {}


def file_digest(path: str | os.PathLike, algorithm: str = "sha256") -> str:
    """The hex digest (``algorithm`` of :mod:`hashlib`: sha256, md5, ...) of a file's content,
    streamed, cached per process by path, size, inode and modification time."""
    path = Path(path)
    stat = path.stat()
    cache = (algorithm, str(path.resolve()), stat.st_size, stat.st_ino, stat.st_mtime_ns)
    if cache not in _DIGESTS:
        digest = hashlib.new(algorithm)
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        _DIGESTS[cache] = digest.hexdigest()
    return _DIGESTS[cache]


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
