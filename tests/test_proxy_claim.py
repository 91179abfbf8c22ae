"""Claim C13 (qtrain.claims.proxy) on constructed settings, the multiplier convention in the
proxy tables, and the trivial predictors the proxy must beat."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from qtrain.claims import (
    DECIDES,
    DOES_NOT_HOLD,
    FOR_COMPARISON,
    HOLDS,
    INCONCLUSIVE,
    NOT_RUN,
    PREMISE_ABSENT,
)
from qtrain.claims.proxy import claim_c13, convention_label
from qtrain.spectra.error_proxy import error_proxy
from qtrain.spectra.proxy_vs_truth import (
    network_proxy_table,
    proxy_parameters,
    window_end_correlations,
)
from qtrain.stats import detectable_correlation

CONVS = ["multiplier", "eigenvalue"]


def _settings(proxy: np.ndarray, truth: np.ndarray, eta_t: np.ndarray, n_c: float = 0.5):
    """One row per setting at its window end (t = T = 10): the table window_end_correlations
    reads, the same proxy under both conventions."""
    return pd.DataFrame(
        {
            "setting_id": np.arange(truth.size),
            "t": 10,
            "truth": truth,
            "eta_t": eta_t,
            "eta_t_lambda": eta_t * 3.0,
            **{f"proxy_{c}": proxy for c in CONVS},
            **{f"n_c_{c}": n_c for c in CONVS},
        }
    )


def _correlations(table: pd.DataFrame, measurement: str = "polynomial") -> pd.DataFrame:
    return window_end_correlations(table, ["setting_id"], [], "truth", CONVS, measurement)


def _rows(table: pd.DataFrame) -> list:
    """C13 rows with the same settings measured twice (polynomial and network)."""
    poly = _correlations(table, "polynomial")
    return claim_c13(pd.concat([poly, poly.assign(measurement="network")]), CONVS)


RNG = np.random.default_rng(3)
ETA_T = np.repeat(np.linspace(0.5, 6.0, 12), 3)  # 12 learning rates x 3 windows: ties, as run
OWN = RNG.normal(size=36)  # the part of the true error eta*T does not explain
TRUTH = np.exp(ETA_T + 1.5 * OWN)


def test_c13_holds_when_the_proxy_carries_information_beyond_eta_t():
    proxy = np.exp(ETA_T + 1.5 * OWN + 0.3 * RNG.normal(size=36))
    rows = _rows(_settings(proxy, TRUTH, ETA_T))
    assert [r.verdict for r in rows] == [HOLDS] * 4
    first = rows[0]
    assert "multiplier" in first.claim and first.role == DECIDES
    assert [r.role for r in rows[1:]] == [FOR_COMPARISON, DECIDES, FOR_COMPARISON]
    assert "36 settings" in first.value
    assert f"detectable partial at this n {detectable_correlation(36, 0.05, 2):.3g}" in first.value


def test_c13_does_not_hold_when_the_proxy_is_only_eta_t():
    # the raw correlation is high (both rise with eta*T) ...
    proxy = np.exp(2.0 * ETA_T)
    corr = _correlations(_settings(proxy, TRUTH, ETA_T))
    assert corr["spearman_multiplier"].iloc[0] > 0.7
    # ... but the proxy is a function of eta*T: nothing beyond it
    assert corr["proxy_residual_share_multiplier"].iloc[0] == pytest.approx(0.0, abs=1e-12)
    rows = _rows(_settings(proxy, TRUTH, ETA_T))
    assert all(r.verdict == DOES_NOT_HOLD for r in rows)
    assert "function of the trivial predictors" in rows[0].value
    # 36 settings detect a partial correlation of 0.29 < 0.3: decisive. Nine could only
    # detect 0.67: the same "nothing beyond" is then inconclusive
    few = _settings(np.exp(2.0 * ETA_T[::4]), TRUTH[::4], ETA_T[::4])
    row = _rows(few)[0]
    assert row.verdict == INCONCLUSIVE and "detects partial correlations from 0.669" in row.value


def test_c13_does_not_hold_or_is_inconclusive_for_eta_t_plus_unrelated_noise():
    # eta*T plus noise unrelated to the truth's own part (its partial correlation scatters
    # around 0 with sd ~0.18 at 36 settings; this draw is a typical one)
    blind = np.exp(ETA_T + 1.5 * np.random.default_rng(5).normal(size=36))
    corr = _correlations(_settings(blind, TRUTH, ETA_T))
    partial, noise = corr["partial_multiplier"].iloc[0], corr["partial_noise_multiplier"].iloc[0]
    assert corr["spearman_multiplier"].iloc[0] > 0.3  # confounded raw correlation
    assert abs(partial) < noise  # nothing beyond eta*T
    verdict = _rows(_settings(blind, TRUTH, ETA_T))[0].verdict
    assert verdict == (DOES_NOT_HOLD if partial + noise < 0.3 else INCONCLUSIVE)
    # with a clear negative partial correlation, decisively not
    anti = np.exp(ETA_T - 1.5 * OWN)
    assert _rows(_settings(anti, TRUTH, ETA_T))[0].verdict == DOES_NOT_HOLD


def test_c13_is_inconclusive_with_few_settings_and_without_mass_beyond_the_cut_off():
    few = slice(0, 9, 1)
    proxy = np.exp(ETA_T + 1.5 * OWN + 0.8 * RNG.normal(size=36))
    table = _settings(proxy[few], TRUTH[few], np.linspace(1, 5, 9))
    corr = _correlations(table)
    assert corr["detectable_partial"].iloc[0] > 0.6  # 9 settings, two controls: 5 dof
    assert _rows(table)[0].verdict in (INCONCLUSIVE, HOLDS)  # never "does not hold" here
    empty = _settings(np.full(36, np.nan), TRUTH, ETA_T, n_c=0.0)
    row = _rows(empty)[0]
    assert (
        row.verdict == PREMISE_ABSENT and "premise absent: no mass beyond the cut-off" in row.value
    )


def test_a_missing_measurement_is_not_run():
    proxy = np.exp(ETA_T + 1.5 * OWN)
    rows = claim_c13(_correlations(_settings(proxy, TRUTH, ETA_T), "polynomial"), CONVS)
    assert [r.verdict for r in rows] == [HOLDS, HOLDS, NOT_RUN, NOT_RUN]
    assert "network" in rows[2].claim


def test_the_multiplier_convention_is_a_eta_lambda_with_the_cut_off_at_c_eta():
    assert proxy_parameters("multiplier", 0.05, 0.4) == (0.05, pytest.approx(0.02))
    assert proxy_parameters("lr_scaled", 0.05, 0.4) == (0.05, 0.4)
    assert proxy_parameters("eigenvalue", 0.05, 0.4) == (1.0, 0.4)
    assert convention_label("multiplier") == "multiplier |1 - eta*lambda|, |lambda| > c"
    # a mode at lambda = -6 with eta = 0.05: multiplier 1.3 per step, beyond |lambda| > 0.4;
    # lr_scaled drops it (|eta*lambda| = 0.3 < 0.4), the multiplier convention keeps it
    nodes, weights = np.array([-6.0, 0.1, 10.0]), np.array([0.2, 0.6, 0.2])
    window = pd.DataFrame(
        {"t": [0, 1, 2, 3], "start_step": 0, "gap": 0.0, "window": 0, "lr": 0.05, "lr_scale": 1.0}
    )
    table = network_proxy_table([window], {0: (nodes, weights)}, 0.4, ["multiplier", "lr_scaled"])
    by_hand = (0.2 * 1.3**3 + 0.2 * 0.5**3) / 0.4  # the two modes beyond the cut-off
    assert table["proxy_multiplier"].iloc[3] == pytest.approx(by_hand)
    assert table["proxy_multiplier"].iloc[3] == pytest.approx(
        error_proxy(nodes, weights, 3, 0.4 * 0.05, scale=0.05)
    )
    assert table["n_c_multiplier"].iloc[0] == pytest.approx(0.4)
    assert table["proxy_lr_scaled"].iloc[3] == pytest.approx(0.5**3)  # only lambda = 10
    assert table["n_c_lr_scaled"].iloc[0] == pytest.approx(0.2)
    # the trivial predictors: eta*t and eta*t*lambda_max
    assert table["eta_t"].iloc[3] == pytest.approx(0.15)
    assert table["eta_t_lambda"].iloc[3] == pytest.approx(1.5)
    assert math.isclose(table["lambda_max"].iloc[0], 10.0)


def test_polynomial_check_has_the_multiplier_proxy_and_the_trivial_predictors():
    from qtrain.quantum.carleman.proxy_check import proxy_vs_carleman

    table = proxy_vs_carleman(
        n_features=2, lr_scales=(0.5, 2.2), windows=2, window_steps=4, orders=(1,)
    )
    row = table[(table["lr_scale"] == 0.5) & (table["window"] == 1) & (table["t"] == 3)].iloc[0]
    assert row["eta_t"] == pytest.approx(3 * row["eta"])
    assert row["eta_t_lambda"] == pytest.approx(3 * row["eta"] * row["lambda_max"])
    assert {"proxy_multiplier", "n_c_multiplier", "proxy_eigenvalue"} <= set(table.columns)
    # at scale 0.5 the multiplier cut-off c*eta keeps more modes than lr_scaled's c on eta*lambda
    assert row["n_c_multiplier"] >= row["n_c_lr_scaled"]
