"""The spectra stage's pieces: resumable Lanczos, error-proxy time and tables, claims C2-C4,
the polynomial proxy check, and the workflow's dry runs and config checks (claim C13:
tests/test_proxy_claim.py)."""

from __future__ import annotations

import json
import math
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from workflow_helpers import REPO, SNAKEMAKE

from qtrain.claims import (
    DECIDES,
    DOES_NOT_HOLD,
    FOR_COMPARISON,
    HOLDS,
    INCONCLUSIVE,
    NOT_RUN,
    PREMISE_ABSENT,
)
from qtrain.claims.spectra import claim_c2, claim_c3, claim_c4, made_on
from qtrain.learning.sparse_training import SparseTrainSettings, schedule
from qtrain.spectra.density import load_spectrum, mass_row, masses_table
from qtrain.spectra.error_proxy import error_proxy
from qtrain.spectra.lanczos import DensitySettings, spectral_density
from qtrain.spectra.proxy_curves import proxy_curve, segment_extremes, upload_steps
from qtrain.spectra.proxy_vs_truth import (
    network_proxy_table,
    rank_correlations,
    window_end_correlations,
)
from qtrain.spectra.resumable import resumable_spectral_density
from qtrain.stats import spearman

pytestmark = pytest.mark.usefixtures("one_thread")


# ------------------------------------------------------------------------ resumable Lanczos


def diag_operator(n: int = 200, seed: int = 0):
    rng = np.random.default_rng(seed)
    d = torch.tensor(np.concatenate([rng.uniform(-0.3, 1.5, n - 3), [6.0, 9.0, -2.0]]))
    calls = {"n": 0}

    def matvec(v):
        calls["n"] += 1
        return d * v

    return matvec, n, calls


def test_resumable_density_equals_spectral_density(tmp_path) -> None:
    matvec, n, _ = diag_operator()
    settings = DensitySettings(steps=20, probes=2, seed=4, bounds_steps=10, grid_points=128)
    ref = spectral_density(matvec, n, settings)
    got = resumable_spectral_density(matvec, n, settings, state_dir=tmp_path / "s")
    for name in ("nodes", "weights", "probe", "grid", "density"):
        np.testing.assert_array_equal(getattr(got, name), getattr(ref, name))
    assert (got.lower, got.upper, got.sigma) == (ref.lower, ref.upper, ref.sigma)
    assert got.meta["resumed_runs"] == 0
    got.save(tmp_path / "d.npz")
    loaded = load_spectrum(tmp_path / "d.npz")  # the torch-free reader of the figure rules
    np.testing.assert_array_equal(loaded["nodes"], ref.nodes)
    assert loaded["meta"]["probes"] == 2


def test_killed_run_resumes_without_recomputing_finished_runs(tmp_path) -> None:
    matvec, n, calls = diag_operator()
    settings = DensitySettings(steps=15, probes=2, seed=1, bounds_steps=8)
    kwargs = dict(state_dir=tmp_path, operator_id="op")
    full = resumable_spectral_density(matvec, n, settings, state_dir=tmp_path / "ref")

    def dying(v, limit=8 + 15 + 5):  # dies inside the second probe
        if calls["n"] >= limit:
            raise KeyboardInterrupt
        return matvec(v)

    calls["n"] = 0
    with pytest.raises(KeyboardInterrupt):
        resumable_spectral_density(dying, n, settings, **kwargs)
    assert sorted(p.name for p in tmp_path.glob("*.npz")) == ["bounds.npz", "probe_0.npz"]
    calls["n"] = 0
    resumed = resumable_spectral_density(matvec, n, settings, **kwargs)
    assert calls["n"] == 15  # only the second probe ran again
    assert resumed.meta["resumed_runs"] == 2
    np.testing.assert_array_equal(resumed.density, full.density)
    # another operator (or other settings) never reuses the saved runs
    calls["n"] = 0
    resumable_spectral_density(matvec, n, settings, state_dir=tmp_path, operator_id="other")
    assert calls["n"] == 8 + 2 * 15


# ------------------------------------------------------------------- error-proxy bookkeeping


