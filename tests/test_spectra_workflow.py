"""The spectra stage's pieces: resumable Lanczos, error-proxy time and tables, claims C2-C4,
the polynomial proxy check, and the workflow's dry runs and config checks (claim C13:
tests/test_proxy_claim.py)."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from qtrain.claims import HOLDS, INCONCLUSIVE, NOT_HOLDING, NOT_RUN
from qtrain.claims.spectra import claim_c2, claim_c3, claim_c4
from qtrain.learning.sparse_training import SparseTrainSettings, schedule
from qtrain.spectra.density import load_spectrum, mass_row
from qtrain.spectra.error_proxy import error_proxy
from qtrain.spectra.lanczos import spectral_density
from qtrain.spectra.proxy_curves import proxy_curve, segment_extremes, upload_steps
from qtrain.spectra.proxy_vs_truth import (
    network_proxy_table,
    rank_correlations,
    window_end_correlations,
)
from qtrain.spectra.resumable import resumable_spectral_density
from qtrain.stats import spearman

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")


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
    kwargs = dict(probes=2, seed=4, bounds_steps=10, kappa=1.25, grid_points=128)
    ref = spectral_density(matvec, n, 20, **kwargs)
    got = resumable_spectral_density(matvec, n, 20, state_dir=tmp_path / "s", **kwargs)
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
    kwargs = dict(probes=2, seed=1, bounds_steps=8, state_dir=tmp_path, operator_id="op")
    full = resumable_spectral_density(matvec, n, 15, **{**kwargs, "state_dir": tmp_path / "ref"})

    def dying(v, limit=8 + 15 + 5):  # dies inside the second probe
        if calls["n"] >= limit:
            raise KeyboardInterrupt
        return matvec(v)

    calls["n"] = 0
    with pytest.raises(KeyboardInterrupt):
        resumable_spectral_density(dying, n, 15, **kwargs)
    assert sorted(p.name for p in tmp_path.glob("*.npz")) == ["bounds.npz", "probe_0.npz"]
    calls["n"] = 0
    resumed = resumable_spectral_density(matvec, n, 15, **kwargs)
    assert calls["n"] == 15  # only the second probe ran again
    assert resumed.meta["resumed_runs"] == 2
    np.testing.assert_array_equal(resumed.density, full.density)
    # another operator (or other settings) never reuses the saved runs
    calls["n"] = 0
    resumable_spectral_density(matvec, n, 15, **{**kwargs, "operator_id": "other"})
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


def test_mass_row_and_claim_c2() -> None:
    lams, w = spectrum([-1.0, 0.1, 0.5, 2.0, 30.0], [0.1, 0.5, 0.2, 0.1, 0.1])
    row = mass_row(lams, w, lr=0.01, cutoff=0.4)
    assert row["dissipative_eigenvalue"] == pytest.approx(0.4)  # λ > 0.4
    assert row["divergent_eigenvalue"] == pytest.approx(0.1)  # λ < -0.4
    assert row["dissipative_lr_scaled"] == 0.0 and row["divergent_lr_scaled"] == 0.0
    assert row["lambda_max"] == 30.0 and row["negative_mass"] == pytest.approx(0.1)
    # replicate estimates: the spread decides between decisive and inconclusive
    lams2, w2 = spectrum([-1.0, 0.1, 0.5, 2.0, 30.0], [0.12, 0.5, 0.18, 0.1, 0.1])
    other = mass_row(lams2, w2, lr=0.01, cutoff=0.4)
    eig, lr_scaled = claim_c2([row, other], [row, other], ["eigenvalue", "lr_scaled"], "m", "l")
    assert eig.verdict == HOLDS and "a = -lambda" in eig.claim
    assert "m: 0.28" in eig.margin and "2 estimates" in eig.noise  # mean of 0.3 and 0.26
    assert lr_scaled.verdict == INCONCLUSIVE  # N_c = 0 with a = -eta*lambda: nothing to judge
    assert "N_c 0" in lr_scaled.value
    flipped = {**other, "divergent_eigenvalue": 0.6}  # replicates that disagree in sign
    (wide,) = claim_c2([row, flipped], [], ["eigenvalue"], "m", "l")
    assert wide.verdict == INCONCLUSIVE
    low = {**row, "dissipative_eigenvalue": 0.05}
    lows = [low, {**low, "divergent_eigenvalue": 0.11}, {**low, "divergent_eigenvalue": 0.12}]
    (bad,) = claim_c2(lows, [], ["eigenvalue"], "m", "l")
    assert bad.verdict == NOT_HOLDING
    (single,) = claim_c2([row], [], ["eigenvalue"], "m", "l")
    assert single.verdict == INCONCLUSIVE and "not measured" in single.noise


def test_claims_c3_c4_on_constructed_curves() -> None:
    spectra = {0: spectrum([0.6, 1.0, 1.4, 2.5], [0.3, 0.3, 0.3, 0.1])}
    spectra2 = {0: spectrum([0.6, 1.0, 1.4, 2.6], [0.3, 0.3, 0.3, 0.1])}

    def curves(spec, steps=30):
        return {
            v: proxy_curve(records_for(v, steps=steps), spec, lr=0.1).assign(variant=v)
            for v in ("continuous", "sparse", "qram")
        }

    estimates = [curves(spectra), curves(spectra2)]  # two replicate estimates
    (c3,) = claim_c3(estimates, ["eigenvalue"])
    assert c3.verdict == HOLDS and c3.claim_id == "C3", (c3.margin, c3.noise)
    (c4,) = claim_c4(estimates, ["eigenvalue"])
    assert c4.verdict == HOLDS, c4.margin  # restarted windows stay far below continuous
    no_div = [curves({0: spectrum([0.6, 1.0])}), curves({0: spectrum([0.6, 1.05])})]
    assert claim_c3(no_div, ["eigenvalue"])[0].verdict == NOT_HOLDING  # never grows
    assert claim_c4(no_div, ["eigenvalue"])[0].verdict == NOT_HOLDING  # restart to 1 > decayed E
    sparse_only = [{"sparse": estimates[0]["sparse"]}]
    assert claim_c4(sparse_only, ["eigenvalue"])[0].verdict == NOT_RUN
    # an empty N_c in a convention is inconclusive, never a pass
    (empty,) = claim_c3(estimates, ["lr_scaled"], n_c={"lr_scaled": 0.0})
    assert empty.verdict == INCONCLUSIVE


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
    from qtrain.quantum.proxy_check import proxy_vs_carleman

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
