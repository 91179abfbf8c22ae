"""Verdicts survive a rerun (SPEC §3): the whole tiny preset with another master seed must not
turn any "holds" into "does not hold" or back; a margin inside the noise is "inconclusive"."""

from __future__ import annotations

import pandas as pd
import pytest
from workflow_helpers import make_workdir, output_of, run_snakemake, tiny_config

from qtrain.claims import HOLDS, INCONCLUSIVE, NOT_HOLDING, NOT_RUN

DECISIVE = {HOLDS, NOT_HOLDING}


def _claims(root) -> pd.DataFrame:
    table = pd.read_csv(root / "results" / "tiny" / "claims.csv", keep_default_na=False)
    return table.set_index(["claim_id", "claim"])


def test_every_claim_row_is_three_valued_with_margin_and_noise(tiny_run):
    claims = _claims(tiny_run.root)
    assert set(claims["verdict"]) <= {HOLDS, NOT_HOLDING, INCONCLUSIVE, NOT_RUN}
    judged = claims[claims["verdict"] != NOT_RUN]
    assert (judged["margin"] != "").all() and (judged["noise"] != "").all()
    # the a-convention claims are judged under both conventions, side by side
    for claim_id in ("C2", "C3", "C4", "C13"):
        rows = claims.loc[claim_id]
        assert {"a = -lambda", "a = -eta*lambda"} <= {
            text[text.rfind("[") + 1 : -1] for text in rows.index
        }, claim_id


@pytest.mark.slow
@pytest.mark.e2e
def test_another_seed_never_flips_a_decisive_verdict(tiny_run, tmp_path):
    workdir = make_workdir(tmp_path / "seed1", tiny_config(seed=1))
    result = run_snakemake(workdir, "--cores", "2", timeout=3000)
    assert result.returncode == 0, output_of(result)[-4000:]
    first, second = _claims(tiny_run.root), _claims(workdir)
    assert list(first.index) == list(second.index)
    flips = [
        f"{key}: {a} -> {b}"
        for key, a, b in zip(first.index, first["verdict"], second["verdict"], strict=True)
        if {a, b} == DECISIVE
    ]
    assert not flips, "\n".join(flips)
