"""Checkpoints as plain data: tensors and plain values only, written atomically and read with
``torch.load(weights_only=True)``, so a crafted file cannot run code; stamped with the digest
of the config that wrote them (:func:`load_checkpoint` refuses another config's)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .files import (
    CheckpointMismatchError,
    UnreadableFileError,
    _existing,
    _not_plain,
    _unreadable,
    _verify,
    atomic_write,
)
from .provenance import config_digest
from .rerun import rerun_hint

__all__ = [
    "load_checkpoint",
    "plain_data",
    "save_checkpoint",
    "save_tensors",
]


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
