"""Saved Hessian spectra and what the proxy reads off them: the two a-conventions, per-probe
quadratures and the dissipative / divergent masses (SPEC §2.5, Eq. 7-8).

Conventions for a: ``eigenvalue`` (a = −λ, Eq. 7-8 as printed) and ``lr_scaled`` (a = −ηλ, the
authors' draft, and the eigenvalues of F_1 = −ηH). Torch-free (numpy only), so figure and claim
rules run in the plotting environment.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from qtrain.io import load_arrays
from qtrain.spectra.error_proxy import mode_masses

__all__ = [
    "CONVENTIONS",
    "convention_scale",
    "load_spectrum",
    "mass_row",
    "probe_quadratures",
    "spectrum_steps",
]

CONVENTIONS = ("eigenvalue", "lr_scaled")


def convention_scale(convention: str, lr: float) -> float:
    """The factor s in a = −s·λ: 1 for ``eigenvalue``, η for ``lr_scaled``."""
    if convention == "eigenvalue":
        return 1.0
    if convention == "lr_scaled":
        return float(lr)
    raise ValueError(f"convention must be one of {CONVENTIONS}, got {convention!r}")


def load_spectrum(path: str | os.PathLike) -> dict[str, Any]:
    """A spectrum saved by :meth:`qtrain.spectra.lanczos.SpectralDensity.save` (numpy only; a
    damaged file raises :class:`qtrain.io.UnreadableFileError` naming it)."""
    out: dict[str, Any] = {}
    for key, value in load_arrays(path, keys=("nodes", "weights", "meta")).items():
        if key == "meta":
            out[key] = json.loads(str(value))
        elif value.ndim == 0:
            out[key] = value.item()
        else:
            out[key] = value
    return out


def mass_row(
    nodes: np.ndarray,
    weights: np.ndarray,
    lr: float,
    cutoff: float,
    conventions: Sequence[str] = CONVENTIONS,
) -> dict[str, float]:
    """Extreme Ritz values and, per convention, the dissipative (a < −c) and divergent (a > c)
    masses, their ratio and the weight N_c beyond the cut-off."""
    row: dict[str, float] = {
        "lambda_min": float(np.min(nodes)),
        "lambda_max": float(np.max(nodes)),
        "negative_mass": float(np.sum(weights[nodes < 0])),
    }
    for conv in conventions:
        diss, div = mode_masses(nodes, weights, cutoff, convention_scale(conv, lr))
        row[f"dissipative_{conv}"] = diss
        row[f"divergent_{conv}"] = div
        row[f"ratio_{conv}"] = diss / div if div > 0 else (math.inf if diss > 0 else math.nan)
        row[f"n_c_{conv}"] = diss + div
    return row


def probe_quadratures(spectrum: Mapping[str, Any]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each Lanczos probe's own quadrature ``(nodes, weights)`` of a loaded spectrum, its
    weights rescaled to sum to 1 (one replicate estimate of the density per probe)."""
    nodes = np.asarray(spectrum["nodes"], dtype=float)
    weights = np.asarray(spectrum["weights"], dtype=float)
    probe = spectrum.get("probe")
    if probe is None or np.size(probe) == 0:
        return [(nodes, weights)]
    probe = np.asarray(probe)
    out = []
    for p in np.unique(probe):
        sel = probe == p
        total = weights[sel].sum()
        out.append((nodes[sel], weights[sel] / total if total > 0 else weights[sel]))
    return out


def spectrum_steps(paths: Sequence[str]) -> dict[int, str]:
    """``{step: path}`` of spectrum files named ``…/step_<step>.npz``."""
    import re

    return {int(re.search(r"step_(\d+)\.npz$", str(p)).group(1)): str(p) for p in paths}
