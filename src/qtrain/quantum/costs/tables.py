"""The cost stage's tables (workflow/rules/costs.smk; SPEC §1.7): what each rule of the stage calls.

Every function takes the rule's input tables by name, the ``quantum.resources`` config section
(``resources``) and ``sparse_train.window_space`` (``window_space``: the priced support follows
it), and returns the rule's output table(s), so the generic ``workflow/scripts/fit_table.py``
runs them all. The classical FLOP table comes in as a table
(:func:`qtrain.learning.flops.classical_flops_table`, its own rule); the measured inputs as the
long table of :func:`measured_inputs`: per paper model, each setting a spectrum can replace,
its value and where it came from (the run's spectrum, or the config's assumption and why).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from qtrain.paper import RESNETS
from qtrain.quantum.costs.analysis import (
    decomposition_table,
    scaling_table,
    sensitivity_table,
    waterfall_table,
)
from qtrain.quantum.costs.break_even import (
    Pricing,
    break_even_curves,
    break_even_summary,
    resnet_cost_table,
)
from qtrain.quantum.costs.primitives import scalar_block_system, trajectory_share
from qtrain.quantum.costs.settings import settings_from_config, spectrum_moments

__all__ = [
    "MEASURED_COLUMNS",
    "cost_break_even",
    "cost_decomposition",
    "cost_resnets",
    "cost_scaling",
    "cost_sensitivity",
    "kappa_check",
    "measured_inputs",
    "overrides_from",
]

#: Columns of the measured-inputs table.
MEASURED_COLUMNS = ["model_name", "setting", "value", "measured", "source"]
_SPECTRUM_SETTINGS = ("hessian_lambda_min", "hessian_lambda_max", "hessian_lambda_rms")


def measured_inputs(
    block_systems: pd.DataFrame,
    spectrum: Mapping[str, Any] | None = None,
    *,
    resources: Mapping[str, Any],
    window_space: str = "all",
    spectrum_model: str = "",
    spectrum_dataset: str = "",
    spectrum_source: str = "",
    reason: str = "",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(measured settings, κ check).

    Measured settings: with a ``spectrum`` (the run's Hessian spectrum at step 0: arrays
    ``nodes``, ``weights``) λ_min, λ_max and λ_rms (:func:`spectrum_moments`) replace the
    assumed ones for every paper model, and hence ρ(I+F_1) and κ(L); the source names the
    spectrum's model (``spectrum_model`` on ``spectrum_dataset``) and says when it is a
    stand-in for the paper's ResNet. Without one every setting is the config's assumption and
    the source says why (``reason``).

    κ check: the project's measured block systems (``block_systems``: the condition sweep of
    figS3) against the scalar model of the slowest mode that prices the ResNets."""
    s, _ = settings_from_config(resources, window_space)
    rows = []
    found = spectrum_moments(spectrum["nodes"], spectrum["weights"]) if spectrum is not None else {}
    for model in RESNETS:
        for key in _SPECTRUM_SETTINGS:
            if key in found:
                stand_in = spectrum_model != model.label or spectrum_dataset != "cifar100"
                source = spectrum_source + (
                    f": a STAND-IN for {model.label} on CIFAR-100" if stand_in else ""
                )
                rows.append([model.key, key, found[key], True, source])
            else:
                why = f"assumption (config quantum.resources.{key}); {reason or 'no spectrum'}"
                rows.append([model.key, key, float(getattr(s, key)), False, why])
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
    """Per model, the settings the measured-inputs table replaces (its ``measured`` rows)."""
    out: dict[str, dict[str, float]] = {}
    if measured is None or measured.empty:
        return out
    rows = measured[measured["measured"].astype(str).str.lower() == "true"]
    for r in rows.itertuples(index=False):
        out.setdefault(str(r.model_name), {})[str(r.setting)] = float(r.value)
    return out


def _sources(measured: pd.DataFrame | None) -> dict[str, str]:
    if measured is None or measured.empty:
        return {}
    rows = measured[measured["measured"].astype(str).str.lower() == "true"]
    return {
        str(m): "; ".join(sorted(set(map(str, g["source"])))) for m, g in rows.groupby("model_name")
    }


def _pricing(classical, measured, resources, window_space) -> Pricing:
    s, sweep = settings_from_config(resources, window_space)
    return Pricing(s, sweep, classical, measured=overrides_from(measured))


def cost_resnets(
    classical: pd.DataFrame,
    measured: pd.DataFrame | None = None,
    *,
    resources: Mapping,
    window_space: str = "all",
) -> pd.DataFrame:
    """The ResNet table: both paper models × {base, favourable} × qubit models × {one window,
    the run}, against the classical wall-clock (:func:`resnet_cost_table`)."""
    pricing = _pricing(classical, measured, resources, window_space)
    return resnet_cost_table(pricing, sources=_sources(measured))


def cost_break_even(
    classical: pd.DataFrame,
    measured: pd.DataFrame | None = None,
    *,
    resources: Mapping,
    window_space: str = "all",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(curves, summary): quantum and classical wall-clock versus n and versus T for both
    scenarios, and where they cross (or that they do not in the swept range)."""
    curves = break_even_curves(_pricing(classical, measured, resources, window_space))
    return curves, break_even_summary(curves)


def cost_sensitivity(
    classical: pd.DataFrame,
    measured: pd.DataFrame | None = None,
    *,
    resources: Mapping,
    window_space: str = "all",
) -> pd.DataFrame:
    """One assumption at a time: the base over ``sensitivity``, the favourable bound over
    ``favourable_variants``, both paper models."""
    return sensitivity_table(_pricing(classical, measured, resources, window_space))


def cost_scaling(
    classical: pd.DataFrame,
    measured: pd.DataFrame | None = None,
    *,
    resources: Mapping,
    window_space: str = "all",
) -> pd.DataFrame:
    """The n-dependence behind C11, each premise under its own assumptions."""
    return scaling_table(_pricing(classical, measured, resources, window_space))


def cost_decomposition(
    classical: pd.DataFrame,
    measured: pd.DataFrame | None = None,
    *,
    resources: Mapping,
    window_space: str = "all",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(decomposition, waterfall): the factors of both scenarios with their marks, and the
    steps from the base to the favourable bound."""
    pricing = _pricing(classical, measured, resources, window_space)
    return decomposition_table(pricing), waterfall_table(pricing)
