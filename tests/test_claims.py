"""The three-valued verdict helpers every claim uses (SPEC §3)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from qtrain.claims import (
    COST_MODEL_FAILS,
    DECIDES,
    DOES_NOT_HOLD,
    FAILING,
    FOR_COMPARISON,
    HOLDS,
    INCONCLUSIVE,
    NOT_HOLDING,
    NOT_RUN,
    PREMISE_ABSENT,
    VERDICTS,
    ClaimRow,
    assemble_claims,
    claims_for_html,
    claims_markdown,
    combine_verdicts,
    convention_row,
    is_premise_absent,
    is_verdict,
    judge,
    premise_absent,
    rows_to_frame,
)


def test_judge_is_inconclusive_inside_the_noise():
    assert judge(1.0, 0.5) == HOLDS
    assert judge(-1.0, 0.5) == DOES_NOT_HOLD  # the plain failing wording
    assert judge(0.4, 0.5) == INCONCLUSIVE
    assert judge(-0.5, 0.5) == INCONCLUSIVE  # on the edge: a rerun may land on either side
    assert judge(math.nan, 0.0) == INCONCLUSIVE
    assert judge(math.inf, 0.0) == INCONCLUSIVE
    assert judge(0.1, 0.0) == HOLDS
    assert judge(-1.0, 0.5, NOT_HOLDING) == "does not hold at this scale"  # by its reason
    assert judge(-1.0, 0.5, COST_MODEL_FAILS) == "does not hold (cost model)"
    assert judge(1.0, 0.5, COST_MODEL_FAILS) == HOLDS
    assert judge(1.0, math.nan) == INCONCLUSIVE  # one estimate: noise not measured
    with pytest.raises(ValueError, match="failing"):
        judge(-1.0, 0.5, INCONCLUSIVE)


def test_combine_verdicts():
    assert combine_verdicts([HOLDS, HOLDS]) == HOLDS
    assert combine_verdicts([HOLDS, INCONCLUSIVE]) == INCONCLUSIVE
    assert combine_verdicts([INCONCLUSIVE, NOT_HOLDING, HOLDS]) == NOT_HOLDING
    assert combine_verdicts([HOLDS, NOT_RUN]) == INCONCLUSIVE
    assert combine_verdicts([NOT_RUN]) == NOT_RUN
    assert combine_verdicts([]) == NOT_RUN
    assert combine_verdicts([HOLDS, DOES_NOT_HOLD, NOT_HOLDING]) == DOES_NOT_HOLD  # first wording
    assert combine_verdicts([HOLDS, PREMISE_ABSENT, INCONCLUSIVE]) == PREMISE_ABSENT
    assert combine_verdicts([PREMISE_ABSENT, DOES_NOT_HOLD]) == DOES_NOT_HOLD
    other = premise_absent("no map with R < 1")
    assert other == "premise absent: no map with R < 1"
    assert combine_verdicts([HOLDS, other, PREMISE_ABSENT]) == other  # the first reason
    assert combine_verdicts([other, COST_MODEL_FAILS]) == COST_MODEL_FAILS


def test_one_vocabulary_of_verdicts():
    assert set(FAILING) == {
        "does not hold",
        "does not hold at this scale",
        "does not hold (cost model)",
    }
    assert all(v.startswith("does not hold") for v in FAILING)
    assert PREMISE_ABSENT == "premise absent: no mass beyond the cut-off"
    for verdict in (*VERDICTS, premise_absent("no divergent map")):
        assert is_verdict(verdict)
        ClaimRow("C1", "x", "q", "v", "c", verdict, "s")  # accepted
    assert is_premise_absent(premise_absent("x")) and not is_premise_absent(INCONCLUSIVE)
    for bad in ("premise absent: ", "does not hold here", "Holds"):
        assert not is_verdict(bad)
        with pytest.raises(ValueError, match="verdict"):
            ClaimRow("C1", "x", "q", "v", "c", bad, "s")
    with pytest.raises(ValueError, match="reason"):
        premise_absent(" ")


def test_rows_for_comparison_are_marked_and_never_bold():
    common = dict(quantity="q", value="v", comparison="c", margins=["1"], noises=["0.1"])
    deciding = convention_row("C2", "x", "multiplier", verdicts=[HOLDS], source="s", **common)
    compared = convention_row("C2", "x", "eigenvalue", verdicts=[HOLDS], source="s", **common)
    assert deciding.role == DECIDES and compared.role == FOR_COMPARISON
    assert "[multiplier |1 - eta*lambda|, |lambda| > c]" in deciding.claim
    assert "[a = -lambda]" in compared.claim
    table = assemble_claims([rows_to_frame([deciding, compared])])
    text = claims_markdown(table)
    assert "| **holds** |" in text and "| holds (for comparison, not deciding) |" in text
    with pytest.raises(ValueError, match="role"):
        ClaimRow("C2", "x", "q", "v", "c", HOLDS, "s", role="advisory")
    with pytest.raises(ValueError, match="verdict"):
        ClaimRow("C2", "x", "q", "v", "c", "holds at this scale", "s")


def test_margin_and_noise_reach_the_table():
    row = ClaimRow("C2", "claim", "q", "v", "c", HOLDS, "s", margin="0.3", noise="0.1")
    old = pd.DataFrame(
        [
            {
                "claim_id": "C1",
                "claim": "x",
                "quantity": "q",
                "value": 1,
                "comparison": "c",
                "verdict": HOLDS,
                "source": "s",
            }
        ]
    )
    table = assemble_claims([rows_to_frame([row]), old])
    assert list(table["claim_id"][:2]) == ["C1", "C2"]
    assert table.set_index("claim_id").loc["C1", "margin"] == ""
    assert table.set_index("claim_id").loc["C1", "role"] == DECIDES  # a table without roles
    text = claims_markdown(table)
    assert "| 0.3 | 0.1 | **holds** |" in text


def test_html_view_puts_verdict_and_role_first():
    row = ClaimRow("C2", "x", "q", "v", "c", HOLDS, "s", "0.3", "0.1", FOR_COMPARISON)
    table = assemble_claims([rows_to_frame([row])])
    view = claims_for_html(table)
    assert list(view.columns[:6]) == ["claim_id", "claim", "verdict", "role", "margin", "noise"]
    assert set(view.columns) == set(table.columns)
    assert view.set_index("claim_id").loc["C2", "role"] == FOR_COMPARISON
