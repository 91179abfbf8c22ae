"""Quantum-trained digits model: exactness where truncation is exact, tomography error within its
bound, the HHL path against the classical block solve."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qtrain.quantum.carleman.digits import digits_problem, initial_weights
from qtrain.quantum.carleman.polymaps import gd_step
from qtrain.quantum.circuits.quantum_training import (
    RunSpec,
    classical_gd,
    quantum_train,
    sampling_scale,
)
from qtrain.quantum.circuits.tomography import tomography
from qtrain.quantum.circuits.training_study import run_summary, solver_comparison, training_grid


@pytest.fixture(scope="module")
def quadratic():
    problem = digits_problem(features=2, classes=(3, 8), model="quadratic", seed=0)
    return problem, initial_weights(problem, 0.5, seed=0)


@pytest.fixture(scope="module")
def linear():
    problem = digits_problem(features=2, classes=(3, 8), model="linear", seed=0)
    return problem, initial_weights(problem, 0.5, seed=0)


def _downloaded(steps):
    return steps[steps["downloaded"]].sort_values("step")


def test_problem_is_a_standardized_binary_digits_task(quadratic):
    problem, theta0 = quadratic
    assert problem.n == 5 and problem.degree == 3 and theta0.shape == (5,)
    assert set(np.unique(problem.y_train)) == {-1.0, 1.0}
    assert np.allclose(problem.X_train.mean(axis=0), 0, atol=1e-12)
    assert np.allclose(problem.X_train.std(axis=0), 1)
    assert len(problem.y_test) > 0
    assert 0 <= problem.accuracy(theta0, "test") <= 1
    with pytest.raises(ValueError):
        digits_problem(classes=(3, 3))


@pytest.mark.parametrize("model", ["quadratic", "linear"])
def test_gd_map_is_the_exact_gd_step_far_from_the_expansion_point(model):
    problem = digits_problem(features=2, model=model, seed=1)
    rng = np.random.default_rng(2)
    theta_bar, theta = rng.standard_normal(problem.n), rng.standard_normal(problem.n)
    F = problem.gd_map(theta_bar, 0.05)
    expected = theta - 0.05 * problem.grad(theta)
    assert np.allclose(theta_bar + gd_step(F, theta - theta_bar), expected, atol=1e-12)
    # the gradient is the derivative of the loss (central differences)
    h = 1e-6
    fd = [
        (problem.loss(theta + h * e) - problem.loss(theta - h * e)) / (2 * h)
        for e in np.eye(problem.n)
    ]
    assert np.allclose(problem.grad(theta), fd, atol=1e-6)


@pytest.mark.parametrize("window", [1, 2])
def test_exact_solve_without_tomography_equals_classical_gd(quadratic, window):
    # window expansion: u_in = 0, so truncation at N >= q = 3 is exact for W <= 2
    problem, theta0 = quadratic
    steps, windows = quantum_train(problem, theta0, 0.05, 8, RunSpec(3, window, 0.0))
    reference = classical_gd(problem, theta0, 0.05, 8)
    got = _downloaded(steps)
    assert list(got["step"]) == list(range(0, 9, window))
    assert got["gap"].max() < 1e-12
    assert np.allclose(got["loss"], got["classical_loss"], rtol=1e-12)
    assert windows["truncation_error"].max() < 1e-12
    assert np.allclose(windows["samples"], 0)
    assert abs(problem.loss(reference[-1]) - got["loss"].iloc[-1]) < 1e-12


@pytest.mark.parametrize("expansion", ["window", "initial"])
def test_affine_map_is_exact_for_any_window(linear, expansion):
    problem, theta0 = linear
    steps, _ = quantum_train(problem, theta0, 0.1, 12, RunSpec(1, 5, 0.0, expansion=expansion))
    assert list(_downloaded(steps)["step"]) == [0, 5, 10, 12]  # a short last window
    assert steps["gap"].max() < 1e-12  # window interiors too


def test_truncation_error_appears_when_it_should(quadratic):
    problem, theta0 = quadratic
    _, windows = quantum_train(problem, theta0, 0.05, 10, RunSpec(1, 5, 0.0))
    assert windows["truncation_error"].max() > 1e-6  # N = 1 < q: linearization error


@pytest.mark.parametrize("expansion", ["window", "initial"])
def test_window_error_columns_are_taken_on_the_downloaded_vector(quadratic, expansion):
    # a noisy, truncated run (N = 2 < q = 3, W = 5): the first window against an independent
    # classical GD from θ(0) (the oracle), every window for the identities between the columns
    problem, theta0 = quadratic
    eta, W = 0.05, 5
    _, windows = quantum_train(
        problem, theta0, eta, 10, RunSpec(2, W, 0.1, expansion=expansion), seed=4
    )
    assert len(windows) == 2
    u_exact = classical_gd(problem, theta0, eta, W)[-1] - theta0  # θ̄ = θ(0) in both at first
    first = windows.iloc[0]
    assert first["exact_download_norm"] == pytest.approx(np.linalg.norm(u_exact))
    # the first window starts at θ̄ in both expansions: the increment is the download
    assert first["exact_increment_norm"] == pytest.approx(np.linalg.norm(u_exact))
    second = windows.iloc[1]
    if expansion == "window":
        assert second["exact_increment_norm"] == pytest.approx(second["exact_download_norm"])
        assert second["readout_precision"] == pytest.approx(0.1)
    else:  # θ̄ = θ(0): the download is the displacement, ε stays on the increment
        assert second["exact_increment_norm"] < 0.9 * second["exact_download_norm"]
        assert second["readout_precision"] < 0.9 * 0.1
    for _, w in windows.iterrows():
        # ε's vector (the exact window increment) in the denominator of the tracking error
        assert w["relative_window_error"] == pytest.approx(
            w["window_error"] / w["exact_increment_norm"]
        )
        assert w["relative_truncation_error"] == pytest.approx(
            w["truncation_error"] / w["exact_increment_norm"]
        )
        # forward substitution: no HHL error, the pipeline error is the readout's
        assert np.isnan(w["hhl_error"]) and np.isnan(w["relative_hhl_error"])
        assert w["pipeline_error"] == pytest.approx(w["tomography_error"])
        if expansion == "window":
            assert w["relative_tomography_error"] == pytest.approx(
                w["tomography_error"] / w["downloaded_norm"]
            )
        # the parts: truncation (exact vs solved) and readout (solved vs read) bound the whole
        assert w["window_error"] <= w["truncation_error"] + w["tomography_error"] + 1e-15
        assert w["truncation_error"] > 1e-8
        assert w["tomography_error"] <= w["tomography_bound"]
        assert 0 < w["sampling_scale"] < 0.1


def test_sampling_scale_is_the_spread_of_the_readout():
    # the root-mean-square relative error of many readouts of one vector, norm estimated from
    # Bernoulli trials of the post-selection (probability q), against the closed form
    rng = np.random.default_rng(0)
    x = rng.standard_normal(5)
    samples, q = 4000, 0.3
    errors = [
        np.linalg.norm(tomography(x, samples, rng, success_probability=q, norm_samples=samples) - x)
        / np.linalg.norm(x)
        for _ in range(400)
    ]
    rms = float(np.sqrt(np.mean(np.square(errors))))
    assert rms == pytest.approx(sampling_scale(5, samples, q), rel=0.2)
    assert sampling_scale(5, 0, q) == 0.0
    assert sampling_scale(5, samples, 1.0) == pytest.approx(math.sqrt(5 / (4 * samples)))


def test_single_window_gap_within_the_tomography_bound(quadratic):
    problem, theta0 = quadratic
    eps = 0.05
    for seed in range(10):
        _, windows = quantum_train(problem, theta0, 0.05, 2, RunSpec(3, 2, eps), seed=seed)
        w = windows.iloc[0]
        assert w["samples"] == math.ceil(36 * 5 * math.log(5) / (eps / math.sqrt(7)) ** 2)
        # no truncation error here, so the gap is the tomography error, bounded by ε‖u‖ (KP)
        assert w["gap"] == pytest.approx(w["tomography_error"], rel=1e-6)
        assert 0 < w["tomography_error"] <= w["tomography_bound"]
        assert w["tomography_bound"] == pytest.approx(eps * w["downloaded_norm"])


def test_multi_window_gap_within_accumulated_tomography_error(quadratic):
    problem, theta0 = quadratic
    eps = 0.1
    _, windows = quantum_train(problem, theta0, 0.05, 20, RunSpec(3, 2, eps), seed=3)
    assert windows["truncation_error"].max() < 1e-12
    # errors enter once per window and GD here contracts (ρ(I + F_1) < 1): the gap stays
    # below the sum of the tomography errors so far, far below the KP bounds
    assert (windows["spectral_radius"] < 1).all()
    cumulative = windows["tomography_error"].cumsum()
    assert (windows["gap"] <= cumulative * (1 + 1e-9)).all()
    assert (windows["tomography_error"] <= windows["tomography_bound"]).all()
    assert windows["gap"].max() > 0


def test_top_k_download_keeps_k_entries(quadratic):
    problem, theta0 = quadratic
    steps, windows = quantum_train(problem, theta0, 0.05, 2, RunSpec(3, 2, 0.0, top_k=2))
    theta = steps[steps["downloaded"]]
    assert len(windows) == 1
    reference = classical_gd(problem, theta0, 0.05, 2)
    increment = reference[-1] - theta0
    # the downloaded increment keeps only its two largest entries
    kept = np.argsort(-np.abs(increment))[:2]
    expected = theta0.copy()
    expected[kept] += increment[kept]
    assert theta["gap"].iloc[-1] == pytest.approx(np.linalg.norm(expected - reference[-1]))


def test_hhl_path_matches_the_classical_block_solve():
    # tiniest instance: linear model on 1 feature (n = 2), N = 1, W = 2: 4 + 7 + 1 = 12 qubits
    problem = digits_problem(features=1, model="linear", seed=0)
    theta0 = initial_weights(problem, 0.5, seed=0)
    spec = RunSpec(1, 2, 0.0, clock_qubits=7)
    steps, windows = solver_comparison(problem, theta0, 0.1, 4, spec, seed=0)
    hhl = windows[windows["solver"] == "hhl"]
    classical = windows[windows["solver"] == "classical"]
    assert len(hhl) == len(classical) == 2
    assert (hhl["hhl_fidelity"] > 0.999).all()
    assert (hhl["hhl_qubits"] == 12).all()
    assert classical["gap"].max() < 1e-12  # affine map: the classical solve is exact
    # truncation error is the forward-substitution solve's, the same in both; the HHL run's
    # excess is in its own column
    assert np.allclose(hhl["truncation_error"], classical["truncation_error"])
    assert classical["hhl_error"].isna().all() and (hhl["hhl_error"] > 0).all()
    assert np.allclose(hhl["window_error"], hhl["hhl_error"], rtol=1e-9, atol=1e-15)
    assert np.allclose(hhl["relative_pipeline_error"], hhl["relative_hhl_error"])
    s_h = _downloaded(steps[steps["solver"] == "hhl"])
    s_c = _downloaded(steps[steps["solver"] == "classical"])
    step_size = np.linalg.norm(classical_gd(problem, theta0, 0.1, 4)[-1] - theta0)
    assert np.allclose(s_h["loss"], s_c["loss"], rtol=1e-3)
    assert s_h["gap"].max() < 0.02 * step_size


def test_grid_and_summary(quadratic):
    problem, theta0 = quadratic
    specs = [RunSpec(o, w, e) for o in (1, 3) for w in (2,) for e in (0.0, 0.1)]
    steps, windows = training_grid(problem, theta0, 0.05, 4, specs, seed=0)
    summary = run_summary(windows, steps)
    assert list(summary["run_id"]) == [s.run_id for s in specs]
    assert set(summary["degree"]) == {3}
    exact = summary[(summary["order"] == 3) & (summary["epsilon"] == 0)]
    assert exact["max_gap_over_theta_c"].iloc[0] < 1e-12
    assert exact["max_relative_window_error"].iloc[0] < 1e-12
    assert exact["max_sampling_scale"].iloc[0] == 0 and np.isnan(exact["max_hhl_error"].iloc[0])
    noisy = summary[(summary["order"] == 3) & (summary["epsilon"] == 0.1)]
    assert 0 < noisy["max_gap_over_theta_c"].iloc[0] < 0.1
    assert 0 < noisy["max_relative_window_error"].iloc[0] < 0.1
    # the summary's maxima are those of the window table
    w = windows[windows["run_id"] == noisy["run_id"].iloc[0]]
    assert noisy["max_relative_window_error"].iloc[0] == w["relative_window_error"].max()
    assert noisy["std_relative_window_error"].iloc[0] == pytest.approx(
        np.std(w["relative_window_error"], ddof=1)
    )
    # seeded: the same grid twice gives the same numbers
    again, _ = training_grid(problem, theta0, 0.05, 4, specs, seed=0)
    assert np.array_equal(again["gap"].to_numpy(), steps["gap"].to_numpy())


def test_bad_specs_are_refused():
    with pytest.raises(ValueError):
        RunSpec(0, 2, 0.0)
    with pytest.raises(ValueError):
        RunSpec(1, 2, 0.0, solver="vqe")
    with pytest.raises(ValueError):
        RunSpec(1, 2, 0.0, expansion="origin")


def test_a_diverging_run_is_recorded_and_stopped():
    # N = 2 < q = 3 around a fixed θ(0): the truncated system blows up on this problem
    problem = digits_problem(features=3, seed=0)
    theta0 = initial_weights(problem, 0.5, seed=0)
    steps, windows = quantum_train(
        problem, theta0, 0.05, 100, RunSpec(2, 1, 0.0, expansion="initial")
    )
    assert windows["diverged"].iloc[-1] and not windows["diverged"].iloc[:-1].any()
    summary = run_summary(windows, steps)
    assert summary["diverged"].iloc[0]
    assert summary["diverged_at_step"].iloc[0] == steps["step"].max() < 100
    assert summary["max_gap_over_theta_c"].iloc[0] > 1
    # the diverged window's error is not finite or huge: a maximum that hides it would lie
    assert not summary["max_relative_window_error"].iloc[0] < 1


def test_a_budgeted_hhl_run_reaches_its_solver_precision_on_every_window():
    """The clock is budgeted from solver_share * eps and kappa (no fixed clock): the HHL error
    of the downloaded vector stays within the solver's precision in every window, the readout
    uses the rest of eps, and the clock grows with the precision asked for."""
    from qtrain.quantum.circuits.tomography import samples_for_precision

    problem = digits_problem(features=1, classes=(3, 8), model="quadratic", seed=0)
    theta0 = initial_weights(problem, 0.5, seed=0)
    clocks = {}
    for epsilon in (0.1, 0.01):
        spec = RunSpec(1, 3, epsilon, solver="hhl", solver_share=0.5)
        assert spec.solver_precision == pytest.approx(epsilon / 2)
        _, windows = quantum_train(problem, theta0, 0.05, 6, spec, seed=0)
        assert (windows["relative_hhl_error"] <= spec.solver_precision).all()
        assert not windows["clock_capped"].any()
        assert windows["samples"].iloc[0] == samples_for_precision(
            problem.n, spec.readout_precision / math.sqrt(7)
        )
        assert (windows["hhl_clock_qubits"] == windows["clock_budget"]).all()
        clocks[epsilon] = windows["hhl_clock_qubits"].max()
    assert clocks[0.01] > clocks[0.1]
    # a budget above the cap is capped, and says so
    capped = RunSpec(1, 3, 0.01, solver="hhl", solver_share=0.5, max_clock_qubits=4)
    _, windows = quantum_train(problem, theta0, 0.05, 3, capped, seed=0)
    assert windows["clock_capped"].all() and (windows["hhl_clock_qubits"] == 4).all()
    # an HHL run needs a clock or a precision to budget one from
    with pytest.raises(ValueError, match="clock_qubits or a solver precision"):
        RunSpec(1, 3, 0.0, solver="hhl")


def test_replicates_rerun_the_judged_runs_with_other_seeds():
    from qtrain.quantum.circuits.training_study import TrainingSettings, training_study

    settings = TrainingSettings(
        model="quadratic",
        features=1,
        classes=(3, 8),
        test_fraction=0.2,
        init_scale=0.5,
        lr=0.05,
        steps=4,
        orders=(3,),
        windows=(2,),
        epsilons=(0.0, 0.1),
        expansions=("window",),
        top_k=0,
        hhl_runs=({"features": 1, "order": 1, "window": 2, "epsilon": 0.1, "steps": 4},),
        replicates=3,
    )
    steps, windows = training_study(settings, "classical", seed=7)
    summary = run_summary(windows, steps)
    # replicate 0 runs the whole grid, the others only the runs with eps > 0
    assert sorted(summary.loc[summary["replicate"] == 0, "epsilon"]) == [0.0, 0.1]
    assert list(summary.loc[summary["replicate"] > 0, "epsilon"]) == [0.1, 0.1]
    assert list(summary["seed"]) == [7, 7, 1007, 2007]
    judged = summary[summary["epsilon"] > 0]["max_relative_window_error"]
    assert judged.nunique() == 3  # other data, start and readout: other errors
    _, hhl_windows = training_study(settings, "hhl", seed=7)
    assert set(hhl_windows["replicate"]) == {0, 1, 2}
    assert set(hhl_windows["solver"]) == {"classical", "hhl"}
