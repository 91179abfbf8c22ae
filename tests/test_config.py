"""Cross-key configuration checks (qtrain.run.config): unit tests and the CLI failing early."""

from __future__ import annotations

import os
import subprocess

import pytest
from workflow_helpers import REPO, SNAKEMAKE

from qtrain.run.config import (
    ConfigError,
    check_config,
    hessian_space_for,
    kept_fraction,
    merge_config,
    spectrum_points,
    spectrum_variant,
)
from qtrain.run.config_files import read_merged_config


def _preset(name: str) -> dict:
    """A preset in full: config/config.yaml, with config/<name>.yaml merged over it."""
    files = ["config.yaml"] + ([] if name == "paper" else [f"{name}.yaml"])
    return read_merged_config(*(REPO / "config" / f for f in files))


def _config(**sections):
    return merge_config(_preset("smoke"), sections)


@pytest.mark.parametrize("preset", ["paper", "smoke"])
def test_presets_pass(preset):
    check_config(_preset(preset))


def test_spectra_before_the_first_download_are_computed_once():
    cfg = _config(
        sparse_train={
            "variants": ["continuous", "sparse", "qram"],
            "steps": 60,
            "window_steps": 20,
            "checkpoint_every": 10,
        },
        spectra={"every": 1},
    )
    before = [("continuous", 0), ("continuous", 10)]  # one model in every variant
    after = [(v, s) for v in ("continuous", "sparse", "qram") for s in (20, 30, 40, 50, 60)]
    assert spectrum_points(cfg) == before + after
    assert len(spectrum_points(cfg)) == 2 + 3 * 5
    assert spectrum_variant(cfg, "qram", 10) == "continuous"
    assert spectrum_variant(cfg, "qram", 20) == "qram"  # the first download closes step 20
    every_other = merge_config(cfg, {"spectra": {"every": 2}})
    assert [s for v, s in spectrum_points(every_other) if v == "sparse"] == [20, 40, 60]


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


def test_training_checks_name_their_keys():
    check_config(_config(data={"dataset": "cifar100", "crop_padding": 31}))
    with pytest.raises(ConfigError, match=r"data\.crop_padding"):
        check_config(_config(data={"dataset": "cifar100", "crop_padding": 32}))
    with pytest.raises(ConfigError, match=r"sparse_train\.checkpoint_every.*sparse_train\.steps"):
        check_config(_config(sparse_train={"checkpoint_every": 61}))
    check_config(_config(pretrain={"batch_size": 1437}))
    with pytest.raises(ConfigError, match=r"pretrain\.batch_size = 1438"):
        check_config(_config(pretrain={"batch_size": 1438}))


def test_linearized_window_checks_name_their_keys():
    with pytest.raises(ConfigError, match=r"linearized\.variant = qram.*sparse_train\.variants"):
        check_config(
            _config(
                sparse_train={"variants": ["continuous", "sparse"]}, linearized={"variant": "qram"}
            )
        )
    with pytest.raises(ConfigError, match=r"sparse_train\.momentum = 0"):
        check_config(_config(sparse_train={"momentum": 0.9}))
    check_config(_config(sparse_train={"momentum": 0.9}, linearized={"windows": []}))
    with pytest.raises(ConfigError, match=r"window 3 starts at step 60"):
        check_config(_config(linearized={"windows": [3]}))
    with pytest.raises(ConfigError, match=r"window 1 starts at step 20.*every 15 steps"):
        check_config(_config(sparse_train={"checkpoint_every": 15}))


def test_the_multiplier_convention_comes_first():
    check_config(_config(spectra={"conventions": ["multiplier"]}))
    with pytest.raises(ConfigError, match=r"spectra\.conventions = \['eigenvalue', 'multiplier'\]"):
        check_config(_config(spectra={"conventions": ["eigenvalue", "multiplier"]}))
    with pytest.raises(ConfigError, match=r"must start with 'multiplier'"):
        check_config(_config(spectra={"conventions": ["lr_scaled"]}))


