"""The HVP benchmarks of rules bench_hvp and bench_hvp_variants (qtrain.bench.hvp_tables)."""

from __future__ import annotations

import pytest
import torch

from qtrain.bench.hvp_tables import hvp_table, pruned_case, spectrum_estimate, variants_table
from qtrain.learning.pruning import prunable_weights

CPU = torch.device("cpu")
CASE = {"depth": 8, "widen": 1, "batch": 4, "repeats": 1}


def test_spectrum_estimate_scales_linearly_in_the_batch():
    times = {"hvp_reuse_s": 0.5, "hvp_recompute_s": 1.0}
    # 320 HVPs on 2048 samples from HVPs on 16: x128
    assert spectrum_estimate(times, 16, 320, 2048) == {
        "spectrum_reuse_s": 320 * 0.5 * 128,
        "spectrum_recompute_s": 320 * 1.0 * 128,
        "spectrum_estimate": "scaled x128",
    }
    same = spectrum_estimate(times, 2048, 320, 2048)
    assert same["spectrum_estimate"] == "measured batch" and same["spectrum_reuse_s"] == 160.0
    with pytest.raises(ValueError, match="must be positive"):
        spectrum_estimate(times, 0, 320, 2048)


def test_a_case_is_a_pruned_model_and_a_seeded_batch():
    model, x, y, masks = pruned_case(CASE, 0.1, CPU)
    weights = prunable_weights(model)
    total = sum(w.numel() for w in weights.values())
    kept = sum(int(m.sum()) for m in masks.values())
    assert kept == total - round(0.9 * total)  # global magnitude: exactly the kept share
    assert sum(int((w != 0).sum()) for w in weights.values()) == kept
    assert x.shape == (4, 3, 32, 32) and y.shape == (4,) and 0 <= int(y.min()) <= int(y.max()) < 100
    again = pruned_case(CASE, 0.1, CPU)
    assert torch.equal(x, again[1]) and torch.equal(y, again[2])
    assert all(torch.equal(masks[k], again[3][k]) for k in masks)


def test_hvp_table_has_one_row_per_case_with_its_spectrum_estimate():
    table = hvp_table([CASE], 0.1, CPU, spectrum_hvps=10, spectrum_batch=8)
    row = table.iloc[0]
    assert (row["model"], row["batch"], row["spectrum_estimate"]) == ("ResNet-8-1", 4, "scaled x2")
    assert row["spectrum_reuse_s"] == pytest.approx(10 * row["hvp_reuse_s"] * 2)
    assert row["spectrum_recompute_s"] == pytest.approx(10 * row["hvp_recompute_s"] * 2)
    assert len(table) == 1 and row["gradient_s"] > 0


def test_variants_table_skips_what_the_case_skips_and_measures_errors():
    case = {**CASE, "skip": ["compile", "bf16", "channels_last", "baseline"]}
    table = variants_table(case, 0.1, CPU, machine="test machine")
    assert table["variant"].tolist() == ["gradient", "recompute", "reuse", "func"]
    errors = dict(zip(table["variant"], table["relative_error"], strict=True))
    assert errors["recompute"] == 0.0  # the reference against itself
    assert errors["reuse"] < 1e-5 and errors["func"] < 1e-4
    assert (table["machine"] == "test machine").all() and (table["space"] == "restricted").all()
