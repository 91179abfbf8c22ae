"""The three-valued verdict helpers every claim uses (SPEC §3)."""

from __future__ import annotations

import math

import pandas as pd

from qtrain.claims import (
    HOLDS,
    INCONCLUSIVE,
    NOT_HOLDING,
    NOT_RUN,
    ClaimRow,
    assemble_claims,
    claims_markdown,
    combine_verdicts,
    judge,
    rows_to_frame,
)


def test_judge_is_inconclusive_inside_the_noise():
    assert judge(1.0, 0.5) == HOLDS
    assert judge(-1.0, 0.5) == NOT_HOLDING
    assert judge(0.4, 0.5) == INCONCLUSIVE
    assert judge(-0.5, 0.5) == INCONCLUSIVE  # on the edge: a rerun may land on either side
    assert judge(math.nan, 0.0) == INCONCLUSIVE
    assert judge(math.inf, 0.0) == INCONCLUSIVE
    assert judge(0.1, 0.0) == HOLDS


def test_combine_verdicts():
    assert combine_verdicts([HOLDS, HOLDS]) == HOLDS
    assert combine_verdicts([HOLDS, INCONCLUSIVE]) == INCONCLUSIVE
    assert combine_verdicts([INCONCLUSIVE, NOT_HOLDING, HOLDS]) == NOT_HOLDING
    assert combine_verdicts([HOLDS, NOT_RUN]) == INCONCLUSIVE
    assert combine_verdicts([NOT_RUN]) == NOT_RUN
    assert combine_verdicts([]) == NOT_RUN


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
    text = claims_markdown(table)
    assert "| 0.3 | 0.1 | **holds** |" in text