def records_for(variant: str, steps=30, window=10, qram_dense=3) -> pd.DataFrame:
    settings = SparseTrainSettings(steps=steps, window_steps=window, qram_dense_steps=qram_dense)
    return pd.DataFrame(
        [
            {"step": p.step, "phase": p.phase, "download": p.download_after, "variant": variant}
            for p in schedule(variant, settings)
        ]
    )


def test_upload_steps_follow_the_schedule() -> None:
    assert upload_steps(records_for("continuous")) == [0]
    assert upload_steps(records_for("sparse")) == [0, 10, 20]  # no upload after the last step
    # qram: quantum 1-10, classical 11-13 (upload after 13), quantum 14-23, classical 24-26 ...
    assert upload_steps(records_for("qram")) == [0, 13, 26]


def spectrum(lams, weights=None):
    lams = np.asarray(lams, dtype=float)
    w = np.full(lams.size, 1 / lams.size) if weights is None else np.asarray(weights, float)
    return lams, w


def test_proxy_curve_time_restarts_and_spectrum_choice() -> None:
    spectra = {0: spectrum([1.0, 1.5, 2.5]), 10: spectrum([0.8, 3.0]), 20: spectrum([1.2])}
    curve = proxy_curve(records_for("sparse"), spectra, lr=0.2, cutoff=0.4)
    ups = curve[curve["kind"] == "upload"]
    assert ups["step"].tolist() == [0, 10, 20]
    assert np.allclose(ups["E_eigenvalue"], 1.0)
    assert (ups["t"] == 0).all()
    end = curve[(curve["kind"] == "window_end") & (curve["step"] == 10)].iloc[0]
    assert end["t"] == 10 and end["rho_step"] == 0 and not end["measured"]  # not the post-download
    assert end["E_eigenvalue"] == pytest.approx(error_proxy(*spectra[0], 10, 0.4))
    row = curve[(curve["kind"] == "quantum") & (curve["step"] == 15)].iloc[0]
    assert row["t"] == 5 and row["rho_step"] == 10 and bool(row["rho_in_segment"])
    assert row["E_lr_scaled"] == pytest.approx(error_proxy(*spectra[10], 5, 0.4, scale=0.2))
    assert curve.loc[curve["step"] == 10, "measured"].tolist() == [False, True]

    q = proxy_curve(records_for("qram"), {0: spectra[0], 10: spectra[10]}, lr=0.1)
    classical = q[q["kind"] == "classical"]
    assert classical["step"].tolist() == [11, 12, 13, 24, 25, 26]
    assert classical["E_eigenvalue"].isna().all()
    after = q[(q["kind"] == "quantum") & (q["step"] == 14)].iloc[0]
    assert after["t"] == 1 and after["rho_step"] == 10 and not after["rho_in_segment"]
    c = proxy_curve(records_for("continuous"), spectra, lr=0.1)
    assert c["t"].max() == 30 and (c["kind"] == "upload").sum() == 1


def test_segment_extremes_fall_then_grow() -> None:
    # mostly dissipative modes (|1 + a| < 1) plus a little divergent weight (λ = 2.5)
    spectra = {0: spectrum([0.6, 1.0, 1.4, 2.5], [0.3, 0.3, 0.3, 0.1])}
    curve = proxy_curve(records_for("continuous", steps=40), spectra, lr=0.1)
    ext = segment_extremes(curve, "eigenvalue").iloc[0]
    assert ext["falls"] and ext["grows"] and 0 < ext["t_min"] < 40
    assert ext["growth_rate"] == pytest.approx(math.log(1.5), rel=0.05)
    # no divergent weight: falls, never grows
    flat = proxy_curve(records_for("continuous", steps=40), {0: spectrum([0.6, 1.0])}, lr=0.1)
    ext = segment_extremes(flat, "eigenvalue").iloc[0]
    assert not ext["grows"]


def assert_columns(row: Mapping[str, Any], expected: Mapping[str, float]) -> None:
    """The row's values in ``expected``'s columns are those values (pytest.approx)."""
    assert {column: row[column] for column in expected} == pytest.approx(expected)


