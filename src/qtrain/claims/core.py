"""The claims table's shared parts: verdicts, rows, the list of claims, assembly and Markdown.

Claims of SPEC §3 as measured table rows: the claim, the number, the verdict. A claim that
fails is reported as failing: the table is a measurement, not a scoreboard. Every comparison
has a signed margin (positive = on the claim's side) and the noise it is judged against
(:func:`judge`). A row's ``role`` says whether its verdict decides the claim (``decides``) or is
shown beside it (``for comparison``: the printed a-conventions of C2-C4 and C13, SPEC §2.5);
a claim's decision is the verdict of its deciding rows. One vocabulary for every claim (SPEC
§3): holds / does not hold / inconclusive, the failing verdict worded by its reason ("does not
hold"; "does not hold (cost model)" for the cost rows; "does not hold at this scale" only where
the scale is the reason), "premise absent: <why>" where the run lacks the claim's premise. The
domain modules (:mod:`~qtrain.claims.training`, :mod:`~qtrain.claims.spectra`,
:mod:`~qtrain.claims.proxy`, :mod:`~qtrain.claims.carleman`, :mod:`~qtrain.claims.quantum`,
:mod:`~qtrain.claims.costs`) turn each stage's tables into rows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from qtrain.spectra.error_proxy import DECIDING_CONVENTION
from qtrain.stats import fmt, signed

__all__ = [
    "CLAIMS",
    "CONVENTION_LABELS",
    "COST_MODEL_FAILS",
    "DECIDES",
    "DECISIVE",
    "DOES_NOT_HOLD",
    "FAILING",
    "FOR_COMPARISON",
    "HOLDS",
    "HTML_COLUMNS",
    "INCONCLUSIVE",
    "NOT_HOLDING",
    "NOT_JUDGED",
    "NOT_RUN",
    "PREMISE_ABSENT",
    "PREMISE_PREFIX",
    "ROLES",
    "VERDICTS",
    "ClaimRow",
    "assemble_claims",
    "claims_for_html",
    "claims_markdown",
    "combine_verdicts",
    "convention_row",
    "is_premise_absent",
    "is_verdict",
    "judge",
    "judged",
    "premise_absent",
    "rows_to_frame",
    "short_list",
]

HOLDS = "holds"
DOES_NOT_HOLD = "does not hold"
#: Only where the scale is the reason (SPEC §3); the plain failing wording is DOES_NOT_HOLD.
NOT_HOLDING = "does not hold at this scale"
#: A failing verdict judged on the cost model (claims C11, C14), not on a measurement.
COST_MODEL_FAILS = "does not hold (cost model)"
INCONCLUSIVE = "inconclusive"
PREMISE_PREFIX = "premise absent: "
PREMISE_ABSENT = PREMISE_PREFIX + "no mass beyond the cut-off"
NOT_RUN = "not run in this preset"
#: The verdict of every row of a rehearsal's table (synthetic data: nothing to judge).
NOT_JUDGED = "not judged: rehearsal"
VERDICTS = (
    HOLDS,
    DOES_NOT_HOLD,
    NOT_HOLDING,
    COST_MODEL_FAILS,
    INCONCLUSIVE,
    PREMISE_ABSENT,
    NOT_RUN,
    NOT_JUDGED,
)
"""The verdicts a row may carry: three values (holds / does not hold / inconclusive), the
failing one worded by its reason, an absent premise (not decisive; any ``premise absent: <why>``
of :func:`premise_absent` is accepted too, see :func:`is_verdict`), "not run" and a rehearsal's
"not judged"."""
FAILING = (DOES_NOT_HOLD, NOT_HOLDING, COST_MODEL_FAILS)
DECISIVE = (HOLDS, *FAILING)

DECIDES = "decides"
FOR_COMPARISON = "for comparison"
ROLES = (DECIDES, FOR_COMPARISON)


def premise_absent(reason: str) -> str:
    """The verdict of a claim whose premise this run lacks, with the reason: ``premise absent:
    <reason>`` (not decisive, like :data:`INCONCLUSIVE`)."""
    if not reason.strip():
        raise ValueError("an absent premise needs its reason")
    return PREMISE_PREFIX + reason.strip()


def is_premise_absent(verdict: str) -> bool:
    """Whether ``verdict`` is an absent premise (:func:`premise_absent`)."""
    return verdict.startswith(PREMISE_PREFIX) and len(verdict) > len(PREMISE_PREFIX)


def is_verdict(verdict: str) -> bool:
    """Whether ``verdict`` belongs to the vocabulary: one of :data:`VERDICTS` or an absent
    premise with its reason."""
    return verdict in VERDICTS or is_premise_absent(verdict)


def judge(margin: float, noise: float, failing: str = DOES_NOT_HOLD) -> str:
    """Three-valued verdict of one comparison.

    ``margin`` is signed so that a positive value is on the claim's side (e.g. dissipative mass
    minus divergent mass); ``noise`` (≥ 0) is the spread it was measured against (Lanczos
    probes, seeds, sampling error). ``|margin| <= noise`` (or a margin or noise that is not
    finite, e.g. one estimate) is :data:`INCONCLUSIVE`: a rerun could land on either side. A
    clear negative margin gives ``failing``, the failing wording of :data:`FAILING` that says
    why (plain :data:`DOES_NOT_HOLD`; :data:`COST_MODEL_FAILS` for a cost model;
    :data:`NOT_HOLDING` only where the scale is the reason).
    """
    if failing not in FAILING:
        raise ValueError(f"failing must be one of {FAILING}, got {failing!r}")
    if not math.isfinite(margin) or not (noise >= 0):
        return INCONCLUSIVE
    if abs(margin) <= noise:
        return INCONCLUSIVE
    return HOLDS if margin > 0 else failing


def combine_verdicts(verdicts: Iterable[str]) -> str:
    """The verdict of a claim that needs every comparison: any decisive failure fails it (the
    first one's wording); otherwise an absent premise (the first), then any inconclusive
    comparison, makes it undecided; no comparison at all is NOT_RUN."""
    verdicts = list(verdicts)
    if not verdicts or all(v == NOT_RUN for v in verdicts):
        return NOT_RUN
    failures = [v for v in verdicts if v in FAILING]
    if failures:
        return failures[0]
    absent = [v for v in verdicts if is_premise_absent(v)]
    if absent:
        return absent[0]
    if INCONCLUSIVE in verdicts or NOT_RUN in verdicts:
        return INCONCLUSIVE
    return HOLDS


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
    margin: str = ""
    noise: str = ""
    role: str = DECIDES

    def __post_init__(self) -> None:
        if not is_verdict(self.verdict):
            raise ValueError(
                f"verdict must be one of {VERDICTS} or '{PREMISE_PREFIX}<reason>', got "
                f"{self.verdict!r}"
            )
        if self.role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, got {self.role!r}")

    def describe(self) -> str:
        """One log line: id, claim, verdict (and role when not deciding), margin and noise."""
        role = "" if self.role == DECIDES else f" ({self.role})"
        return (
            f"{self.claim_id} {self.claim}: {self.verdict}{role} (margin "
            f"{self.margin or 'none'}; noise {self.noise or 'none'})"
        )


def rows_to_frame(rows: Sequence[ClaimRow]) -> Any:
    """The rows as a pandas DataFrame with one column per field."""
    import pandas as pd

    return pd.DataFrame([asdict(row) for row in rows], columns=list(ClaimRow.__dataclass_fields__))


def judged(
    items: list[tuple[str, float, float]], failing: str = DOES_NOT_HOLD
) -> tuple[list[str], str, str]:
    """Verdicts (:func:`judge`, failing as ``failing``), margin text and noise text of ``(name,
    margin, noise)`` comparisons; the texts list every comparison and name the worst (smallest)
    margin."""
    verdicts = [judge(m, s, failing) for _, m, s in items]
    if not items:
        return verdicts, "none", "none"
    worst = min(items, key=lambda item: item[1] if item[1] == item[1] else -float("inf"))
    margin = "; ".join(f"{n} {signed(m)}" for n, m, _ in items)
    noise = "; ".join(f"{n} {fmt(s)}" for n, _, s in items)
    return verdicts, f"{margin} (worst {worst[0]} {signed(worst[1])})", noise


def short_list(names: Iterable[str], limit: int = 6) -> str:
    """At most ``limit`` names, comma-separated, then "and k more"."""
    names = list(names)
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


#: How the claim rows name the conventions for a (SPEC §2.5).
CONVENTION_LABELS = {
    "multiplier": "multiplier |1 - eta*lambda|, |lambda| > c",
    "eigenvalue": "a = -lambda",
    "lr_scaled": "a = -eta*lambda, cut-off on eta*lambda",
}


def convention_row(
    claim_id: str,
    claim: str,
    conv: str,
    quantity: str,
    value: str,
    comparison: str,
    verdicts: Sequence[str],
    margins: Sequence[str],
    noises: Sequence[str],
    source: str,
) -> ClaimRow:
    """One row of a claim that is judged once per a-convention (``claim [a = ...]``); the
    multiplier convention's row decides, the others are ``for comparison``."""
    return ClaimRow(
        claim_id=claim_id,
        claim=f"{claim} [{CONVENTION_LABELS.get(conv, conv)}]",
        quantity=quantity,
        value=value,
        comparison=comparison,
        verdict=combine_verdicts(verdicts),
        source=source,
        margin="; ".join(margins),
        noise="; ".join(noises),
        role=DECIDES if conv == DECIDING_CONVENTION else FOR_COMPARISON,
    )


CLAIMS = {
    "C1": "7 M and 103 M parameter models; 10% kept",
    "C2": "after pruning, dissipative modes dominate divergent ones (7 M at step 0, 103 M in "
    "Fig. 3)",
    "C3": "error proxy first falls, then grows exponentially once divergent modes take over",
    "C4": "re-uploading every 100 steps restarts the error at 0 and keeps it bounded",
    "C5": "accuracy dips after each download, then recovers; the QRAM variant dips less",
    "C6": "discrete Carleman error falls geometrically with N when dissipative (R < 1), not "
    "otherwise",
    "C7": "discrete and first-order (continuous-style) Carleman differ at O(eta^2)",
    "C8": "kappa(L) bounded in T when fully dissipative, ~linear in T when almost dissipative",
    "C9": "HHL reproduces the Carleman solution",
    "C10": "tomography precision eps costs ~1/eps^2 samples",
    "C11": "quantum cost polylog in n vs classical linear; m = log2 n = 23 and 27",
    "C12": "a quantum-trained model tracks classical GD within the chosen eps",
    "C13": "the error proxy predicts the true linearization error",
    "C14": "quantum training of the paper's models beats classical training",
}
"""The claims of SPEC §3, in order."""


def _with_text_margins(frame: Any) -> Any:
    """``frame`` with missing margins and noises as empty text (not NaN)."""
    frame = frame.copy()
    for column in ("margin", "noise"):
        frame[column] = frame[column].astype(object).where(frame[column].notna(), "")
    frame["role"] = frame["role"].astype(object).where(frame["role"].notna(), DECIDES)
    return frame


def assemble_claims(frames: Iterable[Any], not_judged: str | None = None) -> Any:
    """One table with a row per claim C1-C14 from the stages' claim tables.

    Claims no stage measured get the verdict ``not run in this preset``; a claim measured twice
    keeps every row (e.g. one per model size). Rows are ordered by claim number. With
    ``not_judged`` (a rehearsal's label, :data:`qtrain.run.config.REHEARSAL_LABEL`) every verdict
    is :data:`NOT_JUDGED` and the source names the label: the numbers show that each claim's
    code ran, on synthetic data, and nothing is judged from them.
    """
    import pandas as pd

    columns = list(ClaimRow.__dataclass_fields__)
    parts = [_with_text_margins(f.reindex(columns=columns)) for f in frames if len(f)]
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    missing = [c for c in CLAIMS if c not in set(table["claim_id"])]
    filler = [
        ClaimRow(c, CLAIMS[c], "", "", "", NOT_RUN, "no stage measured it in this preset")
        for c in missing
    ]
    table = pd.concat([table, rows_to_frame(filler)], ignore_index=True)
    if not_judged:
        table["verdict"] = NOT_JUDGED
        table["source"] = f"{not_judged}; " + table["source"].astype(str)
    order = table["claim_id"].str[1:].astype(int)
    return table.assign(_order=order).sort_values("_order", kind="stable").drop(columns="_order")


def claims_markdown(table: Any, title: str = "Claims") -> str:
    """The claims table as Markdown: id, claim, value, comparison, verdict, source. A verdict
    that decides is set in bold; one shown for comparison is marked so and not bold."""
    lines = [
        f"# {title}",
        "",
        "| id | claim | measured | value | comparison | margin | noise | verdict | source |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in table.itertuples(index=False):
        cells = [
            row.claim_id,
            row.claim,
            row.quantity,
            row.value,
            row.comparison,
            row.margin,
            row.noise,
            f"{row.verdict} ({row.role}, not deciding)"
            if getattr(row, "role", DECIDES) == FOR_COMPARISON
            else f"**{row.verdict}**",
            row.source,
        ]
        lines.append("| " + " | ".join(str(c).replace("|", "/") for c in cells) + " |")
    return "\n".join(lines) + "\n"


#: Column order of the HTML claims table (the report's view): the verdict with its role (decides
#: / for comparison), margin and noise right after the claim, so they are on screen first; the
#: rest after them.
HTML_COLUMNS = (
    "claim_id",
    "claim",
    "verdict",
    "role",
    "margin",
    "noise",
    "value",
    "comparison",
    "quantity",
    "source",
)


def claims_for_html(table: Any) -> Any:
    """The claims table in :data:`HTML_COLUMNS` order (any other columns after them)."""
    first = [c for c in HTML_COLUMNS if c in table.columns]
    return table[first + [c for c in table.columns if c not in first]]
