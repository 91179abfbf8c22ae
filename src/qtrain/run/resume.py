"""Resume state: a job's own checkpoints, from which an interrupted job continues.

The state is bound to the job's config and to the *content* of its input files
(:func:`resume_key`); it is used only when both match (:func:`load_resume_state`), set aside
when unreadable, and removed when the job finishes (:func:`remove_resume_state`). The training
loops see it only through a :class:`Checkpointer`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .checkpoints import _torch_load, save_checkpoint
from .files import NotPlainDataError, UnreadableFileError, file_digest, remove_temporaries
from .provenance import config_digest

__all__ = [
    "Checkpointer",
    "discard_resume_file",
    "discard_stale_resume_file",
    "load_resume_state",
    "remove_resume_state",
    "resume_key",
    "resume_key_change",
    "set_aside",
]

log = logging.getLogger(__name__)


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


class Checkpointer:
    """One job's resume state, as a training loop sees it: where it lives, bound to the job's
    ``config`` and to the content of its ``inputs`` files (:func:`resume_key`).

    ``path`` is the resume file; other files of the same job (step checkpoints) live in
    :attr:`folder` and are saved and loaded under the same key. The loop never sees the config
    or the inputs: it calls :meth:`load`, :meth:`save` and :meth:`restore`.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        config: Mapping[str, Any],
        inputs: Iterable[str | os.PathLike] | Mapping[str, Any] = (),
    ) -> None:
        self.path = Path(path)
        self.config = config
        self.key = resume_key(config, inputs)

    @property
    def folder(self) -> Path:
        """The folder of the resume file (created on first use)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return self.path.parent

    def load(
        self, map_location: Any = "cpu", path: str | os.PathLike | None = None
    ) -> dict[str, Any] | None:
        """The state saved under this job's key (:func:`load_resume_state`), else None."""
        return load_resume_state(self.path if path is None else path, self.key, map_location)

    def save(self, state: Mapping[str, Any], path: str | os.PathLike | None = None) -> Path:
        """Save ``state`` (plain data) under this job's config and key; returns where."""
        target = self.path if path is None else Path(path)
        save_checkpoint(state, target, self.config, resume_key=self.key)
        return target

    def remove(self, *more: str | os.PathLike) -> list[Path]:
        """Remove the resume file and ``more`` (:func:`remove_resume_state`)."""
        return remove_resume_state(self.path, *more)
