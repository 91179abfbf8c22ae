"""Claims of SPEC §3 as measured table rows: the claim, the number, the verdict.

A claim that fails is reported as failing: the table is a measurement, not a scoreboard.
Each stage contributes the rows it can compute (e.g. C6-C8 from the Carleman sweeps).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["HOLDS", "NOT_HOLDING", "NOT_RUN", "ClaimRow", "rows_to_frame"]

HOLDS = "holds"
NOT_HOLDING = "does not hold at this scale"
NOT_RUN = "not run in this preset"
VERDICTS = (HOLDS, NOT_HOLDING, NOT_RUN)


@dataclass(frozen=True)
class ClaimRow:
    """One row of the claims table."""

    claim_id: str
    claim: str
    quantity: str
    value: Any
    comparison: str
    verdict: str
    source: str

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")


def rows_to_frame(rows: list[ClaimRow]):
    """The rows as a pandas DataFrame with one column per field."""
    import pandas as pd

    return pd.DataFrame([asdict(row) for row in rows], columns=list(ClaimRow.__dataclass_fields__))
