"""The cost stage's tables (workflow/rules/costs.smk; SPEC §1.7): what each rule of the stage calls.

Every function takes the rule's input tables by name and the ``quantum.resources`` config
section (``resources``), and returns the rule's output table(s), so the generic
``workflow/scripts/fit_table.py`` runs them all. The classical FLOP table comes in as a table
(:func:`qtrain.learning.flops.classical_flops_table`, its own rule), the measured inputs as the
long table of :func:`measured_inputs`: per paper model, the settings a measurement replaces and
where it was measured. Without measurements (the default: spectra of the paper's ResNets need
the network pipeline) every setting is the config's assumption, and the tables say so in
``measured_inputs``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from qtrain.quantum.break_even import (
    break_even_curves,
    break_even_summary,
    resnet_cost_table,
    scaling_table,
    sensitivity_table,
)
from qtrain.quantum.cost_model import (
    RESNET_SIZES,
    measured_overrides,
    scalar_block_system,
    settings_from_config,
    trajectory_share,
)

__all__ = [
    "MEASURED_COLUMNS",
    "cost_break_even",
    "cost_resnets",
    "cost_scaling",
    "cost_sensitivity",
    "kappa_check",
    "measured_inputs",
    "overrides_from",
]

#: Columns of the measured-inputs table: model, the replaced setting, its value, the source.
MEASURED_COLUMNS = ["model_name", "setting", "value", "source"]


def measured_inputs(
    block_systems: pd.DataFrame,
    masses: pd.DataFrame | None = None,
    *,
    resources: Mapping[str, Any],
    masses_step: int = 0,
    masses_source: str = "",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(measured settings, κ check).

    Measured settings: with a ``masses`` table (the run's Hessian spectra, ``error_proxy``'s
    masses.csv, when ``quantum.resources.measured_spectra`` is on) λ_min and λ_max at
    ``masses_step`` replace the assumed ones for every paper model (``masses_source`` names the
    spectrum's model: at the smoke preset a small stand-in, not the paper's ResNets); without
    one the table is empty and every setting stays the config's assumption.

    κ check: the project's measured block systems (``block_systems``: the condition sweep of
    figS3) against the scalar model of the slowest mode that prices the ResNets
    (:func:`kappa_check`)."""
    rows = []
    if masses is not None and len(masses):
        found = measured_overrides(masses, step=masses_step)
        for model in RESNET_SIZES:
            rows += [
                {"model_name": model, "setting": k, "value": v, "source": masses_source}
                for k, v in found.items()
            ]
    return pd.DataFrame(rows, columns=MEASURED_COLUMNS), kappa_check(block_systems)


def kappa_check(block_systems: pd.DataFrame) -> pd.DataFrame:
    """Per measured block system (map, padding, T): measured κ(L) and final-block share beside
    the scalar model's at the map's spectral radius ρ (c = max(ρ, ρ^N); trajectory
    ``decaying``, as the toy maps start from u_in ≠ 0), and their ratio. This is the check of
    the κ model the ResNet tables use (docs/cost_model.md §6)."""
    rows = []
    for r in block_systems.itertuples(index=False):
        rho, order, steps = float(r.spectral_radius), int(r.order), int(r.steps)
        padding = int(r.padding)
        model = scalar_block_system(round(max(rho, rho**order), 12), steps, padding)
        share = trajectory_share(rho, steps, padding, "decaying")
        rows.append(
            {
                "map": r.map,
                "kind": r.kind,
                "order": order,
                "padding_factor": float(r.padding_factor),
                "steps": steps,
                "spectral_radius": rho,
                "R": float(r.R),
                "kappa_measured": float(r.kappa),
                "kappa_model": model["kappa"],
                "kappa_ratio": model["kappa"] / float(r.kappa),
                "final_share_measured": float(r.final_share),
                "final_share_model": share,
                "kind_of_value": "model vs measurement",
            }
        )
    return pd.DataFrame(rows)


def overrides_from(measured: pd.DataFrame | None) -> dict[str, dict[str, float]]:
    """Per model, the settings the measured-inputs table replaces."""
    out: dict[str, dict[str, float]] = {}
    if measured is None or measured.empty:
        return out
    for r in measured.itertuples(index=False):
        out.setdefault(str(r.model_name), {})[str(r.setting)] = float(r.value)
    return out


def _sources(measured: pd.DataFrame | None) -> dict[str, str]:
    if measured is None or measured.empty:
        return {}
    return {
        str(m): "; ".join(sorted(set(map(str, g["source"]))))
        for m, g in measured.groupby("model_name")
    }


def _reference(measured: pd.DataFrame | None, resources: Mapping[str, Any]) -> dict[str, float]:
    return overrides_from(measured).get(str(resources.get("reference_model", "")), {})


def cost_resnets(
    classical: pd.DataFrame, measured: pd.DataFrame | None = None, *, resources: Mapping
) -> pd.DataFrame:
    """The ResNet table: both paper models, one window (T steps) and the run, each qubit model,
    against the classical wall-clock (:func:`~qtrain.quantum.break_even.resnet_cost_table`)."""
    s, _ = settings_from_config(resources)
    return resnet_cost_table(
        s, classical, overrides=overrides_from(measured), sources=_sources(measured)
    )


def cost_break_even(
    classical: pd.DataFrame, measured: pd.DataFrame | None = None, *, resources: Mapping
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(curves, summary): quantum and classical wall-clock versus n and versus T, and where
    they cross (or that they do not below the sweep's bound)."""
    s, sweep = settings_from_config(resources)
    curves = break_even_curves(s, sweep, classical, _reference(measured, resources))
    return curves, break_even_summary(curves)


def cost_sensitivity(
    classical: pd.DataFrame, measured: pd.DataFrame | None = None, *, resources: Mapping
) -> pd.DataFrame:
    """One assumption at a time over its sensitivity values, both paper models."""
    s, sweep = settings_from_config(resources)
    return sensitivity_table(s, sweep, classical, overrides=overrides_from(measured))


def cost_scaling(
    classical: pd.DataFrame, measured: pd.DataFrame | None = None, *, resources: Mapping
) -> pd.DataFrame:
    """The n-dependence behind C11 under both readout premises (and the theorem's sparsity)."""
    s, sweep = settings_from_config(resources)
    return scaling_table(s, sweep, classical, _reference(measured, resources))
