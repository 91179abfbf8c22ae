"""The ``qtrain-cost`` calculator (qtrain.cost_cli over qtrain.quantum.costs.calculator): hand
counts of the classical side, the decomposition adding up, the printed table and the CSV."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from qtrain.cost_cli import main
from qtrain.paper import FLOPS_PER_SAMPLE, RESNET_SIZES
from qtrain.quantum.costs.calculator import calculator_settings, classical_table, price

pytest.importorskip("qdk")
REPO = Path(__file__).resolve().parents[1]


def test_classical_side_hand_count():
    s, _ = calculator_settings()
    row = classical_table("m", 20_000, 900.0, s).iloc[0]
    # 900 FLOPs per sample x 2048 samples + 2 FLOPs per parameter for the update
    assert row["flops_per_step_dense"] == 900.0 * 2048 + 2 * 20_000
    assert row["flops_per_parameter_sample"] == pytest.approx(900.0 / 20_000)


def test_price_adds_up_and_uses_the_cost_stage_model():
    s, sweep = calculator_settings(overrides={"total_steps": 200, "steps_per_window": 50})
    table, summary = price(20_000, 900.0, s, sweep, "m")
    assert list(summary["scenario"]) == ["base", "favourable"]
    for scenario, g in table.groupby("scenario"):
        factors = g[g["factor"] != "total"]["log10"].sum()
        assert factors == pytest.approx(g[g["factor"] == "total"]["log10"].iloc[0]), scenario
    base = summary.iloc[0]
    # classical: 200 steps of (900·2048 + 2·20 000) FLOPs at 200 TFLOP/s (the base)
    assert base["classical_seconds"] == pytest.approx(200 * (900.0 * 2048 + 40_000) / 200e12)
    assert math.log10(base["quantum_seconds"] / base["classical_seconds"]) == pytest.approx(
        base["log10_quantum_over_classical"]
    )
    fav = summary.iloc[1]
    assert fav["qubit_model"] == "qubit_gate_ns_e4" and fav["readout_entries"] == 10
    assert fav["log10_quantum_over_classical"] < base["log10_quantum_over_classical"]
    with pytest.raises(ValueError, match="parameters"):
        price(1, 900.0, s, sweep)


def test_the_defaults_are_the_paper_preset():
    import yaml

    from qtrain.quantum.costs.settings import settings_from_config

    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    s, sweep = settings_from_config(cfg["quantum"]["resources"], "all")
    default_s, default_sweep = calculator_settings()
    assert default_sweep.favourable == sweep.favourable
    assert default_sweep.favourable_variants == sweep.favourable_variants
    assert default_s == s
    from_file, _ = calculator_settings(REPO / "config" / "smoke.yaml")
    assert from_file == s  # smoke changes only the sweeps


def test_main_prints_the_table_and_writes_csv(tmp_path, capsys):
    out = tmp_path / "cost.csv"
    assert (
        main(
            [
                "--params",
                "20000",
                "--flops-per-sample",
                "900",
                "--steps",
                "200",
                "--window",
                "50",
                "--csv",
                str(out),
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "cost MODEL" in text and "20,000 parameters" in text
    for factor in ("readout_entries", "toffolis_per_query", "oracle_data", "total"):
        assert factor in text
    assert "premise violated by ResNets" in text
    table = pd.read_csv(out)
    assert set(table["row"]) == {"factor", "summary"}
    factors = table[table["row"] == "factor"]
    assert set(factors["scenario"]) == {"base", "favourable"}
    summary = table[table["row"] == "summary"]
    assert (summary["steps"] == 200).all() and (summary["window_steps"] == 50).all()
    main(["--params", "20000", "--scenario", "base", "--set", "readout=fixed"])
    assert "favourable" not in capsys.readouterr().out.splitlines()[3]
    with pytest.raises(SystemExit, match="KEY=VALUE"):
        main(["--params", "20000", "--set", "readout"])
    with pytest.raises(SystemExit, match="solver"):
        main(["--params", "20000", "--set", "solver=optimal"])
    with pytest.raises(SystemExit, match="unknown model"):
        main(["--model", "not_a_model"])


def test_params_alone_uses_resnet32_4s_counted_flops(capsys):
    main(["--params", str(RESNET_SIZES["resnet32_4"]), "--scenario", "base"])
    text = capsys.readouterr().out
    assert f"{FLOPS_PER_SAMPLE['resnet32_4']:.4g} FLOPs per sample" in text


def test_console_script_prints_in_seconds():
    script = Path(sys.executable).parent / "qtrain-cost"
    if not script.exists():
        pytest.skip("the console script is installed by `make install` (pip install -e .)")
    result = subprocess.run(
        [str(script), "--params", "7451044"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "total" in result.stdout and "favourable" in result.stdout


def test_params_path_does_not_import_torch():
    code = (
        "import sys; from qtrain.cost_cli import main; "
        "main(['--params', '100000', '--scenario', 'base']); "
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