def test_quantum_checks_run_with_the_rest():
    with pytest.raises(ConfigError, match=r"quantum\.resources\.n_min"):
        check_config(_config(quantum={"resources": {"n_min": 1e12, "n_max": 1e3}}))
    with pytest.raises(ConfigError, match=r"error_share_.*must sum to 1, got 1\.35"):
        check_config(_config(quantum={"resources": {"error_share_tomography": 0.75}}))
    with pytest.raises(ConfigError, match=r"total_steps must be at least"):
        check_config(_config(quantum={"resources": {"total_steps": 50}}))
    systems = [{"kind": "dissipative", "n": 4, "degree": 2, "order": 3, "steps": 31}]
    with pytest.raises(ConfigError, match=r"quantum\.hhl\.systems\[0\]"):
        check_config(_config(quantum={"hhl": {"systems": systems}}))


def test_merge_config_merges_sections_and_replaces_lists():
    base = {"a": 1, "s": {"x": 1, "y": [1, 2], "t": {"u": 1}}}
    merged = merge_config(base, {"s": {"y": [3], "t": {"v": 2}}}, {"a": 2})
    assert merged == {"a": 2, "s": {"x": 1, "y": [3], "t": {"u": 1, "v": 2}}}
    assert base == {"a": 1, "s": {"x": 1, "y": [1, 2], "t": {"u": 1}}}  # not modified


@pytest.mark.parametrize("overlay", ["smoke", "rehearsal"])
def test_a_preset_file_lists_only_what_differs_from_the_paper_preset(overlay):
    paper = _preset("paper")
    listed = read_merged_config(REPO / f"config/{overlay}.yaml")

    def same(node, ref, path=""):
        for key, value in node.items():
            where = f"{path}{key}"
            assert key in ref, f"{where} is not a key of config/config.yaml"
            if isinstance(value, dict):
                yield from same(value, ref[key], where + ".")
            elif value == ref[key]:
                yield where

    restated = list(same(listed, paper))
    assert not restated, f"config/{overlay}.yaml restates the paper preset at {restated}"


def test_the_tiny_preset_is_its_own_file_and_decides_every_key_smoke_shrinks():
    """The tests' preset (.test/config/tiny.yaml merged over config/config.yaml, never over
    smoke) is valid, and lists each key the smoke preset changes: a key added to smoke (where
    the paper's value is too large to run) must get the tests' own value there too."""
    from snakemake.utils import validate

    tiny_file = REPO / ".test/config/tiny.yaml"
    tiny = read_merged_config(tiny_file)
    assert tiny["preset"] == "tiny"
    full = read_merged_config(REPO / "config/config.yaml", tiny_file)
    validate(full, str(REPO / "workflow/schemas/config.schema.yaml"))  # as the Snakefile does
    check_config(full)
    smoke = read_merged_config(REPO / "config/smoke.yaml")

    def keys(node, path=""):
        for key, value in node.items():
            if isinstance(value, dict):
                yield from keys(value, f"{path}{key}.")
            else:
                yield f"{path}{key}"

    missing = sorted(set(keys(smoke)) - set(keys(tiny)) - {"preset"})
    assert not missing, (
        f"keys of config/smoke.yaml without a value in .test/config/tiny.yaml: {missing}"
    )


def test_the_kept_share_is_one_value_across_its_three_keys():
    assert kept_fraction(_config()) == 0.1
    same = {"keep_fraction": 0.2}
    check_config(
        _config(prune=same, sparse_train=same, quantum={"resources": {"support_fraction": 0.2}})
    )
    keys = (
        r"prune\.keep_fraction = 0\.2, sparse_train\.keep_fraction = 0\.1, "
        r"quantum\.resources\.support_fraction = 0\.1 must be equal"
    )
    with pytest.raises(ConfigError, match=keys):
        check_config(_config(prune=same))
    with pytest.raises(ConfigError, match=r"quantum\.resources\.support_fraction = 0\.05"):
        check_config(_config(quantum={"resources": {"support_fraction": 0.05}}))
