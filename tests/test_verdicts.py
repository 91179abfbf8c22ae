"""Verdicts survive a rerun (SPEC §3): the whole tiny preset with another master seed must not
turn any "holds" into "does not hold" or back, and the same seed on "another machine" (other
thread counts: another reduction order, the rounding another CPU type makes) must leave every
deciding verdict as it was; a margin inside the noise is "inconclusive"."""

from __future__ import annotations

import pandas as pd
import pytest

from qtrain.claims import CONVENTION_LABELS, DECIDES, DECISIVE, FAILING, is_verdict


def _outcome(verdict: str) -> str:
    """holds / fails / undecided: the failing verdicts are one outcome whatever their wording."""
    return "fails" if verdict in FAILING else ("holds" if verdict in DECISIVE else "undecided")


def _claims(root) -> pd.DataFrame:
    table = pd.read_csv(root / "results" / "tiny" / "claims.csv", keep_default_na=False)
    return table.set_index(["claim_id", "claim"])


@pytest.mark.slow
def test_every_claim_row_is_three_valued_with_margin_and_noise(tiny_run):
    claims = _claims(tiny_run.root)
    assert all(is_verdict(v) for v in claims["verdict"]), set(claims["verdict"])
    judged = claims[claims["verdict"] != "not run in this preset"]
    assert (judged["margin"] != "").all() and (judged["noise"] != "").all()
    # the a-convention claims are judged under every convention, side by side; the multiplier
    # row decides, the printed conventions are for comparison
    # (C13 once per measurement: its label names the measurement, then the convention)
    for claim_id in ("C2", "C3", "C4", "C13"):
        rows = claims.loc[claim_id]
        labels = [text[text.rfind("[") + 1 : -1].split("; ")[-1] for text in rows.index]
        assert sorted(set(labels)) == sorted(CONVENTION_LABELS.values()), claim_id
        deciding = {
            label for label, role in zip(labels, rows["role"], strict=True) if role == DECIDES
        }
        assert deciding == {CONVENTION_LABELS["multiplier"]}, claim_id
        assert (rows["role"] == DECIDES).sum() == len(rows) // len(CONVENTION_LABELS), claim_id


@pytest.mark.slow
@pytest.mark.e2e
def test_another_seed_never_flips_a_decisive_verdict(tiny_run, seed1_run):
    """The whole tiny preset with master seed 1 (workflow_helpers.WHOLE_RUNS)."""
    assert seed1_run.returncode == 0, seed1_run.output[-4000:]
    first, second = _claims(tiny_run.root), _claims(seed1_run.root)
    assert list(first.index) == list(second.index)
    flips = [
        f"{key}: {a} -> {b}"
        for key, a, b in zip(first.index, first["verdict"], second["verdict"], strict=True)
        if {_outcome(a), _outcome(b)} == {"holds", "fails"}
    ]
    assert not flips, "\n".join(flips)


@pytest.mark.slow
@pytest.mark.e2e
def test_another_machine_changes_no_deciding_verdict(tiny_run, threads2_run):
    """The same commit, config and seed with two threads per network job instead of one
    (workflow_helpers.THREADED_RULES): the reductions run in another order and round differently
    (as on another CPU type), so every network number moves, while no deciding verdict may
    change (SPEC §3)."""
    assert threads2_run.returncode == 0, threads2_run.output[-4000:]
    workdir = threads2_run.root
    log = (workdir / "logs" / "tiny" / "pretrain" / "seed_0.log").read_text()
    assert "2 threads" in log  # the emulation took effect
    masses = "results/tiny/spectra/masses.csv"
    before, after = (pd.read_csv(root / masses) for root in (tiny_run.root, workdir))
    assert set(before["threads"]) == {1} and set(after["threads"]) == {2}  # as recorded
    numbers = [c for c in before.columns if c.startswith(("dissipative_", "divergent_"))]
    assert not before[numbers].equals(after[numbers]), (
        "the other thread count changed no spectrum: nothing was emulated"
    )
    first, second = _claims(tiny_run.root), _claims(workdir)
    assert list(first.index) == list(second.index)
    changed = [
        f"{key}: {a} -> {b}"
        for key, a, b, role in zip(
            first.index, first["verdict"], second["verdict"], first["role"], strict=True
        )
        if role == DECIDES and (a in DECISIVE or b in DECISIVE) and a != b
    ]
    assert not changed, "\n".join(changed)
