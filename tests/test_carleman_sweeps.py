"""qtrain.quantum.carleman_sweeps, the figS1-figS3 plots and the claims C6-C8 on small tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qtrain import claims
from qtrain.quantum import carleman_sweeps as cs

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
    table = cs.figS1_table(raw)
    diss = table[table["kind"] == "dissipative"]
    assert (diss["R"] < 1).all()
    assert np.allclose(diss["reference"], diss["u0_norm"] * diss["R"] ** diss["order"])
    assert table.loc[table["kind"] == "divergent", "reference"].isna().all()
    # the fitted factor is exp of the least-squares slope of log(error) against N
    slope = np.polyfit(diss["order"], np.log(diss["error_T"]), 1)[0]
    assert diss["decay_factor"].iloc[0] == pytest.approx(np.exp(slope))


def test_variant_and_condition_tables():
    maps = cs.toy_maps(["dissipative"], [2], [0], **MAPS)
    table = cs.figS2_table(cs.variant_difference_table(maps, [1e-3, 2e-3, 4e-3], 2, 3))
    assert table["slope_matrix_fro"].iloc[0] == pytest.approx(2.0, abs=0.02)
    maps = cs.toy_maps(["dissipative", "almost_dissipative"], [2], [0], **MAPS)
    cond = cs.figS3_table(cs.condition_table(maps, [2], [1, 2, 4, 8], [0, 1], 1000))
    assert len(cond) == 2 * 4 * 2
    assert set(cond["kappa_method"]) == {"exact"}
    assert (cond["final_share"] <= 1).all() and (cond["kappa"] >= 1).all()
    plain = cond[cond["padding_factor"] == 0]
    upper = plain[(plain["map"] == "almost_dissipative_q2_s0") & (plain["steps"] >= 4)]
    expected = np.polyfit(np.log(upper["steps"]), np.log(upper["kappa"]), 1)[0]
    assert upper["slope"].iloc[0] == pytest.approx(expected)


def test_plots_draw_from_tables():
    plots = pytest.importorskip("qtrain.quantum.plots")
    maps = cs.toy_maps(["dissipative", "almost_dissipative"], [2], [0], **MAPS)
    fig1 = plots.plot_figS1(cs.figS1_table(cs.error_vs_order_table(maps, 10, [1, 2])))
    fig2 = plots.plot_figS2(
        cs.figS2_table(cs.variant_difference_table(maps[:1], [0.01, 0.02, 0.04], 2, 3))
    )
    fig3 = plots.plot_figS3(cs.figS3_table(cs.condition_table(maps, [2], [1, 2, 4, 8], [0], 1000)))
    assert [len(f.axes) for f in (fig1, fig2, fig3)] == [3, 1, 2]


def test_build_benchmark_agrees_with_dense():
    table = cs.build_benchmark([(2, 2), (3, 2)], repeats=1)
    assert (table["max_abs_diff"] < 1e-14).all()
    assert list(table["dimension"]) == [6, 12]


def _s1(factors: dict[str, tuple[float, float, float]]) -> pd.DataFrame:
    """A figS1-like table: map -> (R, spectral radius, decay factor)."""
    rows = []
    for name, (R, rho, factor) in factors.items():
        for order in (1, 2, 3):
            rows.append(
                {
                    "map": name,
                    "R": R,
                    "spectral_radius": rho,
                    "order": order,
                    "decay_factor": factor,
                }
            )
    return pd.DataFrame(rows)


def test_claim_c6_verdicts():
    good = _s1({"d": (0.2, 0.8, 0.1), "v": (np.inf, 1.1, 3.0), "a": (np.inf, 1.0, 0.1)})
    assert claims.claim_c6(good).verdict == claims.HOLDS
    overflow = _s1({"d": (0.2, 0.8, 0.1), "v": (np.inf, 1.1, np.nan)})
    assert claims.claim_c6(overflow).verdict == claims.HOLDS
    bad = _s1({"d": (0.2, 0.8, 0.1), "v": (np.inf, 1.1, 0.3)})
    assert claims.claim_c6(bad).verdict == claims.NOT_HOLDING
    slow = _s1({"d": (0.2, 0.8, 0.7), "v": (np.inf, 1.1, 3.0)})
    assert claims.claim_c6(slow).verdict == claims.NOT_HOLDING
    untested = _s1({"d": (0.2, 0.8, 0.1)})
    assert claims.claim_c6(untested).verdict == claims.NOT_RUN


def test_claim_c7_and_c8_verdicts():
    eta = np.array([1e-3, 1e-2, 1e-1])
    s2 = pd.DataFrame({"map": "m", "eta": eta, "matrix_fro": 3 * eta**2, "one_step": eta**2.1})
    assert claims.claim_c7(s2).verdict == claims.HOLDS
    s2["one_step"] = eta**1.5
    assert claims.claim_c7(s2).verdict == claims.NOT_HOLDING
    s3 = pd.DataFrame(
        {
            "map": ["d", "a", "c"],
            "kind": ["dissipative", "almost_dissipative", "almost_dissipative_coupled"],
            "order": 2,
            "padding_factor": 0,
            "slope": [0.05, 0.97, 1.5],
        }
    )
    assert claims.claim_c8(s3).verdict == claims.HOLDS
    s3.loc[1, "slope"] = 1.5
    assert claims.claim_c8(s3).verdict == claims.NOT_HOLDING
    assert claims.claim_c8(s3[s3["kind"] != "dissipative"]).verdict == claims.NOT_RUN
    assert claims.loglog_slope([1, 10, 100], [2, 20, 200]) == pytest.approx(1.0)
    assert np.isnan(claims.geometric_factor([1, 2], [1e-3, np.nan]))
