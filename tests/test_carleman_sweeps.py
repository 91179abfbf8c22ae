"""qtrain.quantum.carleman.sweeps, the figS1-figS3 plots and the claims C6-C8 on small tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import linregress

from qtrain import claims, stats
from qtrain.bench.carleman import build_benchmark
from qtrain.claims import carleman as carleman_claims
from qtrain.quantum.carleman import sweeps as cs
from qtrain.quantum.carleman.linearization import (
    carleman_matrix,
    carleman_trajectory,
    exact_trajectory,
    lift,
)

MAPS = {
    "n": 2,
    "eta": 0.1,
    "curvature": (2.0, 6.0),
    "negative_curvature": 1.0,
    "nonlinearity": 1.0,
    "u0_norm": 0.3,
}


def test_error_table_and_figS1_table():
    maps = cs.toy_maps(["dissipative", "divergent"], [2], [0], **MAPS)
    raw = cs.error_vs_order_table(maps, 20, [1, 2, 3])
    assert list(raw["map"].unique()) == ["dissipative_q2_s0", "divergent_q2_s0"]
    # where nothing overflows, the log-domain errors are those of plain arithmetic
    for m in maps:
        exact = exact_trajectory(m.F, m.u0, 20)
        gaps = [
            np.linalg.norm(carleman_trajectory(m.F, m.u0, 20, order) - exact, axis=1)
            for order in (1, 2, 3)
        ]
        got = raw[raw["map"] == m.name]
        assert np.allclose(got["error_T"], [gap[-1] for gap in gaps], rtol=1e-9)
        assert np.allclose(got["max_error"], [gap.max() for gap in gaps], rtol=1e-9)
        assert np.allclose(got["log10_error_T"], np.log10(got["error_T"]), atol=1e-12)
    table = cs.error_vs_order_fits(raw)
    diss = table[table["kind"] == "dissipative"]
    assert (diss["R"] < 1).all()
    assert np.allclose(diss["reference"], diss["u0_norm"] * diss["R"] ** diss["order"])
    assert table.loc[table["kind"] == "divergent", "reference"].isna().all()
    # the fitted factor is 10^(least-squares slope of log10 error against N), with the
    # standard error of that slope (scipy's linregress as the oracle)
    fit = linregress(diss["order"], np.log10(diss["error_T"]))
    assert diss["log10_factor"].iloc[0] == pytest.approx(fit.slope)
    assert diss["log10_factor_se"].iloc[0] == pytest.approx(fit.stderr)
    assert diss["fit_dof"].iloc[0] == 1
    assert diss["decay_factor"].iloc[0] == pytest.approx(10**fit.slope)


def test_log_domain_iteration_matches_closed_forms_past_overflow():
    # u' = u^2 (F_1 = -1, F_2 = 1): log|u(T)| = 2^T log|u_0|, which overflows float64 at T = 10
    F = [None, -np.eye(1), np.eye(1)]
    logs, dirs = cs.log_exact_trajectory(F, np.array([2.0]), 60)
    assert logs[-1] == pytest.approx(2.0**60 * np.log(2.0), rel=1e-12)
    assert np.isfinite(logs).all() and dirs[-1][0] == 1.0
    # u' = 2u in two dimensions for 2000 steps
    u0 = np.array([3.0, -4.0])
    logs, dirs = cs.log_exact_trajectory([None, np.eye(2)], u0, 2000)
    assert logs[-1] == pytest.approx(np.log(5.0) + 2000 * np.log(2.0), rel=1e-12)
    assert np.allclose(dirs[-1], u0 / 5.0)
    # the truncated linear iteration (with a constant term) against plain arithmetic
    m = cs.toy_maps(["dissipative"], [2], [0], **MAPS)[0]
    F = [0.01 * np.ones(2), *m.F[1:]]
    C, b = carleman_matrix(F, 3)
    logs, dirs = cs.log_carleman_trajectory(C, b, lift(m.u0, 3), 15, 2)
    plain = carleman_trajectory(F, m.u0, 15, 3, system=(C, b))
    assert np.allclose(np.exp(logs)[:, None] * dirs, plain, rtol=1e-12, atol=1e-15)
    # a difference of equal vectors is -inf, of opposite ones log 2 + log norm
    a = np.array([0.6, 0.8])
    assert cs.log_norm_difference(1.0, a, 1.0, a) == -np.inf
    assert cs.log_norm_difference(1.0, a, 1.0, -a) == pytest.approx(1.0 + np.log(2.0))


def test_divergent_maps_are_judged_on_the_relative_error_in_log_space_never_on_an_overflow():
    maps = cs.toy_maps(["dissipative", "divergent"], [2, 3], [0], **{**MAPS, "n": 3})
    raw = cs.error_vs_order_table(maps, 100, [1, 2, 3, 4])
    table = cs.error_vs_order_fits(raw)
    div = table[table["kind"] == "divergent"]
    # the exact iteration overflows float64 (norm inf), its logarithm does not
    assert div["exact_diverged"].all() and np.isinf(div["error_T"]).all()
    assert (div["overflow_step"] > 0).all() and (div["overflow_step"] < 100).all()
    assert (div["log10_norm_u_T"] > 308).all() and np.isfinite(div["log10_norm_u_T"]).all()
    assert np.isfinite(div["log10_relative_error_T"]).all()
    # relative error = absolute error over ||u(T)||, both logarithms
    rel = table["log10_error_T"] - table["log10_norm_u_T"]
    assert np.allclose(table["log10_relative_error_T"], rel, atol=1e-9)
    diss = table[table["kind"] == "dissipative"]
    assert (diss["overflow_step"] == -1).all() and (diss["saturation_step"] == -1).all()
    # the fit is on the relative error: the same slope as the absolute error's (||u(T)|| does
    # not depend on N), and for a dissipative map the plain-arithmetic slope (scipy as oracle)
    d0 = diss[diss["map"] == "dissipative_q2_s0"]
    assert d0["log10_factor"].iloc[0] == pytest.approx(
        linregress(d0["order"], np.log10(d0["error_T"])).slope
    )
    # the divergent truncations lose the trajectory before T (relative error 1/2), long after
    # step 0: the error fell with N at first (hand check at t = 10 below), then saturated
    assert ((div["saturation_step"] > 10) & (div["saturation_step"] < 100)).all()
    m = maps[[x.name for x in maps].index("divergent_q2_s0")]
    early = pd.DataFrame(cs.log_order_sweep(m, m.u0, 10, [1, 2, 3, 4]))
    assert np.polyfit(early["order"], early["log10_relative_error_T"], 1)[0] < np.log10(0.5)
    # at T the factor per order is 1: no geometric fall
    assert np.allclose(div["decay_factor"], 1.0, atol=1e-6)
    row = carleman_claims.claim_c6(table)
    assert row.verdict == claims.HOLDS
    assert "nan" not in row.value and "divergent_q2_s0 +0.301" in row.margin
    assert "reaches 1/2 at step" in row.value and "not an overflow" in row.value
    # judged with a threshold above the divergent factor, the same table fails decisively
    assert carleman_claims.claim_c6(table, max_factor=2.0).verdict == claims.DOES_NOT_HOLD
    # over a horizon before the blow-up, the divergent maps' error still falls geometrically:
    # the "not otherwise" half then does not hold (a C6 verdict that can fail on real maps)
    short = cs.error_vs_order_fits(cs.error_vs_order_table(maps, 10, [1, 2, 3, 4]))
    assert carleman_claims.claim_c6(short).verdict == claims.DOES_NOT_HOLD


def test_variant_and_condition_tables():
    maps = cs.toy_maps(["dissipative"], [2], [0], **MAPS)
    table = cs.variant_difference_fits(cs.variant_difference_table(maps, [1e-3, 2e-3, 4e-3], 2, 3))
    assert table["slope_matrix_fro"].iloc[0] == pytest.approx(2.0, abs=0.02)
    maps = cs.toy_maps(["dissipative", "almost_dissipative"], [2], [0], **MAPS)
    cond = cs.condition_fits(cs.condition_table(maps, [2], [1, 2, 4, 8], [0, 1], 1000))
    assert len(cond) == 2 * 4 * 2
    assert set(cond["kappa_method"]) == {"exact"}
    assert (cond["final_share"] <= 1).all() and (cond["kappa"] >= 1).all()
    plain = cond[cond["padding_factor"] == 0]
    upper = plain[(plain["map"] == "almost_dissipative_q2_s0") & (plain["steps"] >= 4)]
    expected = np.polyfit(np.log(upper["steps"]), np.log(upper["kappa"]), 1)[0]
    assert upper["slope"].iloc[0] == pytest.approx(expected)


def test_plots_draw_from_tables():
    from qtrain.figures import carleman as plots

    maps = cs.toy_maps(["dissipative", "almost_dissipative"], [2], [0], **MAPS)
    fig1 = plots.plot_figS1(cs.error_vs_order_fits(cs.error_vs_order_table(maps, 10, [1, 2])))
    fig2 = plots.plot_figS2(
        cs.variant_difference_fits(cs.variant_difference_table(maps[:1], [0.01, 0.02, 0.04], 2, 3))
    )
    fig3 = plots.plot_figS3(
        cs.condition_fits(cs.condition_table(maps, [2], [1, 2, 4, 8], [0], 1000))
    )
    assert [len(f.axes) for f in (fig1, fig2, fig3)] == [4, 1, 2]


def test_build_benchmark_agrees_with_dense():
    table = build_benchmark([(2, 2), (3, 2)], repeats=1)
    assert (table["max_abs_diff"] < 1e-14).all()
    assert list(table["dimension"]) == [6, 12]


def _s1(fits: dict[str, tuple[float, float, float, float]]) -> pd.DataFrame:
    """A figS1-like table: map -> (R, spectral radius, factor per order, SE of its log10)."""
    rows = []
    for name, (R, rho, factor, se) in fits.items():
        for order in (1, 2, 3, 4):
            rows.append(
                {
                    "map": name,
                    "R": R,
                    "spectral_radius": rho,
                    "order": order,
                    "log10_relative_error_T": order * np.log10(factor),
                    "log10_norm_u_T": 400.0 if rho > 1 else -3.0,
                    "log10_factor": np.log10(factor),
                    "log10_factor_se": se,
                    "fit_dof": 2,
                    "exact_diverged": rho > 1,
                    "saturation_step": 30 if rho > 1 else -1,
                    "overflow_step": 45 if rho > 1 else -1,
                }
            )
    return pd.DataFrame(rows)


T2 = 4.302652729911275  # Student's t, 97.5% quantile, 2 degrees of freedom


def test_claim_c6_verdicts():
    good = _s1({"d": (0.2, 0.8, 0.1, 0.01), "v": (np.inf, 1.1, 3.0, 0.01), "a": (np.inf, 1, 9, 9)})
    row = carleman_claims.claim_c6(good)
    assert row.verdict == claims.HOLDS
    # margins in decades per order: log10(0.5) - log10(0.1) and log10(3) - log10(0.5)
    assert f"d {np.log10(0.5) + 1:+.3g}" in row.margin
    assert f"v {np.log10(6):+.3g}" in row.margin
    assert f"{T2 * 0.01:.3g}" in row.noise  # 95% half-width of the slope, 2 dof
    assert "a: 9" in row.value  # R >= 1, not divergent: shown, not judged
    assert "beyond float64 from step 45" in row.value and "reaches 1/2 at step 30" in row.value
    # does not hold: a divergent map whose error falls geometrically ...
    bad = _s1({"d": (0.2, 0.8, 0.1, 0.01), "v": (np.inf, 1.1, 0.3, 0.01)})
    assert carleman_claims.claim_c6(bad).verdict == claims.DOES_NOT_HOLD
    # ... or an R < 1 map whose error falls too slowly
    slow = _s1({"d": (0.2, 0.8, 0.7, 0.01), "v": (np.inf, 1.1, 3.0, 0.01)})
    assert carleman_claims.claim_c6(slow).verdict == claims.DOES_NOT_HOLD
    # factor 0.4 is below 0.5 by 0.097 decades, inside a half-width of 4.3 * 0.05 = 0.22
    unsure = _s1({"d": (0.2, 0.8, 0.4, 0.05), "v": (np.inf, 1.1, 3.0, 0.01)})
    assert carleman_claims.claim_c6(unsure).verdict == claims.INCONCLUSIVE
    # the same margin with a tight fit is decisive
    sure = _s1({"d": (0.2, 0.8, 0.4, 0.01), "v": (np.inf, 1.1, 3.0, 0.01)})
    assert carleman_claims.claim_c6(sure).verdict == claims.HOLDS
    # a divergent map saturated at factor 1 with a noise-free fit is decisive, a noisy one not
    noisy = _s1({"d": (0.2, 0.8, 0.1, 0.01), "v": (np.inf, 1.1, 0.7, 0.2)})
    assert carleman_claims.claim_c6(noisy).verdict == claims.INCONCLUSIVE
    # only one half of the claim measured: not a pass, and the missing premise is named
    half = _s1({"d": (0.2, 0.8, 0.1, 0.01)})
    assert carleman_claims.claim_c6(half).verdict == "premise absent: no divergent map"
    assert "premise absent: no divergent map" in carleman_claims.claim_c6(half).value
    # an absent premise never hides a decisive failure of the other half
    failing_half = _s1({"d": (0.2, 0.8, 0.9, 0.01)})
    assert carleman_claims.claim_c6(failing_half).verdict == claims.DOES_NOT_HOLD
    no_premise = _s1({"v": (np.inf, 1.1, 3.0, 0.01), "a": (np.inf, 1, 0.2, 0.01)})
    row = carleman_claims.claim_c6(no_premise)
    assert row.verdict == "premise absent: no map with R < 1"
    assert row.value.startswith("premise absent: no map with R < 1")
    assert carleman_claims.claim_c6(half.iloc[:0]).verdict == claims.NOT_RUN


def test_fit_helpers_against_scipy():
    rng = np.random.default_rng(0)
    x = np.arange(6.0)
    y = 0.3 * x + rng.normal(0, 0.1, 6)
    slope, intercept, se, dof = stats.linear_fit(x, y)
    ref = linregress(x, y)
    assert (slope, intercept, se, dof) == pytest.approx((ref.slope, ref.intercept, ref.stderr, 4))
    assert stats.slope_half_width(se, dof) == pytest.approx(2.7764451051977987 * se)
    assert stats.slope_half_width(0.1, 0) == np.inf
    assert stats.linear_fit([1, 2], [1, 3])[2] == np.inf
    assert stats.loglog_slope([1, 10, 100], [2, 20, 200]) == pytest.approx(1.0)
    assert stats.loglog_fit_with_error([1, 10, 100], [2, 20, 200])[:1] == pytest.approx((1.0,))
    assert np.isnan(stats.geometric_factor([1, 2], [1e-3, np.nan]))


def test_claim_c7_verdicts():
    eta = np.array([1e-3, 3e-3, 1e-2, 3e-2, 1e-1])
    s2 = pd.DataFrame({"map": "m", "eta": eta, "matrix_fro": 3 * eta**2, "one_step": eta**2.1})
    row = carleman_claims.claim_c7(s2)
    assert row.verdict == claims.HOLDS
    assert "m/one_step +0.15" in row.margin
    s2["one_step"] = eta**1.5
    assert carleman_claims.claim_c7(s2).verdict == claims.DOES_NOT_HOLD
    # slope 2.2 (margin 0.05) with scatter: the 95% half-width is wider than the margin
    wobble = np.exp(0.3 * np.array([1, -1, 1, -1, 1]))
    s2["one_step"] = eta**2.2 * wobble
    ref = linregress(np.log(eta), np.log(s2["one_step"]))
    assert abs(0.25 - abs(ref.slope - 2)) < stats.slope_half_width(ref.stderr, 3)
    assert carleman_claims.claim_c7(s2).verdict == claims.INCONCLUSIVE


def _s3(slopes: list[float], se: float = 0.01) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "map": ["d", "a", "c"],
            "kind": ["dissipative", "almost_dissipative", "almost_dissipative_coupled"],
            "order": 2,
            "padding_factor": 0,
            "slope": slopes,
            "slope_se": se,
            "fit_dof": 2,
        }
    )


def test_claim_c8_verdicts():
    row = carleman_claims.claim_c8(_s3([0.05, 0.97, 1.5]))
    assert row.verdict == claims.HOLDS
    assert "d/N=2 +0.2" in row.margin and "a/N=2 +0.22" in row.margin
    assert carleman_claims.claim_c8(_s3([0.05, 1.5, 1.5])).verdict == claims.DOES_NOT_HOLD
    # 0.2 is inside 0.25 by 0.05, less than 4.3 * 0.02
    assert carleman_claims.claim_c8(_s3([0.2, 0.97, 1.5], se=0.02)).verdict == claims.INCONCLUSIVE
    s3 = _s3([0.05, 0.97, 1.5])
    assert carleman_claims.claim_c8(s3[s3["kind"] != "dissipative"]).verdict == claims.INCONCLUSIVE
    assert carleman_claims.claim_c8(s3[s3["kind"] == "other"]).verdict == claims.NOT_RUN


def test_figS3_table_slope_error_is_that_of_the_upper_half_fit():
    maps = cs.toy_maps(["almost_dissipative"], [2], [0], **MAPS)
    cond = cs.condition_fits(cs.condition_table(maps, [2], [1, 2, 4, 8, 16], [0], 1000))
    upper = cond[cond["steps"] >= 4]
    ref = linregress(np.log(upper["steps"]), np.log(upper["kappa"]))
    assert cond["slope"].iloc[0] == pytest.approx(ref.slope)
    assert cond["slope_se"].iloc[0] == pytest.approx(ref.stderr)
    assert (cond["fit_dof"] == 1).all()