def test_mass_row_in_every_convention() -> None:
    lams, w = spectrum([-1.0, 0.1, 0.5, 2.0, 30.0, 50.0], [0.1, 0.4, 0.2, 0.1, 0.1, 0.1])
    row = mass_row(lams, w, lr=0.05, cutoff=0.4)
    expected = {
        # multiplier: |λ| > 0.4, dissipative iff |1 − 0.05 λ| < 1 (λ = 0.5, 2, 30), divergent
        # iff > 1 (λ = −1; λ = 50: 0.05 × 50 > 2)
        "dissipative_multiplier": 0.4,
        "divergent_multiplier": 0.2,
        "n_c_multiplier": 0.6,
        "max_divergent_multiplier_multiplier": 1.5,
        # a = −λ by sign: λ > 0.4 dissipative, λ < −0.4 divergent
        "dissipative_eigenvalue": 0.5,
        "divergent_eigenvalue": 0.1,
        "max_divergent_multiplier_eigenvalue": 2.0,
        # a = −ηλ with the cut-off on ηλ: only λ = 30 and 50 (|ηλ| > 0.4)
        "dissipative_lr_scaled": 0.2,
        "divergent_lr_scaled": 0.0,
        "n_c_lr_scaled": 0.2,
        "lambda_max": 50.0,
        "negative_mass": 0.1,
    }
    assert_columns(row, expected)


def _saved_spectrum(path: Path, probes: list[tuple[list[float], list[float]]], record=None):
    """A spectrum file as the spectrum rule writes it (nodes, weights and probe index of every
    Lanczos probe; meta), with an optional provenance record beside it."""
    nodes = np.concatenate([np.asarray(n, float) for n, _ in probes])
    weights = np.concatenate([np.asarray(w, float) for _, w in probes])
    probe = np.concatenate([np.full(len(n), k) for k, (n, _) in enumerate(probes)])
    meta = np.array(json.dumps({"dim": 7, "probes": len(probes)}))
    np.savez(path, nodes=nodes, weights=weights, probe=probe, meta=meta)
    if record is not None:
        Path(f"{path}.provenance.json").write_text(json.dumps(record))
    return str(path)


def test_masses_table_has_a_row_per_model_seed_and_probe(tmp_path) -> None:
    # eta = 0.05, c = 0.4; probe 0 of seed 0: lambda = -1 (divergent, multiplier 1.05), 2
    # (dissipative), 0.1 (inside the cut-off); probe 1: 50 (0.05 x 50 > 2: divergent), 3
    probe0 = ([-1.0, 2.0, 0.1], [0.2, 0.5, 0.3])
    probe1 = ([50.0, 3.0], [1.0, 3.0])  # weights rescaled per probe: 0.25, 0.75
    machine = {"machine": "a test CPU, 2 cores", "threads": 1}
    main = [
        _saved_spectrum(tmp_path / "m0.npz", [probe0, probe1], machine),
        _saved_spectrum(tmp_path / "m1.npz", [probe1]),
    ]
    large = [_saved_spectrum(tmp_path / f"l{s}.npz", [probe0]) for s in (0, 1)]
    table = masses_table(main, large, [0, 1000], lr=0.05, cutoff=0.4, main_variant="continuous")
    keys = ["model", "seed", "probe"]
    assert table[keys].values.tolist() == [
        ["main", 0, 0],
        ["main", 0, 1],
        ["main", 1000, 0],
        ["large", 0, 0],
        ["large", 1000, 0],
    ]
    first, second = table.iloc[0], table.iloc[1]
    assert_columns(
        first,
        {
            "dissipative_multiplier": 0.5,
            "divergent_multiplier": 0.2,
            "n_c_multiplier": 0.7,
            "max_divergent_multiplier_multiplier": 1.05,
            "divergent_eigenvalue": 0.2,  # a = -lambda, by sign
        },
    )
    assert_columns(
        second, {"divergent_multiplier": 0.25, "max_divergent_multiplier_multiplier": 1.5}
    )
    assert (first["variant"], first["step"], first["dim"]) == ("continuous", 0, 7)
    assert (first["machine"], first["threads"]) == ("a test CPU, 2 cores", 1)
    assert table.iloc[2]["machine"] == ""  # no provenance record: not guessed
    # claim C2 names where its spectra were computed (the results page names its machine)
    assert made_on(table) == "a test CPU, 2 cores, 1 thread(s)"
    (row,) = claim_c2(table, ["multiplier"], {"main": "m", "large": "l"})
    assert row.value.endswith("spectra computed on a test CPU, 2 cores, 1 thread(s)")
    assert made_on(table.drop(columns=["machine", "threads"])) == ""
    with pytest.raises(ValueError, match="one spectrum per seed"):
        masses_table(main[:1], large, [0, 1000], lr=0.05, cutoff=0.4)


