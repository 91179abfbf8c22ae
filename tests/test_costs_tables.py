"""The cost stage's rule functions (qtrain.quantum.costs.tables): measured inputs and their
sources, the κ check against the project's block systems, and the tables the rules write."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qtrain.quantum.costs.primitives import scalar_block_system
from qtrain.quantum.costs.tables import (
    MEASURED_COLUMNS,
    cost_break_even,
    cost_decomposition,
    cost_resnets,
    cost_scaling,
    cost_sensitivity,
    kappa_check,
    measured_inputs,
    overrides_from,
)

pytest.importorskip("qdk")

# figS3-like block systems (condition_sweep columns) of one dissipative toy map
BLOCKS = pd.DataFrame(
    {
        "map": ["d"] * 2,
        "kind": ["dissipative"] * 2,
        "order": [2, 2],
        "padding_factor": [0.0, 1.0],
        "padding": [0, 4],
        "steps": [4, 4],
        "spectral_radius": [0.8, 0.8],
        "R": [0.14, 0.14],
        "kappa": [8.0, 16.0],
        "final_share": [0.1, 0.5],
    }
)
# a classical table as the classical_flops rule writes it (numbers chosen)
CLASSICAL = pd.DataFrame(
    [
        {
            "model_name": name,
            "parameters": n,
            "batch": 2048,
            "flops_per_step_dense": 2048 * n * 900.0,
            "flops_per_step_sparse": 2048 * n * 90.0,
            "flops_per_parameter_sample": 900.0,
        }
        for name, n in (("resnet32_4", 7_451_044), ("resnet56_11", 103_703_700))
    ]
)
# a small, quickly evaluated quantum.resources section (the config's keys)
RESOURCES = {
    "hessian_lambda_min": 10.0,
    "carleman_order": 2,
    "map_degree": 2,
    "qubit_models": ["qubit_gate_ns_e3"],
    "n_min": 1e3,
    "n_max": 1e8,
    "points": 6,
    "fit_min_n": 1e5,
    "steps_values": [10, 100],
    "sensitivity": {"epsilon": [0.1], "data_loading": ["qram"]},
    "favourable": {"readout": "fixed", "readout_entries": 10, "data_loading": "qram"},
    "favourable_variants": {"readout_entries": [100]},
}
# a Ritz spectrum: nodes and weights (rms = sqrt(0.25·1 + 0.5·1 + 0.25·9) = sqrt 3)
SPECTRUM = {"nodes": np.array([-1.0, 1.0, 3.0]), "weights": np.array([0.25, 0.5, 0.25])}


def _stand_in_inputs():
    """The measured-inputs table of SPECTRUM taken on a stand-in model (ResNet-8-1, digits)."""
    table, _ = measured_inputs(
        BLOCKS,
        SPECTRUM,
        resources=RESOURCES,
        spectrum_model="ResNet-8-1",
        spectrum_dataset="digits",
        spectrum_source="run X",
    )
    return table


def test_measured_inputs_without_and_with_a_spectrum():
    table, check = measured_inputs(BLOCKS, resources=RESOURCES, reason="measured_spectra: false")
    assert len(check) == len(BLOCKS)
    assert list(table.columns) == MEASURED_COLUMNS
    assert len(table) == 2 * 3 and not table["measured"].any()
    assert table["source"].str.contains("assumption").all()
    assert table["source"].str.contains("measured_spectra: false").all()
    assert overrides_from(table) == {}
    table = _stand_in_inputs()
    over = overrides_from(table)
    assert set(over) == {"resnet32_4", "resnet56_11"}
    assert over["resnet32_4"]["hessian_lambda_min"] == -1.0
    assert over["resnet32_4"]["hessian_lambda_max"] == 3.0
    assert over["resnet32_4"]["hessian_lambda_rms"] == pytest.approx(3**0.5)
    # the smoke spectrum is a stand-in and says so; the paper's own model is not
    assert table["source"].str.contains("STAND-IN for ResNet-32-4").any()
    paper, _ = measured_inputs(
        BLOCKS,
        SPECTRUM,
        resources=RESOURCES,
        spectrum_model="ResNet-32-4",
        spectrum_dataset="cifar100",
        spectrum_source="paper run",
    )
    own = paper[paper["model_name"] == "resnet32_4"]["source"]
    assert (own == "paper run").all()
    other = paper[paper["model_name"] == "resnet56_11"]["source"]
    assert other.str.contains("STAND-IN for ResNet-56-11").all()


def test_kappa_check_is_the_scalar_model_beside_the_measurement():
    check = kappa_check(BLOCKS)
    assert len(check) == 2
    row = check.iloc[1]
    assert row["kappa_measured"] == 16.0
    assert row["kappa_model"] == pytest.approx(scalar_block_system(0.8, 4, 4)["kappa"])
    assert row["kappa_ratio"] == pytest.approx(row["kappa_model"] / 16.0)


def test_rule_tables_from_a_config_section():
    measured = pd.DataFrame(columns=MEASURED_COLUMNS)
    resnets = cost_resnets(CLASSICAL, measured, resources=RESOURCES, window_space="support")
    assert set(resnets["model_name"]) == {"resnet32_4", "resnet56_11"}
    assert set(resnets["horizon"]) == {"window", "run"}
    assert set(resnets["scenario"]) == {"base", "favourable"}
    assert (resnets["measured_inputs"] == "none (config assumptions)").all()
    assert (resnets["support"] == (resnets["n"] * 0.1).apply(np.ceil)).all()
    every = cost_resnets(CLASSICAL, measured, resources=RESOURCES, window_space="all")
    assert (every["support"] == every["n"]).all()
    curves, summary = cost_break_even(CLASSICAL, measured, resources=RESOURCES)
    assert set(curves["axis"]) == {"n", "T"} and len(summary) == 2 * 2
    sens = cost_sensitivity(CLASSICAL, measured, resources=RESOURCES)
    assert {"base", "epsilon", "data_loading", "readout_entries"} == set(sens["assumption"])
    scaling = cost_scaling(CLASSICAL, measured, resources=RESOURCES)
    assert {"theorem", "measured_structure"} <= set(scaling["premise"])
    decomposition, waterfall = cost_decomposition(CLASSICAL, measured, resources=RESOURCES)
    assert set(decomposition["scenario"]) == {"base", "favourable"}
    assert waterfall.groupby("model_name")["step"].max().min() >= 2
    table = _stand_in_inputs()
    measured_run = cost_resnets(CLASSICAL, table, resources=RESOURCES)
    assert measured_run["measured_inputs"].str.contains("from run X").all()
    base = measured_run[measured_run["scenario"] == "base"]
    assert not base["dissipative_premise"].any()  # the measured λ_min = −1
