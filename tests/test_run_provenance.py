"""Results never outlive their config or content (issue 24, item 2), in units: provenance
records stamped with params and content hash, compared before any job (qtrain.run.startup)
and by the readers (qtrain.run.files)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

from qtrain.run.checkpoints import load_checkpoint, save_checkpoint
from qtrain.run.files import EditedFileError, load_arrays, load_table, write_table
from qtrain.run.provenance import (
    content_change,
    normalise,
    params_changes,
    provenance_path,
    read_record,
    stamp_outputs,
    write_provenance,
)
from qtrain.run.startup import edited_message, review_jobs, stale_message


def test_stamp_outputs_records_rule_params_and_content(tmp_path):
    table, extra, missing = tmp_path / "t.csv", tmp_path / "u.csv", tmp_path / "gone.csv"
    write_table(pd.DataFrame({"kept": [7643]}), table)
    write_provenance(table, {"prune": {"keep_fraction": 0.1}})
    extra.write_text("x\n1\n")  # an output the script gave no record
    params = {"keep_fraction": 0.1, "data": {"dataset": "digits"}, "steps": (0, 10)}
    written = stamp_outputs([table, extra, missing], "prune", {"seed": "0"}, params)
    assert written == [provenance_path(table), provenance_path(extra)]
    record = read_record(table)
    assert record["config"] == {"prune": {"keep_fraction": 0.1}}  # the script's record kept
    assert record["rule"] == "prune" and record["wildcards"] == {"seed": "0"}
    assert record["params"] == {
        "keep_fraction": 0.1,
        "data": {"dataset": "digits"},
        "steps": [0, 10],
    }
    assert record["content"] == {
        "sha256": hashlib.sha256(table.read_bytes()).hexdigest(),
        "bytes": table.stat().st_size,
    }
    assert read_record(extra)["rule"] == "prune" and "git_commit" in read_record(extra)
    assert not provenance_path(missing).exists()


def test_params_changes_name_each_key_with_old_and_new_values():
    old = {"sparse_train": {"lr": 0.02, "steps": 30}, "seed": 0, "gone": 1}
    new = {"sparse_train": {"lr": 0.04, "steps": 30}, "seed": 0, "added": [1]}
    assert params_changes(old, new) == [
        ("added", "(absent)", [1]),
        ("gone", 1, "(absent)"),
        ("sparse_train.lr", 0.02, 0.04),
    ]
    assert params_changes(old, json.loads(json.dumps(old))) == []
    nan = {"x": [float("nan"), {"y": float("inf")}]}  # JSON keeps them; NaN equals NaN here
    assert params_changes(normalise(nan), normalise(nan)) == []
    assert normalise({"a": (1, 2), "p": Path("x")}) == {"a": [1, 2], "p": "x"}


def test_content_change_compares_size_always_and_the_hash_up_to_the_eager_size(tmp_path):
    path = tmp_path / "sparsity.csv"
    path.write_text("parameter,kept\ntotal,7643\n")
    record = {"content": {"sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "bytes": 26}}
    assert content_change(path, record) is None
    path.write_text("parameter,kept\ntotal,9000\n")  # same size, other content
    assert content_change(path, record).startswith("sha256 ")
    assert content_change(path, record, eager_bytes=10) is None  # big: left to the reader
    path.write_text("parameter,kept\ntotal,90000\n")
    assert content_change(path, record, eager_bytes=10) == "27 B now, 26 B when written"
    assert content_change(path, {"config": {}}) is None  # no content recorded: not compared


def _stamped(path: Path, rule: str, params: dict) -> None:
    stamp_outputs([path], rule, {}, params)


def test_readers_refuse_a_file_changed_after_its_rule_wrote_it(tmp_path):
    """The readers hash the file in full (a checkpoint bigger than the eager size is compared
    only by size before the run): an edit with the same size is named before use."""
    table, arrays, model = tmp_path / "t.csv", tmp_path / "a.npz", tmp_path / "m.pt"
    write_table(pd.DataFrame({"kept": [7643]}), table)
    np.savez(arrays, x=np.arange(4.0))
    save_checkpoint({"model": {"w": torch.ones(4)}}, model, {"c": 1})
    for path, rule in ((table, "prune"), (arrays, "prepare_data"), (model, "pretrain")):
        _stamped(path, rule, {})
    assert load_table(table)["kept"].tolist() == [7643]
    load_arrays(arrays)
    load_checkpoint(model)

    table.write_text(table.read_text().replace("7643", "9000"))
    data = bytearray(arrays.read_bytes())
    data[-30] ^= 1
    arrays.write_bytes(bytes(data))
    state = torch.load(model, weights_only=True)
    state["model"]["w"] *= 3
    torch.save(state, model)
    for path, rule, load in (
        (table, "prune", load_table),
        (arrays, "prepare_data", load_arrays),
        (model, "pretrain", load_checkpoint),
    ):
        with pytest.raises(EditedFileError) as caught:
            load(path)
        message = str(caught.value)
        assert message.startswith(f"{path} was changed after rule `{rule}` wrote it (")
        assert f"Delete it and rerun the rule `{rule}` that makes it" in message


class FakeRule(SimpleNamespace):
    def __hash__(self):
        return id(self)


class FakeJob(SimpleNamespace):
    """What review_jobs uses of a Snakemake job."""

    def __hash__(self):
        return id(self)


def _job(rule: str, outputs: list[Path], params: dict, **wildcards) -> FakeJob:
    return FakeJob(
        rule=FakeRule(name=rule),
        output=[str(p) for p in outputs],
        params=SimpleNamespace(items=lambda: params.items()),
        wildcards_dict=wildcards,
    )


def test_review_finds_results_made_with_other_params_and_edited_results(tmp_path):
    records = tmp_path / "records.csv"
    downloads = tmp_path / "downloads.csv"
    sparsity = tmp_path / "sparsity.csv"
    unstamped = tmp_path / "old.csv"
    for path in (records, downloads, sparsity, unstamped):
        path.write_text("parameter,kept\ntotal,7643\n")
    old = {"sparse_train": {"lr": 0.02}, "seed": 0}
    stamp_outputs([records, downloads], "sparse_train", {"variant": "sparse"}, old)
    stamp_outputs([sparsity], "prune", {}, {"keep_fraction": 0.1})
    write_provenance(unstamped, {"x": 1})  # a record of an older version: not compared
    train = _job(
        "sparse_train",
        [records, downloads],
        {**old, "sparse_train": {"lr": 0.04}},
        seed="0",
        variant="sparse",
    )
    prune = _job("prune", [sparsity], {"keep_fraction": 0.1}, seed="0")
    other = _job("other", [unstamped], {"x": 2})
    missing = _job("sparse_train", [records, tmp_path / "missing.csv"], {"changed": True})

    found = review_jobs([train, prune, other, missing])
    assert found.compared == 3 and not found.edited
    assert [(f.output, f.changes) for f in found.stale] == [
        (str(records), [("sparse_train.lr", 0.02, 0.04)]),
        (str(downloads), [("sparse_train.lr", 0.02, 0.04)]),
    ]
    assert stale_message(found.stale) == [
        f"rule sparse_train (seed=0, variant=sparse): {records} and 1 more were made with "
        "other settings (sparse_train.lr: 0.02 -> 0.04); they are made again, as with "
        "--forcerun"
    ]
    assert not review_jobs([train], forced=lambda job: job is train).stale

    sparsity.write_text("parameter,kept\ntotal,9000\n")  # a hand edit, same size
    found = review_jobs([prune])
    assert [f.output for f in found.edited] == [str(sparsity)]
    message = edited_message(found.edited)
    assert message.startswith(
        "results changed after their rule wrote them (their content no longer matches the "
        f"sha256 in their provenance record):\n  {sparsity} (made by rule prune (seed=0); "
        "sha256 "
    )
    assert message.endswith(
        "Nothing was run, so that no claim or figure reads them. Put the originals back, or "
        "delete them (the workflow makes them again), or make them again with: snakemake "
        "--forcerun prune (with this run's --configfile and options)."
    )
    assert not review_jobs([prune], forced=lambda job: True).edited


def test_review_of_a_big_file_compares_its_size_only(tmp_path):
    big = tmp_path / "model.pt"
    big.write_bytes(b"\0" * 2000)
    stamp_outputs([big], "pretrain", {}, {})
    big.write_bytes(b"\1" * 2000)
    job = _job("pretrain", [big], {})
    assert not review_jobs([job], eager_bytes=1000).edited  # left to the reader
    assert review_jobs([job], eager_bytes=4000).edited
    big.write_bytes(b"\1" * 1999)
    assert review_jobs([job], eager_bytes=1000).edited
