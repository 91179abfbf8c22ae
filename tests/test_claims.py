"""The three-valued verdict helpers every claim uses (SPEC §3)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from qtrain.claims import (
    DECIDES,
    DOES_NOT_HOLD,
    FOR_COMPARISON,
    HOLDS,
    INCONCLUSIVE,
    NOT_HOLDING,
    NOT_RUN,
    PREMISE_ABSENT,
    ClaimRow,
    assemble_claims,
    claims_markdown,
    combine_verdicts,
    convention_row,
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
    assert judge(-1.0, 0.5, DOES_NOT_HOLD) == DOES_NOT_HOLD  # worded by its reason
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