def masses_frame(model: str, diss, div, n_c=None, conv="multiplier") -> pd.DataFrame:
    """A masses table of one model: one row per replicate estimate (seed × probe)."""
    k = len(diss)
    return pd.DataFrame(
        {
            "model": model,
            "seed": np.arange(k) // 2,
            "probe": np.arange(k) % 2,
            f"dissipative_{conv}": diss,
            f"divergent_{conv}": div,
            f"n_c_{conv}": np.add(diss, div) if n_c is None else n_c,
            f"max_divergent_multiplier_{conv}": 1.3,
        }
    )


def test_claim_c2_holds_fails_inconclusive_or_premise_absent() -> None:
    labels = {"main": "m", "large": "l"}

    def c2(*frames):
        (row,) = claim_c2(pd.concat(frames), ["multiplier"], labels)
        return row

    good = c2(
        masses_frame("main", [0.30, 0.28, 0.31, 0.29, 0.30, 0.32], [0.05, 0.06, 0.04] * 2),
        masses_frame("large", [0.20, 0.22, 0.21] * 2, [0.02, 0.03, 0.02] * 2),
    )
    assert good.verdict == HOLDS and good.role == DECIDES and "multiplier" in good.claim
    assert "6 estimates: 3 seed(s) x 2 probe(s); t(k-1) over" in good.noise
    bad = c2(masses_frame("main", [0.05, 0.04, 0.06] * 2, [0.30, 0.31, 0.29] * 2))
    assert bad.verdict == DOES_NOT_HOLD
    spread = c2(masses_frame("main", [0.30, 0.05, 0.20] * 2, [0.05, 0.30, 0.10] * 2))
    assert spread.verdict == INCONCLUSIVE
    # probes that agree within each seed while the seeds disagree: the seed means decide
    seeds_apart = masses_frame("main", [0.30, 0.30, 0.06, 0.06, 0.20, 0.20], [0.05] * 6)
    (row,) = claim_c2(seeds_apart, ["multiplier"], labels)
    assert row.verdict == INCONCLUSIVE and "3 group means (wider than over all)" in row.noise
    single = c2(masses_frame("main", [0.30], [0.05]))
    assert single.verdict == INCONCLUSIVE and "not measured" in single.noise
    empty = c2(masses_frame("main", [0.0] * 4, [0.0] * 4))
    assert empty.verdict == PREMISE_ABSENT
    # a printed convention is a row for comparison, never the deciding one
    (cmp_row,) = claim_c2(
        masses_frame("main", [0.30, 0.28, 0.31] * 2, [0.05, 0.06, 0.04] * 2, conv="eigenvalue"),
        ["eigenvalue"],
        labels,
    )
    assert cmp_row.role == FOR_COMPARISON and "a = -lambda" in cmp_row.claim


def curves_for(spec, steps=30, lr=0.1, variants=("continuous", "sparse")):
    """Error-proxy curves of the variants under one spectrum per step (a replicate)."""
    return {
        v: proxy_curve(records_for(v, steps=steps), spec, lr=lr).assign(variant=v) for v in variants
    }


# λ = 4, 6, 8 are dissipative at η = 0.1 (multipliers 0.6, 0.4, 0.2); λ < 0 is divergent
def falls_then_grows(neg=-3.0):
    return {0: spectrum([4.0, 6.0, 8.0, neg], [0.3, 0.3, 0.3, 0.1])}


def only_dissipative(top=8.0):
    return {0: spectrum([4.0, 6.0, top], [0.3, 0.3, 0.4])}


