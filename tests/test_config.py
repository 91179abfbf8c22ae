"""Cross-key configuration checks (qtrain.config): unit tests and the CLI failing early."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from qtrain.config import ConfigError, check_config, hessian_space_for

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")


def _config(**sections):
    cfg = yaml.safe_load((REPO / "config/smoke.yaml").read_text())
    for name, values in sections.items():
        cfg[name] = {**cfg.get(name, {}), **values}
    return cfg


@pytest.mark.parametrize("preset", ["config.yaml", "smoke.yaml"])
def test_presets_pass(preset):
    check_config(yaml.safe_load((REPO / "config" / preset).read_text()))


def test_the_hessian_space_follows_the_windows():
    assert hessian_space_for("all") == ("dense",)
    assert set(hessian_space_for("support")) == {"restricted", "masked"}
    check_config(_config(sparse_train={"window_space": "support"}, spectra={"space": "masked"}))
    with pytest.raises(ConfigError, match=r"sparse_train.window_space.*spectra.space"):
        check_config(_config(spectra={"space": "restricted"}))
    with pytest.raises(ConfigError, match=r"spectra\.space"):
        check_config(_config(sparse_train={"window_space": "support"}, spectra={"space": "dense"}))


def test_the_linearized_windows_use_the_spectra_batchnorm_mode():
    with pytest.raises(ConfigError, match=r"linearized.bn_mode.*spectra.bn_mode"):
        check_config(_config(linearized={"bn_mode": "eval"}))
    check_config(_config(linearized={"bn_mode": "eval"}, spectra={"bn_mode": "eval"}))


def test_an_inconsistent_pair_stops_the_workflow_before_any_job(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("spectra:\n  space: restricted\n")
    result = subprocess.run(
        [SNAKEMAKE, "-n", "--cores", "1", "--configfile", "config/smoke.yaml", str(bad)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert "sparse_train.window_space" in out and "spectra.space" in out
    assert "Job stats" not in out
