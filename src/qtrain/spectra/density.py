"""Saved Hessian spectra and what the proxy reads off them: the a-conventions, per-probe
quadratures and the dissipative / divergent masses (SPEC §2.5, Eq. 7-8).

Conventions for a (:func:`qtrain.spectra.error_proxy.convention`): ``multiplier`` (the GD map's
modes: |λ| > c enter, multiplier |1 − ηλ|; it decides the claims), ``eigenvalue`` (a = −λ, Eq.
7-8 as printed) and ``lr_scaled`` (a = −ηλ with the cut-off on ηλ, the authors' draft), the last
two for comparison. Torch-free (numpy only), so figure and claim rules run in the plotting
environment.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from qtrain.run.files import load_arrays
from qtrain.run.provenance import read_record
from qtrain.spectra.error_proxy import (
    CONVENTIONS,
    convention,
    largest_divergent_multiplier,
    mode_masses,
)

__all__ = [
    "CONVENTIONS",
    "DENSITY_COLUMNS",
    "MASS_COLUMNS",
    "NODE_COLUMNS",
    "densities_tables",
    "load_spectrum",
    "mass_row",
    "masses_table",
    "probe_quadratures",
    "spectra_from_tables",
    "spectrum_masses",
    "spectrum_steps",
]

MASS_COLUMNS = ("dissipative", "divergent", "ratio", "n_c", "max_divergent_multiplier")
"""Per-convention columns of a masses table (``<name>_<convention>``)."""


def load_spectrum(
    path: str | os.PathLike, keys: Sequence[str] = ("nodes", "weights", "meta")
) -> dict[str, Any]:
    """A spectrum saved by :meth:`qtrain.spectra.lanczos.SpectralDensity.save`, every field
    decoded (``meta`` from JSON, 0-d arrays to numbers). Numpy only; a damaged file, or one
    without ``keys``, raises :class:`qtrain.run.files.UnreadableFileError` naming it."""
    out: dict[str, Any] = {}
    for key, value in load_arrays(path, keys=keys).items():
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
    """Extreme Ritz values and, per convention (:data:`MASS_COLUMNS`), the dissipative and
    divergent masses beyond the cut-off (multiplier < 1 / > 1 for ``multiplier``, the sign of a
    for the others), their ratio, the weight N_c beyond the cut-off and the largest multiplier
    |1 + a| among the divergent modes (NaN when none)."""
    row: dict[str, float] = {
        "lambda_min": float(np.min(nodes)),
        "lambda_max": float(np.max(nodes)),
        "negative_mass": float(np.sum(weights[nodes < 0])),
    }
    for conv in conventions:
        p = convention(conv, lr, cutoff)
        diss, div = mode_masses(nodes, weights, p.cutoff, p.scale, p.split)
        row[f"dissipative_{conv}"] = diss
        row[f"divergent_{conv}"] = div
        row[f"ratio_{conv}"] = diss / div if div > 0 else (math.inf if diss > 0 else math.nan)
        row[f"n_c_{conv}"] = float(np.sum(weights[np.abs(p.scale * nodes) > p.cutoff]))
        row[f"max_divergent_multiplier_{conv}"] = largest_divergent_multiplier(
            nodes, weights, p.cutoff, p.scale, p.split
        )
    return row


def spectrum_masses(
    path: str | os.PathLike,
    lr: float,
    cutoff: float,
    conventions: Sequence[str] = CONVENTIONS,
    **columns: Any,
) -> list[dict[str, Any]]:
    """One :func:`mass_row` per Lanczos probe of the spectrum saved at ``path`` (``probe``
    column), each led by ``columns`` (e.g. model, seed, variant, step), the spectrum's
    dimension and the ``machine`` and torch ``threads`` its job ran with (from its provenance
    record; empty when the record does not say): numbers differ across CPU types and thread
    counts, decisive verdicts must not (SPEC §3)."""
    spec = load_spectrum(path)
    record = read_record(path) or {}
    made = {"machine": record.get("machine", ""), "threads": record.get("threads", "")}
    dim = spec["meta"].get("dim")
    return [
        {
            **columns,
            "probe": probe,
            "dim": dim,
            **made,
            **mass_row(nodes, weights, lr, cutoff, conventions),
        }
        for probe, (nodes, weights) in enumerate(probe_quadratures(spec))
    ]


def masses_table(
    main: Sequence[str],
    large: Sequence[str],
    seeds: Sequence[int],
    *,
    lr: float,
    cutoff: float,
    conventions: Sequence[str] = CONVENTIONS,
    main_variant: str = "",
) -> Any:
    """The masses of the spectra the claims and Fig. 3 read, one row per model, training seed
    and Lanczos probe (one replicate estimate each): ``main`` holds the main model's step-0
    spectrum of every seed, ``large`` the large model's after pruning, both in the order of
    ``seeds``. Columns: model (``main``/``large``), seed, variant, step, probe, dim, then those
    of :func:`mass_row` (and ``machine``, ``threads``: :func:`spectrum_masses`)."""
    import pandas as pd

    if len(main) != len(seeds) or len(large) not in (0, len(seeds)):
        raise ValueError(
            f"one spectrum per seed expected: {len(seeds)} seeds, {len(main)} main and "
            f"{len(large)} large spectra"
        )
    rows = []
    for model, paths, variant in (("main", main, main_variant), ("large", large, "")):
        for seed, path in zip(seeds, paths, strict=False):
            rows += spectrum_masses(
                path, lr, cutoff, conventions, model=model, seed=int(seed), variant=variant, step=0
            )
    return pd.DataFrame(rows)


DENSITY_COLUMNS = ("model", "seed", "variant", "step", "lambda", "density", "sigma")
"""Columns of the densities table: each spectrum's smoothed density on its stored grid."""
NODE_COLUMNS = ("model", "seed", "variant", "step", "probe", "node", "weight")
"""Columns of the Ritz-nodes table: each spectrum's quadrature (nodes and weights, all probes)."""


