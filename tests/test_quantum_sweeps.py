"""figS4, figS5 and figS7 tables and the claims C9, C10 and C12 computed from them."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from qtrain.claims import DOES_NOT_HOLD, HOLDS, INCONCLUSIVE, NOT_RUN
from qtrain.claims.quantum import (
    STATEVECTOR_NOISE,
    c12_comparisons,
    claim_c9,
    claim_c10,
    claim_c12,
)
from qtrain.quantum.carleman.linear_system import solve_block_system
from qtrain.quantum.circuits.sweeps import (
    bootstrap_slope,
    carleman_block_system,
    hhl_fits,
    hhl_sweep,
    tomography_fits,
    tomography_sweep,
)
from qtrain.stats import loglog_fit


def test_loglog_fit_recovers_a_power_law():
    x = np.logspace(1, 4, 7)
    slope, intercept = loglog_fit(x, 3 * x**-0.5)
    assert slope == pytest.approx(-0.5) and math.exp(intercept) == pytest.approx(3)
    assert math.isnan(loglog_fit([1.0], [1.0])[0])


def test_carleman_block_system_is_eq6():
    L, rhs, info = carleman_block_system("dissipative", 2, 2, 2, 3)
    assert info["carleman_dim"] == 6 and info["system_dim"] == 24 == L.shape[0]
    Y = solve_block_system(L, rhs, 6)
    assert np.allclose(L @ Y.reshape(-1), rhs)
    assert info["spectral_radius"] < 1


def test_hhl_sweep_improves_with_clock_and_reports_counts():
    systems = [{"kind": "dissipative", "n": 2, "degree": 2, "order": 1, "steps": 1}]
    raw = hhl_sweep(
        systems, [3, 6], eta=0.1, nonlinearity=1.0, u0_norm=0.3, seed=0, count_max_system_qubits=4
    )
    assert list(raw["num_clock"]) == [3, 6]
    assert list(raw["num_qubits"]) == [3 + 3 + 1, 3 + 6 + 1]  # 4x4 L dilated: 3 system qubits
    assert raw["infidelity"].iloc[1] < raw["infidelity"].iloc[0]
    assert raw["fidelity"].iloc[1] > 0.999
    assert raw["final_weights_error"].iloc[1] < 0.05
    assert raw["depth"].notna().all() and (raw["cx_count"] > 0).all()
    table = hhl_fits(raw)
    assert table["fidelity_at_max_clock"].iloc[0] == raw["fidelity"].iloc[1]
    assert table["log10_infidelity_per_clock_qubit"].iloc[0] < 0
    row = claim_c9(table)
    assert row.verdict == HOLDS
    assert f"[F] {raw['fidelity'].iloc[1] - 0.99:+.3g}" in row.margin
    assert row.noise.startswith(f"{STATEVECTOR_NOISE:g}")
    assert claim_c9(table, min_fidelity=1.0).verdict == DOES_NOT_HOLD


def _s4(fidelities: list[float]) -> pd.DataFrame:
    """A figS4-like table of one system: fidelity per clock size 3, 4, ..."""
    return pd.DataFrame(
        {
            "system": "s",
            "num_clock": range(3, 3 + len(fidelities)),
            "fidelity": fidelities,
            "infidelity": [1 - f for f in fidelities],
            "system_dim": 8,
            "num_qubits": 12,
            "final_weights_error": 1e-3,
        }
    )


def test_claim_c9_three_values():
    assert claim_c9(_s4([0.9, 0.995])).verdict == HOLDS
    assert claim_c9(_s4([0.9, 0.98])).verdict == DOES_NOT_HOLD  # below 0.99
    assert claim_c9(_s4([0.995, 0.992])).verdict == DOES_NOT_HOLD  # more clock qubits hurt
    # exactly at the threshold up to rounding: inside the numerical noise
    assert claim_c9(_s4([0.9, 0.99 + STATEVECTOR_NOISE / 2])).verdict == INCONCLUSIVE
    assert claim_c9(_s4([0.9, 0.995]).iloc[:0]).verdict == NOT_RUN


def test_tomography_sweep_slope_is_minus_one_half():
    raw = tomography_sweep([16], [1_000, 10_000, 100_000, 1_000_000], repeats=20, seed=0)
    assert len(raw) == 4 * 20
    table = tomography_fits(raw, fit_min_ratio=10)
    assert table["slope"].iloc[0] == pytest.approx(-0.5, abs=0.06)
    assert (table["mean_error"] < table["kp_bound"]).all()
    # samples for ε from the fit are ~d/(4ε²), far below Kerenidis-Prakash
    assert table["samples_for_eps0.01"].iloc[0] == pytest.approx(16 / (4 * 1e-4), rel=0.5)
    assert (table["samples_for_eps0.01"] < table["kp_samples_for_eps0.01"]).all()
    # the bootstrap interval over the random vectors brackets the slope
    assert table["slope_ci_low"].iloc[0] < table["slope"].iloc[0] < table["slope_ci_high"].iloc[0]
    row = claim_c10(table)
    assert row.verdict == HOLDS
    assert "5 to 50 (smoke) / 200 (paper)" in row.comparison and "-0.60" in row.comparison
    assert "unchanged" in row.comparison and "20 vectors" in row.value
    assert claim_c10(table.assign(slope=-0.8)).verdict == DOES_NOT_HOLD
    # margin 0.02 inside a half-width of 0.05: inconclusive
    unsure = table.assign(slope=-0.58, slope_ci_low=-0.63, slope_ci_high=-0.53)
    assert claim_c10(unsure).verdict == INCONCLUSIVE
    assert claim_c10(unsure.assign(slope_ci_low=-0.59, slope_ci_high=-0.57)).verdict == HOLDS


def test_bootstrap_slope_resamples_whole_vectors():
    rng = np.random.default_rng(3)
    samples = [10.0, 100.0, 1000.0]
    errors = (
        rng.uniform(0.5, 2.0, (7, 1)) * np.array(samples) ** -0.5 * rng.uniform(0.9, 1.1, (7, 3))
    )
    slopes = bootstrap_slope(errors, samples, 50, np.random.default_rng(11))
    picks = np.random.default_rng(11).integers(0, 7, size=(50, 7))
    expected = [np.polyfit(np.log(samples), np.log(errors[p].mean(axis=0)), 1)[0] for p in picks]
    assert np.allclose(slopes, expected)
    # a vector-independent power law has no spread to resample
    flat = bootstrap_slope(np.ones((5, 1)) * np.array(samples) ** -0.5, samples, 20, rng)
    assert np.allclose(flat, -0.5)


def _summary(rows, errors=(None,)):
    """figS7-like summaries: defaults of a forward-substitution run with N >= q, one row per
    replicate; ``errors`` (one per replicate) replace the judged error column unless None."""
    base = {
        "features": 2,
        "degree": 3,
        "order": 3,
        "solver": "classical",
        "diverged": False,
        "max_relative_window_error": 0.0,
        "max_relative_pipeline_error": 0.0,
        "max_relative_truncation_error": 0.0,
        "max_relative_hhl_error": np.nan,
        "max_relative_tomography_error": 0.0,
        "max_sampling_scale": 1e-4,
    }
    out = []
    for r in rows:
        row = {**base, **r}
        judged = (
            "max_relative_window_error"
            if row["order"] >= row["degree"]
            else "max_relative_pipeline_error"
        )
        for k, e in enumerate(r.get("errors", errors)):
            out.append({**row, "replicate": k, **({judged: e} if e is not None else {})})
    return pd.DataFrame(out).drop(columns="errors", errors="ignore")


T2 = 4.302652729911275  # Student's t, 97.5%, 2 degrees of freedom (3 replicates)


def test_claim_c12_judges_every_eps_run_on_what_it_promises_with_replicate_noise():
    rows = [
        # N >= q: tracking, mean error 0.4 eps over three seeds
        {"run_id": "a", "epsilon": 0.01, "errors": (0.0039, 0.0040, 0.0041)},
        # N < q: its tracking error is far above eps, but it is judged on the download
        {
            "run_id": "b",
            "order": 1,
            "epsilon": 0.01,
            "max_relative_window_error": 0.5,
            "errors": (0.0029, 0.003, 0.0031),
        },
        # eps = 0: exact readout, truncation only: shown, not judged
        {"run_id": "c", "epsilon": 0.0, "max_relative_window_error": 0.2, "errors": (None,)},
    ]
    comps = c12_comparisons(_summary(rows))
    assert list(comps["run_id"]) == ["a", "b"]
    assert list(comps["criterion"]) == ["tracking", "download"]
    assert list(comps["replicates"]) == [3, 3]
    assert np.allclose(comps["margin"], [0.006, 0.007])
    # noise = t(2) x sd / sqrt(3), sd = 1e-4
    assert comps["noise"].iloc[0] == pytest.approx(T2 * 1e-4 / np.sqrt(3))
    row = claim_c12(_summary(rows))
    assert row.verdict == HOLDS
    assert "2 hold, 0 do not, 0 inconclusive of 2" in row.value and "3 replicate seeds" in row.value
    assert "a +0.006" in row.margin and "(b)" in row.value and "(c)" in row.value
    # a run beyond eps by more than its replicate noise fails
    failing = [*rows, {"run_id": "d", "epsilon": 0.001, "errors": (0.0019, 0.002, 0.0021)}]
    row = claim_c12(_summary(failing))
    assert row.verdict == DOES_NOT_HOLD and "do not hold: d" in row.value
    # beyond eps by less than the replicate noise: inconclusive (a seed moves it by 0.0005)
    close = [*rows, {"run_id": "e", "epsilon": 0.001, "errors": (0.0006, 0.0011, 0.0016)}]
    assert claim_c12(_summary(close)).verdict == INCONCLUSIVE
    # one replicate measures no noise: never decisive
    single = [{"run_id": "f", "epsilon": 0.01, "errors": (0.001,)}]
    assert claim_c12(_summary(single)).verdict == INCONCLUSIVE
    assert np.isnan(c12_comparisons(_summary(single))["noise"].iloc[0])
    # an HHL run with N < q is judged on its HHL error (in the pipeline error), not truncation
    hhl = [
        {
            "run_id": "h",
            "solver": "hhl",
            "order": 1,
            "epsilon": 0.01,
            "max_relative_window_error": 0.02,
            "max_relative_truncation_error": 0.001,
            "max_relative_hhl_error": 0.015,
            "max_clock_qubits": 7,
            "clock_capped": False,
            "errors": (0.0150, 0.0151, 0.0152),
        }
    ]
    row = claim_c12(_summary(hhl))
    assert row.verdict == DOES_NOT_HOLD and "HHL 0.015" in row.value
    assert "clock up to 7 qubits" in row.value
    capped = [{**hhl[0], "clock_capped": True, "errors": (0.004, 0.005, 0.006)}]
    row = claim_c12(_summary(capped))
    assert row.verdict == HOLDS and "capped below its budget" in row.value
    # a diverged replicate does not track, whatever its last finite error
    diverged = _summary([{"run_id": "x", "epsilon": 0.1, "errors": (0.0, 0.0, 0.0)}])
    diverged.loc[1, "diverged"] = True
    assert claim_c12(diverged).verdict == DOES_NOT_HOLD
    # the HHL study's forward-substitution twin shares its run id with a grid run: two runs
    twin = _summary([{"run_id": "a", "epsilon": 0.01, "errors": (0.0039, 0.004, 0.0041)}])
    both = pd.concat([twin.assign(study="grid"), twin.assign(study="hhl", features=1)])
    comps = c12_comparisons(both)
    assert list(comps["replicates"]) == [3, 3]
    assert list(comps["run_id"]) == ["a", "a (hhl study, p = 1)"]
    nan_error = [{"run_id": "y", "epsilon": 0.1, "errors": (0.01, np.nan, 0.01)}]
    assert claim_c12(_summary(nan_error)).verdict == DOES_NOT_HOLD
    assert claim_c12(_summary(rows[2:])).verdict == NOT_RUN


def test_config_check_refuses_oversized_statevector_runs():
    from qtrain.run.config import check_quantum_config, hhl_qubits

    assert hhl_qubits(2, 2, 3, 8) == 6 + 8 + 1  # dim 24, dilated 48 -> 64
    ok = {
        "hhl": {"clock_qubits": [3, 8], "systems": [{"n": 2, "order": 2, "steps": 3}]},
        "training": {"model": "quadratic", "hhl_runs": []},
        "resources": {"n_min": 1e3, "n_max": 1e12},
    }
    check_quantum_config(ok)
    big = {**ok, "hhl": {"clock_qubits": [12], "systems": [{"n": 4, "order": 3, "steps": 31}]}}
    with pytest.raises(ValueError, match=r"quantum\.hhl\.systems\[0\]"):
        check_quantum_config(big)
    run = {"features": 3, "order": 3, "window": 10, "epsilon": 0.01, "clock_qubits": 10}
    statevector = {"model": "quadratic", "hhl_backend": "statevector", "hhl_runs": [run]}
    with pytest.raises(ValueError, match=r"quantum\.training\.hhl_runs\[0\]"):
        check_quantum_config({**ok, "training": statevector})
    # the eigenbasis backend holds no statevector: any size passes
    check_quantum_config({**ok, "training": {**statevector, "hhl_backend": "eigenbasis"}})
    # a budgeted clock is checked at its cap
    budgeted = {"features": 1, "order": 2, "window": 2, "epsilon": 0.01}
    small = {**statevector, "hhl_runs": [budgeted], "hhl_max_clock_qubits": 8}
    check_quantum_config({**ok, "training": small})
    with pytest.raises(ValueError, match="hhl_runs"):
        check_quantum_config({**ok, "training": {**small, "hhl_max_clock_qubits": 16}})
    # epsilon = 0 has no precision to budget from: a fixed clock is required
    exact = {**statevector, "hhl_runs": [{**budgeted, "epsilon": 0.0}]}
    with pytest.raises(ValueError, match="epsilon = 0"):
        check_quantum_config({**ok, "training": exact})
