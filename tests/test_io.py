from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch

from qtrain.io import (
    CheckpointMismatchError,
    atomic_write,
    config_digest,
    load_checkpoint,
    provenance_path,
    read_json,
    save_checkpoint,
    write_provenance,
    write_table,
)


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_write(target) as handle:
        handle.write("partial")
        raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]


def test_atomic_write_replaces_on_success(tmp_path):
    target = tmp_path / "sub" / "out.csv"
    write_table(pd.DataFrame({"a": [1, 2]}), target)
    assert pd.read_csv(target)["a"].tolist() == [1, 2]


def test_config_digest_is_order_independent():
    assert config_digest({"a": 1, "b": {"c": 2}}) == config_digest({"b": {"c": 2}, "a": 1})
    assert config_digest({"a": 1}) != config_digest({"a": 2})


def test_checkpoint_refuses_other_config(tmp_path):
    path = tmp_path / "ck.pt"
    save_checkpoint({"x": torch.ones(2)}, path, {"lr": 0.1})
    assert torch.equal(load_checkpoint(path, {"lr": 0.1})["x"], torch.ones(2))
    with pytest.raises(CheckpointMismatchError, match=r"digest"):
        load_checkpoint(path, {"lr": 0.2})
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "missing.pt")


def test_provenance_record(tmp_path):
    result = tmp_path / "table.csv"
    result.write_text("a\n1\n")
    path = write_provenance(result, {"seed": 3}, wall_seconds=1.5)
    assert path == provenance_path(result) == tmp_path / "table.csv.provenance.json"
    record = read_json(path)
    assert record["config"] == {"seed": 3}
    assert record["config_digest"] == config_digest({"seed": 3})
    assert record["packages"]["torch"] == torch.__version__.split("+")[0] or record["packages"][
        "torch"
    ].startswith(torch.__version__.split("+")[0])
    assert record["device"].startswith("cpu")
    assert record["wall_seconds"] == 1.5
    assert "git_commit" in record and "created" in record
    json.dumps(record)


def test_git_commit_is_the_code_s_commit_from_any_working_directory(tmp_path, monkeypatch):
    import subprocess

    from qtrain.io import git_commit

    repo = Path(__file__).resolve().parents[1]
    expected = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True
    ).stdout.strip()
    if not expected:
        pytest.skip("not a git checkout")
    monkeypatch.chdir(tmp_path)  # not a repository
    assert git_commit().split("+")[0] == expected
    assert git_commit(tmp_path) is None