def densities_tables(
    main: Sequence[str],
    keys: Sequence[Sequence[Any]],
    large: Sequence[str],
    seed: int,
) -> tuple[Any, Any]:
    """The densities and the Ritz nodes of the spectra the figures draw, as two long tables
    (:data:`DENSITY_COLUMNS`, :data:`NODE_COLUMNS`): ``main`` holds the main model's spectrum
    of each ``(variant, step)`` of ``keys`` (a spectrum shared by the variants before the first
    download appears under each), ``large`` the large model's after pruning (model ``large``,
    variant empty, step 0); all of training seed ``seed``."""
    import pandas as pd

    if len(main) != len(keys):
        raise ValueError(
            f"one spectrum per (variant, step) expected: {len(keys)} keys, {len(main)}"
        )
    items = [("main", str(v), int(s), path) for (v, s), path in zip(keys, main, strict=True)]
    items += [("large", "", 0, path) for path in large]
    densities, nodes = [], []
    for model, variant, step, path in items:
        spec = load_spectrum(path)
        lead = {"model": model, "seed": int(seed), "variant": variant, "step": step}
        grid = np.asarray(spec["grid"], dtype=float)
        densities.append(
            pd.DataFrame(
                {
                    **lead,
                    "lambda": grid,
                    "density": np.asarray(spec["density"], dtype=float),
                    "sigma": float(spec["sigma"]),
                },
                index=range(len(grid)),
            )
        )
        probe = spec.get("probe")
        n = np.size(spec["nodes"])
        nodes.append(
            pd.DataFrame(
                {
                    **lead,
                    "probe": np.zeros(n, int) if probe is None or np.size(probe) == 0 else probe,
                    "node": np.asarray(spec["nodes"], dtype=float),
                    "weight": np.asarray(spec["weights"], dtype=float),
                },
                index=range(n),
            )
        )
    return (
        pd.concat(densities, ignore_index=True)[list(DENSITY_COLUMNS)],
        pd.concat(nodes, ignore_index=True)[list(NODE_COLUMNS)],
    )


def spectra_from_tables(
    densities: Any, nodes: Any, model: str, seed: int
) -> dict[tuple[str, int], dict[str, Any]]:
    """``{(variant, step): spectrum}`` of one model and training seed from the tables of
    :func:`densities_tables`, each spectrum with ``grid``, ``density``, ``sigma``, ``nodes``,
    ``weights`` and ``probe`` as :func:`load_spectrum` gives them (``KeyError`` naming what is
    missing when the tables hold none)."""
    sel = (densities["model"] == model) & (densities["seed"] == int(seed))
    node_sel = (nodes["model"] == model) & (nodes["seed"] == int(seed))
    dens, quad = densities[sel], nodes[node_sel]
    if dens.empty:
        raise KeyError(f"no densities of model {model!r}, seed {seed} in the densities table")
    out = {}
    for (variant, step), rows in dens.groupby(["variant", "step"], sort=True, dropna=False):
        variant = "" if not isinstance(variant, str) else variant
        q = quad[(quad["variant"].fillna("") == variant) & (quad["step"] == step)]
        out[(variant, int(step))] = {
            "grid": rows["lambda"].to_numpy(dtype=float),
            "density": rows["density"].to_numpy(dtype=float),
            "sigma": float(rows["sigma"].iloc[0]),
            "nodes": q["node"].to_numpy(dtype=float),
            "weights": q["weight"].to_numpy(dtype=float),
            "probe": q["probe"].to_numpy(dtype=int),
        }
    return out


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