def test_claim_c3_holds_fails_inconclusive_or_premise_absent() -> None:
    grows = [curves_for(falls_then_grows(n)) for n in (-3.0, -3.1, -3.2)]
    (c3,) = claim_c3(grows, ["multiplier"])
    assert c3.verdict == HOLDS and c3.role == DECIDES, (c3.margin, c3.noise)
    # the growth is the divergent mode's, ln(1 + 0.1 × 3.1) per step late in the segment
    growth = float(c3.margin.split("growth ")[1])
    assert growth == pytest.approx(math.log(1.31), rel=0.05)
    falls = [curves_for(only_dissipative(t)) for t in (8.0, 8.5, 9.0)]
    assert claim_c3(falls, ["multiplier"])[0].verdict == DOES_NOT_HOLD  # never grows
    mixed = [curves_for(falls_then_grows()), curves_for(only_dissipative()), grows[1]]
    assert claim_c3(mixed, ["multiplier"])[0].verdict == INCONCLUSIVE
    assert claim_c3(grows[:1], ["multiplier"])[0].verdict == INCONCLUSIVE  # one seed
    absent = claim_c3(grows, ["multiplier"], n_c={"multiplier": 0.0})[0]
    assert absent.verdict == PREMISE_ABSENT


def test_claim_c3_growth_is_the_divergent_modes_not_the_largest_eigenvalue() -> None:
    # a = −λ: λ = 3.x grows like |1 − λ| per step although the sign calls it dissipative,
    # so the net growth is ln(λ_max − 1) (the "ln(λ_max − 1)"); the claim's growth is
    # the part divergent modes carry: here none (no λ < −c)
    reps = [curves_for({0: spectrum([0.6, lam], [0.9, 0.1])}) for lam in (3.0, 3.1, 3.2)]
    (row,) = claim_c3(reps, ["eigenvalue"])
    assert row.role == FOR_COMPARISON
    net = float(row.value.split("net d ln E/dt ")[1].split(";")[0])
    assert net == pytest.approx(math.log(2.1), rel=0.05)
    assert float(row.margin.split("growth ")[1]) == pytest.approx(0.0, abs=1e-6)
    # E falls, then grows by ln 2.1 per step, yet no growth is carried by a divergent mode:
    # the row is not "holds" (a zero growth is inside any noise)
    assert row.verdict == INCONCLUSIVE


def test_claim_c4_bounded_across_windows_holds_fails_or_is_inconclusive() -> None:
    def restarted(first, neg):
        """``first`` before step 10; from step 10 on the divergent mode is λ = ``neg``."""
        later = spectrum([4.0, 6.0, 8.0, neg], [0.3, 0.3, 0.3, 0.1])
        return {0: first, 10: later, 20: later}

    base = spectrum([4.0, 6.0, 8.0, -3.0], [0.3, 0.3, 0.3, 0.1])
    calmer = spectrum([4.0, 6.0, 8.0, -1.0], [0.3, 0.3, 0.3, 0.1])
    # the divergent mode weakens after the first window (multiplier 1.3 -> 1.2): the window
    # maxima fall, while the continuous run (t keeps counting) grows far above them
    falling = [curves_for(restarted(base, n)) for n in (-2.0, -2.02, -2.04)]
    (c4,) = claim_c4(falling, ["multiplier"])
    assert c4.verdict == HOLDS and c4.role == DECIDES, (c4.margin, c4.noise)
    # window maxima grow from window to window: not bounded
    growing = [curves_for(restarted(calmer, n)) for n in (-3.0, -3.02, -3.04)]
    assert claim_c4(growing, ["multiplier"])[0].verdict == DOES_NOT_HOLD
    # no divergent mode: E falls in every window and the continuous run never exceeds the
    # restarted windows' bound (the restart raises E instead)
    decaying = [curves_for({0: spectrum([4.0, 6.0, t], [0.3, 0.3, 0.4])}) for t in (8, 8.5, 9)]
    assert claim_c4(decaying, ["multiplier"])[0].verdict == DOES_NOT_HOLD
    # the same spectrum in every window: flat maxima, "does not grow" cannot be shown
    flat = [curves_for(falls_then_grows(n)) for n in (-3.0, -3.1, -3.2)]
    (row,) = claim_c4(flat, ["multiplier"])
    assert row.verdict == INCONCLUSIVE
    assert abs(float(row.margin.split("bounded ")[1].split(";")[0])) < 1e-12
    assert claim_c4([{"sparse": flat[0]["sparse"]}], ["multiplier"])[0].verdict == NOT_RUN
    absent = claim_c4(falling, ["multiplier"], n_c={"multiplier": 0.0})[0]
    assert absent.verdict == PREMISE_ABSENT


