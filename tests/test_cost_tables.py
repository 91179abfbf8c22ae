"""The cost stage's rule functions (qtrain.quantum.cost_tables): measured inputs, the κ check
against the project's block systems, and the tables the rules write."""

from __future__ import annotations

import pandas as pd
import pytest

from qtrain.quantum.cost_model import scalar_block_system
from qtrain.quantum.cost_tables import (
    MEASURED_COLUMNS,
    cost_break_even,
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
}


def test_measured_inputs_without_and_with_spectra():
    table, check = measured_inputs(BLOCKS, resources=RESOURCES)
    assert len(check) == len(BLOCKS)
    assert list(table.columns) == MEASURED_COLUMNS and table.empty
    assert overrides_from(table) == {}
    masses = pd.DataFrame({"step": [0, 20], "lambda_min": [-2.0, -3.0], "lambda_max": [9.0, 8.0]})
    table, _ = measured_inputs(BLOCKS, masses, resources=RESOURCES, masses_source="run X")
    over = overrides_from(table)
    assert set(over) == {"resnet32_4", "resnet56_11"}
    assert over["resnet32_4"] == {"hessian_lambda_min": -2.0, "hessian_lambda_max": 9.0}
    assert set(table["source"]) == {"run X"}


def test_kappa_check_is_the_scalar_model_beside_the_measurement():
    check = kappa_check(BLOCKS)
    assert len(check) == 2
    row = check.iloc[1]
    assert row["kappa_measured"] == 16.0
    assert row["kappa_model"] == pytest.approx(scalar_block_system(0.8, 4, 4)["kappa"])
    assert row["kappa_ratio"] == pytest.approx(row["kappa_model"] / 16.0)


def test_rule_tables_from_a_config_section():
    measured = pd.DataFrame(columns=MEASURED_COLUMNS)
    resnets = cost_resnets(CLASSICAL, measured, resources=RESOURCES)
    assert set(resnets["model_name"]) == {"resnet32_4", "resnet56_11"}
    assert set(resnets["horizon"]) == {"window", "run"}
    assert (resnets["measured_inputs"] == "none (config defaults)").all()
    curves, summary = cost_break_even(CLASSICAL, measured, resources=RESOURCES)
    assert set(curves["axis"]) == {"n", "T"} and len(summary) == 2
    sens = cost_sensitivity(CLASSICAL, measured, resources=RESOURCES)
    assert {"base", "epsilon", "data_loading"} == set(sens["assumption"])
    scaling = cost_scaling(CLASSICAL, measured, resources=RESOURCES)
    assert {"fixed", "fraction"} <= set(scaling["premise"])
    masses = pd.DataFrame({"step": [0], "lambda_min": [-1.0], "lambda_max": [20.0]})
    table, _ = measured_inputs(BLOCKS, masses, resources=RESOURCES, masses_source="run X")
    measured_run = cost_resnets(CLASSICAL, table, resources=RESOURCES)
    assert measured_run["measured_inputs"].str.endswith("from run X").all()
    assert not measured_run["dissipative_premise"].any()
