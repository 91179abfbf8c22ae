"""The paper's facts are stated once (qtrain.paper) and every consumer agrees with them: the
claims (C1, C11), the classical FLOP table, the cost model, the figures and the models the
workflow builds."""

from __future__ import annotations

import ast
from pathlib import Path

import pandas as pd
import pytest

from qtrain import paper

SRC = Path(__file__).resolve().parents[1] / "src" / "qtrain"

#: The paper's numbers that must not be restated as literals outside qtrain/paper.py.
FACTS = {7_451_044, 103_703_700, *paper.FLOPS_PER_SAMPLE.values()}


def test_the_facts_are_literals_in_paper_py_only():
    found = {}
    for path in sorted(SRC.rglob("*.py")):
        if path.name == "paper.py" and path.parent == SRC:
            continue
        hits = [
            node.value
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Constant) and node.value in FACTS
        ]
        if hits:
            found[str(path.relative_to(SRC))] = hits
    assert not found, found


def test_the_paper_models_match_the_papers_text():
    # "7 million" and "103 million" parameters; m = log2 n = 23 and 27 (claim C11's text)
    assert [m.label for m in paper.RESNETS] == ["ResNet-32-4", "ResNet-56-11"]
    assert [round(m.parameters / 1e6) for m in paper.RESNETS] == [7, 104]
    assert [m.qubits for m in paper.RESNETS] == [23, 27]
    assert paper.RESNET_SIZES == {"resnet32_4": 7_451_044, "resnet56_11": 103_703_700}


def test_every_consumer_reads_the_one_statement():
    from qtrain.claims import core as claims_core
    from qtrain.claims import costs as claim_costs
    from qtrain.claims import training as claim_training
    from qtrain.figures import registry
    from qtrain.learning import flops
    from qtrain.quantum.costs import break_even, settings

    assert flops.PAPER_MODELS == {"resnet32_4": (32, 4), "resnet56_11": (56, 11)}
    assert claim_training.RESNETS is paper.RESNETS
    assert claim_costs.RESNETS is paper.RESNETS
    assert break_even.RESNET_SIZES is registry.RESNET_SIZES is paper.RESNET_SIZES
    priced = break_even.Pricing(settings.CostSettings(), settings.SweepSettings(), pd.DataFrame())
    assert priced.models is paper.RESNET_SIZES  # what the cost tables price by default
    assert not hasattr(claims_core, "PAPER_RESNETS")


def test_the_built_models_and_claim_c1_agree_with_the_paper():
    from qtrain.claims import HOLDS
    from qtrain.claims.training import claim_c1, parameter_counts
    from qtrain.learning.models import cifar_resnet, count_parameters

    counted = pd.DataFrame(
        [
            {
                "model_name": m.key,
                "depth": m.depth,
                "widen": m.widen,
                "parameters": count_parameters(
                    cifar_resnet(m.depth, m.widen, paper.CLASSES, 3, device="meta")
                ),
            }
            for m in paper.RESNETS
        ]
    )
    assert parameter_counts(counted) == {m.label: m.parameters for m in paper.RESNETS}
    sparsity = pd.DataFrame({"kept": [1000], "total": [10000]})
    assert claim_c1(parameter_counts(counted), sparsity, paper.KEEP_FRACTION).verdict == HOLDS


def test_a_counts_table_without_its_columns_is_refused():
    from qtrain.claims.training import parameter_counts

    with pytest.raises(ValueError, match=r"lacks the columns \['parameters'\]"):
        parameter_counts(pd.DataFrame({"depth": [32], "widen": [4]}))
