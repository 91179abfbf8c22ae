"""Config values given as strings where the schema wants numbers (issue 24, item 3): Snakemake's
nested ``--config`` values and PyYAML's ``1e-2`` are strings; qtrain.run.config.coerce_config_types
turns them into numbers before validation, or refuses them naming the key and how to write it."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml
from workflow_helpers import REPO, SNAKEMAKE

from qtrain.run.config import ConfigError, coerce_config_types
from qtrain.run.config_files import load_schema

SCHEMA = load_schema(REPO / "workflow/schemas/config.schema.yaml")

# A small schema written out by hand: the oracle of the unit tests below.
MINI = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "rate": {"type": "number"},
        "steps": {"type": "integer"},
        "flag": {"type": "boolean"},
        "either": {"type": ["number", "string"]},
        "maybe": {"type": ["integer", "null"]},
        "section": {
            "type": "object",
            "properties": {
                "sizes": {"type": "array", "items": {"type": "integer"}},
                "deeper": {"type": "object", "properties": {"eps": {"type": "number"}}},
            },
        },
    },
}


def test_the_strings_this_exists_for():
    """The two sources of number-like strings, as they are (the facts the function answers)."""
    from snakemake.cli import parse_config

    assert yaml.safe_load("lr: 1e-2") == {"lr": "1e-2"}  # YAML 1.1: no dot, no float
    assert yaml.safe_load("lr: 1.0e-2") == {"lr": 0.01}
    assert parse_config(["prune={keep_fraction: 0.2}"]) == {"prune": {"keep_fraction": "0.2"}}
    assert parse_config(["seed=3"]) == {"seed": 3}  # top-level values are parsed as numbers


def test_number_strings_become_numbers_where_the_schema_wants_them():
    cfg = {
        "name": "007",
        "rate": "1e-2",
        "steps": "1e3",
        "flag": "false",
        "either": "0.5",
        "maybe": "null",
        "section": {"sizes": ["1", " 2 ", 3], "deeper": {"eps": "-2.5E-3"}},
    }
    changed = coerce_config_types(cfg, MINI)
    assert cfg == {
        "name": "007",  # a string where the schema allows one stays a string
        "rate": 0.01,
        "steps": 1000,
        "flag": False,
        "either": "0.5",
        "maybe": None,
        "section": {"sizes": [1, 2, 3], "deeper": {"eps": -0.0025}},
    }
    assert type(cfg["steps"]) is int and type(cfg["rate"]) is float
    assert sorted(changed) == sorted(
        [
            "rate",
            "steps",
            "flag",
            "maybe",
            "section.sizes[0]",
            "section.sizes[1]",
            "section.deeper.eps",
        ]
    )


def test_whole_number_strings_stay_integers_under_number():
    cfg = {"rate": "3", "steps": "12"}
    coerce_config_types(cfg, MINI)
    assert cfg == {"rate": 3, "steps": 12} and type(cfg["rate"]) is int


def test_numbers_and_unknown_keys_are_left_alone():
    cfg = {"rate": 0.1, "steps": 4, "flag": True, "unknown": "1.5", "section": {"other": "2"}}
    before = json.loads(json.dumps(cfg))
    assert coerce_config_types(cfg, MINI) == []
    assert cfg == before  # unknown keys are the validator's (additionalProperties: false)


@pytest.mark.parametrize(
    ("cfg", "key", "advice"),
    [
        ({"rate": "abc"}, "config key rate = 'abc' is not a number", "--config rate=0.01"),
        ({"rate": "nan"}, "config key rate = 'nan' is not a number", "must be finite"),
        ({"rate": "inf"}, "config key rate = 'inf' is not a number", "must be finite"),
        ({"steps": "2.5"}, "config key steps = '2.5' is not an integer", "`steps: 100`"),
        (
            {"section": {"deeper": {"eps": "1e-2x"}}},
            "config key section.deeper.eps = '1e-2x' is not a number",
            "--config 'section={deeper: {eps: 0.01}}'",
        ),
        (
            {"section": {"sizes": ["1", "two"]}},
            "config key section.sizes[1] = 'two' is not an integer",
            "`sizes: [100]`",
        ),
    ],
)
def test_a_string_that_is_no_number_is_refused_naming_the_key(cfg, key, advice):
    with pytest.raises(ConfigError) as error:
        coerce_config_types(cfg, MINI)
    assert key in str(error.value) and advice in str(error.value), str(error.value)


def test_a_non_boolean_string_is_left_for_the_validator():
    cfg = {"flag": "maybe"}
    assert coerce_config_types(cfg, MINI) == [] and cfg == {"flag": "maybe"}


def test_the_workflow_schema_keys_that_the_examples_use():
    """The real schema: the issue's two cases become the numbers they spell."""
    cfg = {"prune": {"keep_fraction": "0.2"}, "sparse_train": {"lr": "1e-2"}, "seed": 1}
    assert sorted(coerce_config_types(cfg, SCHEMA)) == ["prune.keep_fraction", "sparse_train.lr"]
    assert cfg == {"prune": {"keep_fraction": 0.2}, "sparse_train": {"lr": 0.01}, "seed": 1}


def _snakemake(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.run(
        [SNAKEMAKE, *args], cwd=cwd, capture_output=True, text=True, timeout=600, env=env
    )


def test_nested_config_override_passes_a_dry_run():
    result = _snakemake(
        "-n", "--cores", "1", "--configfile", "config/smoke.yaml",
        "--config", "spectra={cutoff: 0.5}", "sparse_train={lr: 1e-2, steps: 60}",
    )  # fmt: skip
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    assert "is not of type" not in out


def test_yaml_float_without_a_dot_passes_a_dry_run(tmp_path):
    mine = tmp_path / "mine.yaml"
    mine.write_text("sparse_train:\n  lr: 1e-2\nprune:\n  keep_fraction: 1e-1\n")
    result = _snakemake("-n", "--cores", "1", "--configfile", "config/smoke.yaml", str(mine))
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]


@pytest.mark.parametrize("override", ["prune={keep_fraction: abc}", "sparse_train={steps: 2.5}"])
def test_a_non_number_override_fails_before_any_job_naming_the_key(override):
    result = _snakemake(
        "-n", "--cores", "1", "--configfile", "config/smoke.yaml", "--config", override
    )
    out = result.stdout + result.stderr
    section, rest = override.split("={")
    key = f"config key {section}.{rest.split(':')[0]}"
    assert result.returncode != 0
    assert key in out and "write a" in out, out[-3000:]
    assert "Job stats" not in out


def test_an_override_reaches_the_job_as_a_number(tmp_path):
    """One real (cheap) job: prepare_data of the digits with two nested overrides; the job's
    provenance records the values as JSON numbers and its subset has the asked size."""
    from workflow_helpers import make_workdir, run_snakemake

    workdir = make_workdir(tmp_path / "run")
    result = run_snakemake(
        workdir,
        "results/tiny/data/summary.json",
        "--cores", "1",
        "--config", "data={accuracy_subset: 150, test_fraction: 2.5e-1}",
    )  # fmt: skip
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    record = json.loads((workdir / "results/tiny/data/summary.json.provenance.json").read_text())
    data = record["config"]["data"]
    assert data["accuracy_subset"] == 150 and type(data["accuracy_subset"]) is int
    assert data["test_fraction"] == 0.25
    summary = json.loads((workdir / "results/tiny/data/summary.json").read_text())
    assert summary["accuracy_subset_size"] == 150