def test_spearman_and_correlation_tables() -> None:
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, math.inf], [1, 2, 3, 4]) == pytest.approx(1.0)
    assert spearman([1, 2, np.nan, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert math.isnan(spearman([1, 1, 1], [1, 2, 3]))
    assert math.isnan(spearman([1, 2], [1, 2]))
    t = np.tile(np.arange(0, 6), 3)
    setting = np.repeat([0, 1, 2], 6)
    table = pd.DataFrame(
        {
            "setting_id": setting,
            "t": t,
            "proxy_eigenvalue": t * (setting + 1.0),
            "err": t * (setting + 1.0) ** 2,
        }
    )
    over = rank_correlations(table, ["setting_id"], "err", ["eigenvalue"], "polynomial")
    assert over["kind"].eq("over_t").all() and np.allclose(over["spearman_eigenvalue"], 1.0)
    end = window_end_correlations(table, ["setting_id"], [], "err", ["eigenvalue"], "network")
    assert end.iloc[0]["points"] == 3 and end.iloc[0]["spearman_eigenvalue"] == pytest.approx(1.0)
    assert {"noise_eigenvalue", "p_value_eigenvalue"} <= set(end.columns)


def test_network_proxy_table_uses_the_window_start_spectrum() -> None:
    window = pd.DataFrame(
        {"t": [0, 1, 2], "start_step": 20, "gap": [0.0, 1e-6, 4e-6], "window": 1, "lr": 0.1}
    )
    spectra = {0: spectrum([1.0, 3.0]), 20: spectrum([2.5, 0.5])}
    table = network_proxy_table([window, window.assign(lr=0.2)], spectra)
    assert (table["rho_step"] == 20).all() and (table["window"] == 1).all()
    assert table["proxy_eigenvalue"].iloc[2] == pytest.approx(error_proxy(*spectra[20], 2, 0.4))
    # lr_scaled uses each setting's own learning rate
    assert table["proxy_lr_scaled"].iloc[5] == pytest.approx(
        error_proxy(*spectra[20], 2, 0.4, scale=0.2)
    )
    assert table["log_proxy_eigenvalue"].iloc[2] == pytest.approx(
        math.log(table["proxy_eigenvalue"].iloc[2])
    )


def test_proxy_vs_carleman_polynomial_check() -> None:
    from qtrain.quantum.carleman.proxy_check import proxy_vs_carleman

    table = proxy_vs_carleman(
        n_features=2, lr_scales=(0.5, 2.2), windows=2, window_steps=4, orders=(1, 2)
    )
    assert len(table) == 2 * 2 * 2 * 4
    first = table[table["t"] == 1]
    # u(1) = F_0 exactly at every order: no truncation error after one step
    assert first["error"].abs().max() < 1e-12
    row = table[(table["lr_scale"] == 0.5) & (table["window"] == 0) & (table["t"] == 3)].iloc[0]
    assert row["eta"] == pytest.approx(0.5 / row["lambda_max"])  # λ_max at θ_0 = window 0
    assert table.loc[table["lr_scale"] == 2.2, "spectral_radius"].iloc[0] > 1  # divergent top mode
    assert set(table.columns) >= {"proxy_eigenvalue", "proxy_lr_scaled", "norm_u", "order"}


# ----------------------------------------------------------------------------- workflow


def run(args, timeout=300):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=timeout, env=env)


@pytest.mark.parametrize("preset", ["paper", "smoke"])
def test_dry_run_has_the_spectra_stage(preset, dry_run) -> None:
    preset_args = ["--configfile", "config/smoke.yaml"] if preset == "smoke" else []
    result = dry_run("--cores", "2", *preset_args)  # the dry run of test_workflow.py::test_dry_run
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    for rule in (
        "spectrum",
        "error_proxy",
        "pretrain_large",
        "prune_large",
        "spectrum_large",
        "linearized_window",
        "proxy_vs_carleman",
        "compare_proxy",
        "claims_proxy",
        "claims_spectra",
        "plot_fig2a",
        "plot_fig2b",
        "plot_fig3",
        "plot_figS8",
    ):
        assert f"rule {rule}:" in out, rule
    # checkpoints before the first download are the same model in every variant: one spectrum
    assert f"results/{preset}/seed_0/spectra/continuous/step_00000.npz" in out
    assert f"results/{preset}/seed_0/spectra/sparse/step_00000.npz" not in out


def test_bad_linearized_window_fails_before_any_job(tmp_path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("linearized:\n  windows: [7]\n")
    result = run([SNAKEMAKE, "-n", "--cores", "1", "--configfile", "config/smoke.yaml", str(bad)])
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert "linearized.windows" in out
    assert "Job stats" not in out


def test_densities_tables_hold_every_drawn_spectrum_exactly(tmp_path) -> None:
    """The figures' densities and Ritz nodes as tables: a spectrum shared by two variants
    appears under each, the large model under its own name, and the floats come back exactly
    (the figures draw the same numbers the spectrum files hold)."""
    from qtrain.run.files import load_table, write_table
    from qtrain.spectra.density import densities_tables, spectra_from_tables

    def saved(name, grid, density, sigma, probes):
        path = _saved_spectrum(tmp_path / name, probes)
        arrays = dict(np.load(path))
        np.savez(path, **arrays, grid=grid, density=density, sigma=np.array(sigma))
        return path

    shared = saved("s0.npz", [0.1 + 0.2, 1 / 3], [2 / 3, 1e-300], 0.7, [([1.0, 2.0], [0.25, 0.75])])
    later = saved("s5.npz", [-1.0, 1.0], [0.5, 0.5], 0.1, [([0.5], [1.0]), ([3.0], [1.0])])
    large = saved("l.npz", [0.0, 5.0, 10.0], [0.2, 0.3, 0.5], 1.5, [([7.0], [1.0])])
    keys = [("continuous", 0), ("sparse", 0), ("sparse", 5)]
    dens, nodes = densities_tables([shared, shared, later], keys, [large], seed=3)
    assert dens[["model", "variant", "step"]].drop_duplicates().values.tolist() == [
        ["main", "continuous", 0],
        ["main", "sparse", 0],
        ["main", "sparse", 5],
        ["large", "", 0],
    ]
    assert set(dens["seed"]) == {3} and len(dens) == 2 + 2 + 2 + 3
    assert nodes[nodes["step"] == 5][["probe", "node"]].values.tolist() == [[0, 0.5], [1, 3.0]]
    write_table(dens, tmp_path / "d.csv")
    write_table(nodes, tmp_path / "n.csv")
    d = load_table(tmp_path / "d.csv")
    n = load_table(tmp_path / "n.csv")
    main = spectra_from_tables(d, n, "main", 3)
    assert sorted(main) == [("continuous", 0), ("sparse", 0), ("sparse", 5)]
    assert main[("sparse", 0)]["grid"].tolist() == [0.1 + 0.2, 1 / 3]  # exact, not approx
    assert main[("sparse", 0)]["density"].tolist() == [2 / 3, 1e-300]
    assert main[("sparse", 5)]["sigma"] == 0.1
    assert main[("sparse", 5)]["weights"].tolist() == [1.0, 1.0]
    (big,) = spectra_from_tables(d, n, "large", 3).values()
    assert big["grid"].tolist() == [0.0, 5.0, 10.0] and big["nodes"].tolist() == [7.0]
    with pytest.raises(KeyError, match="no densities of model 'main', seed 4"):
        spectra_from_tables(d, n, "main", 4)
    with pytest.raises(ValueError, match="one spectrum per"):
        densities_tables([shared], keys, [large], seed=3)
