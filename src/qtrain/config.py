"""Cross-key checks of the workflow configuration that the JSON schema cannot express.

Standard library only: the Snakefile calls :func:`check_config` once, before any job runs, and a
failure names every key involved and what to change.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["ConfigError", "check_config", "check_hessian_operator", "hessian_space_for"]


class ConfigError(ValueError):
    """A configuration whose keys contradict each other."""


def hessian_space_for(window_space: str) -> tuple[str, ...]:
    """The Hessian spaces consistent with what a window trains (SPEC §2.5): ``all`` (dense
    windows) → the full Hessian ``dense``; ``support`` → ``restricted`` (or ``masked``)."""
    if window_space == "all":
        return ("dense",)
    if window_space == "support":
        return ("restricted", "masked")
    raise ConfigError(f"sparse_train.window_space must be 'all' or 'support', got {window_space!r}")


def check_hessian_operator(cfg: Mapping[str, Any]) -> None:
    """One operator (SPEC §2.5): the spectra's space follows what the windows train, and the
    linearized windows use the spectra's BatchNorm mode."""
    window_space = cfg["sparse_train"].get("window_space", "all")
    spectra = cfg.get("spectra", {})
    space = spectra.get("space", "dense")
    allowed = hessian_space_for(window_space)
    if space not in allowed:
        raise ConfigError(
            f"config keys sparse_train.window_space = {window_space!r} and spectra.space = "
            f"{space!r} disagree: windows that train "
            f"{'all weights' if window_space == 'all' else 'only the support'} need "
            f"spectra.space {' or '.join(repr(a) for a in allowed)}"
        )
    lin_mode = cfg.get("linearized", {}).get("bn_mode", "train")
    spec_mode = spectra.get("bn_mode", "train")
    if lin_mode != spec_mode:
        raise ConfigError(
            f"config keys linearized.bn_mode = {lin_mode!r} and spectra.bn_mode = {spec_mode!r} "
            "disagree: the linearized windows and the error proxy they test must use the same "
            "Hessian (set both to the same mode)"
        )


def check_config(cfg: Mapping[str, Any]) -> None:
    """Every cross-key check of this module."""
    check_hessian_operator(cfg)
