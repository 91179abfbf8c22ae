from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pandas as pd
import pytest
import torch

from qtrain.run.checkpoints import load_checkpoint, save_checkpoint
from qtrain.run.files import (
    CheckpointMismatchError,
    UnreadableFileError,
    atomic_write,
    load_arrays,
    load_table,
    read_json,
    write_html_table,
    write_table,
)
from qtrain.run.provenance import config_digest, provenance_path, write_provenance
from qtrain.run.resume import load_resume_state, remove_resume_state, resume_key, resume_key_change


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

    from qtrain.run.provenance import git_commit

    repo = Path(__file__).resolve().parents[1]
    expected = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True
    ).stdout.strip()
    if not expected:
        pytest.skip("not a git checkout")
    monkeypatch.chdir(tmp_path)  # not a repository
    assert git_commit().split("+")[0] == expected
    assert git_commit(tmp_path) is None


# --- file modes: as the umask allows -----------------------------------------------------------

_WRITE_EVERY_KIND = """
import sys
import pandas as pd, torch
from qtrain.run.checkpoints import save_checkpoint
from qtrain.run.files import write_html_table, write_json, write_table
out = sys.argv[1]
write_table(pd.DataFrame({"a": [1]}), f"{out}/t.csv")
write_json({"a": 1}, f"{out}/r.json")
write_html_table(pd.DataFrame({"a": [1]}), f"{out}/t.html", "t")
save_checkpoint({"x": torch.ones(1)}, f"{out}/c.pt", {"a": 1})
"""


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_written_files_get_the_mode_the_umask_allows(tmp_path, umask, mode):
    """atomic_write's temporary file (mkstemp: 0600) gets 0666 less the umask before the rename,
    so tables and checkpoints on a shared machine are as readable as any file the user makes."""
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", _WRITE_EVERY_KIND, str(tmp_path)],
        preexec_fn=lambda: os.umask(umask),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    modes = {p.name: p.stat().st_mode & 0o777 for p in tmp_path.iterdir()}
    assert modes == dict.fromkeys(["t.csv", "r.json", "t.html", "c.pt"], mode)


# --- one loader: damaged files are named, with what to do --------------------------------------


def test_truncated_checkpoint_is_named_with_what_to_do(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = Path("results/x/prune/model.pt")
    save_checkpoint({"model": {"w": torch.ones(100)}}, path, {"a": 1})
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(UnreadableFileError) as caught:
        load_checkpoint(path)
    message = str(caught.value)
    assert message.startswith(
        "results/x/prune/model.pt is not a readable checkpoint (truncated or corrupt: "
    )
    assert "PytorchStreamReader" in message or "Error" in message
    assert message.endswith(
        "; delete it and run the workflow again, which makes it anew (or: snakemake --forcerun "
        "results/x/prune/model.pt with this run's --configfile and options)"
    )
    assert caught.value.path == path
    # where Snakemake recorded which rule made the file, the message names that rule
    _snakemake_record(path, {"rule": "prune"})
    with pytest.raises(UnreadableFileError, match=r"delete it and rerun the rule `prune` that "):
        load_checkpoint(path)
    with pytest.raises(FileNotFoundError, match=r"checkpoint not found: \S+missing.pt; run the"):
        load_checkpoint(tmp_path / "missing.pt")


def _snakemake_record(path: Path, record: dict) -> None:
    """A record as Snakemake 9 keeps it: .snakemake/metadata/<urlsafe base64 of the path>."""
    from base64 import urlsafe_b64encode

    folder = Path(".snakemake/metadata")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / urlsafe_b64encode(str(path).encode()).decode()).write_text(json.dumps(record))


def test_a_file_that_is_not_a_checkpoint_is_named(tmp_path):
    path = tmp_path / "list.pt"
    torch.save([1, 2], path)
    with pytest.raises(UnreadableFileError, match=r"list.pt is not a checkpoint of this workflow"):
        load_checkpoint(path)
    path.write_bytes(b"")
    with pytest.raises(UnreadableFileError, match=r"list.pt is not a readable checkpoint"):
        load_checkpoint(path)


def test_damaged_tables_arrays_and_records_are_named(tmp_path):
    import numpy as np

    empty, binary, npz, record = (tmp_path / n for n in ("e.csv", "b.csv", "a.npz", "r.json"))
    empty.write_text("")
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00\x00")
    with pytest.raises(UnreadableFileError, match=r"e.csv is not a readable CSV table \(trunc"):
        load_table(empty)
    assert load_table(empty, empty_ok=True).empty
    with pytest.raises(UnreadableFileError, match=r"b.csv is not a readable CSV table"):
        load_table(binary)
    assert load_table(tmp_path / "e.csv", empty_ok=True).shape == (0, 0)

    np.savez(npz, alpha=np.arange(3.0))
    assert load_arrays(npz, keys=["alpha"])["alpha"].tolist() == [0.0, 1.0, 2.0]
    with pytest.raises(UnreadableFileError, match=r"a.npz is not the array file this step exp"):
        load_arrays(npz, keys=["alpha", "beta"])
    npz.write_bytes(npz.read_bytes()[:40])
    with pytest.raises(UnreadableFileError, match=r"a.npz is not a readable array file"):
        load_arrays(npz)

    record.write_text('{"a": 1,')
    with pytest.raises(UnreadableFileError, match=r"r.json is not a readable JSON record"):
        read_json(record)


# --- resume state: bound to the config and to the content of the inputs ------------------------


def test_resume_key_follows_the_content_of_the_inputs(tmp_path):
    a, b = tmp_path / "a.pt", tmp_path / "b.csv"
    a.write_bytes(b"weights")
    b.write_text("x\n1\n")
    key = resume_key({"lr": 0.1}, {"model": str(a), "tables": [str(b)]})
    assert key == resume_key({"lr": 0.1}, [b, a])  # names, order and types do not matter
    assert sorted(key["inputs"]) == sorted([str(a), str(b)])
    a.write_bytes(b"weightz")  # same size: the content counts, not the size
    changed = resume_key({"lr": 0.1}, [a, b])
    assert changed["inputs"][str(a)] != key["inputs"][str(a)]
    assert resume_key_change(key, changed) == (
        f"inputs changed since this resume state was written ({a})"
    )
    assert resume_key_change(key, resume_key({"lr": 0.2}, [a, b])) == (
        f"config and inputs changed since this resume state was written ({a})"
    )
    assert resume_key_change(changed, changed) is None


def test_resume_state_is_used_only_under_its_key(tmp_path, caplog):
    import logging

    data = tmp_path / "data.npz"
    data.write_bytes(b"one")
    path = tmp_path / "last.pt"
    key = resume_key({"lr": 0.1}, [data])
    save_checkpoint({"step": 7}, path, {"lr": 0.1}, resume_key=key)
    assert load_resume_state(path, key)["step"] == 7
    assert load_resume_state(tmp_path / "none.pt", key) is None

    caplog.set_level(logging.WARNING)
    data.write_bytes(b"two")  # the same config, another input: never resumed
    assert load_resume_state(path, resume_key({"lr": 0.1}, [data])) is None
    assert not path.exists()
    assert (
        f"{path}: inputs changed since this resume state was written: starting over (changed: "
        f"{data}; the stale state is deleted)" in caplog.text
    )

    save_checkpoint({"step": 7}, path, {"lr": 0.1}, resume_key=key)
    assert load_resume_state(path, resume_key({"lr": 0.5}, [data])) is None
    assert "config and inputs changed since this resume state was written" in caplog.text

    save_checkpoint({"step": 7}, path, {"lr": 0.1})  # an older version's file: no key
    assert load_resume_state(path, key) is None
    assert "has no record of its inputs" in caplog.text


def test_corrupt_resume_state_is_set_aside(tmp_path, caplog):
    import logging

    caplog.set_level(logging.WARNING)
    path = tmp_path / "last.pt"
    path.write_bytes(b"PK\x03\x04 truncated")
    assert load_resume_state(path, resume_key({})) is None
    assert not path.exists()
    assert (tmp_path / "last.pt.corrupt").read_bytes() == b"PK\x03\x04 truncated"
    assert re.search(
        rf"resume state {re.escape(str(path))} is unreadable \(truncated or corrupt: .+\): set "
        rf"aside as {re.escape(str(path))}.corrupt; starting over",
        caplog.text,
    )


def test_remove_resume_state_removes_files_folders_and_their_empty_folder(tmp_path):
    state = tmp_path / "checkpoints"
    (state / "resume").mkdir(parents=True)
    (state / "resume" / "step_00000.pt").write_bytes(b"x")
    (state / "last.pt").write_bytes(b"x")
    removed = remove_resume_state(state / "last.pt", state / "resume", state / "missing.pt")
    assert removed == [state / "last.pt", state / "resume"]
    assert not state.exists()  # left empty, so removed too
    kept = tmp_path / "partial"
    (kept / "step_1").mkdir(parents=True)
    (kept / "step_2").mkdir()
    remove_resume_state(kept / "step_1")
    assert sorted(p.name for p in kept.iterdir()) == ["step_2"]  # another job's state stays


# --- provenance kept with its result ------------------------------------------------------------

_JOB = """
import sys
from types import SimpleNamespace
from qtrain.run.job import setup_logging
from qtrain.run.provenance import write_provenance
out = sys.argv[1]
job = SimpleNamespace(output=[f"{out}/a.csv", f"{out}/b.csv"], rule="r", wildcards={})
setup_logging(f"{out}/job.log", job=job)
print("started", flush=True)
open(f"{out}/a.csv", "w").write("x\\n")
write_provenance(f"{out}/a.csv", {"x": 1})
if sys.argv[2] == "fail":
    raise RuntimeError("failed after writing a.csv")
"""


@pytest.mark.parametrize("outcome", ["fail", "succeed"])
def test_provenance_never_outlives_its_result(tmp_path, outcome):
    """A job's start removes stale provenance records of its declared outputs; a failing job
    removes those it wrote (Snakemake then removes the outputs)."""
    import subprocess
    import sys

    stale = provenance_path(tmp_path / "b.csv")
    stale.write_text("{}")
    result = subprocess.run(
        [sys.executable, "-c", _JOB, str(tmp_path), outcome], capture_output=True, text=True
    )
    assert result.stdout == "started\n"
    assert not stale.exists()
    if outcome == "fail":
        assert result.returncode == 1
        assert not provenance_path(tmp_path / "a.csv").exists()
        assert "failed after writing a.csv" in (tmp_path / "job.log").read_text()
    else:
        assert result.returncode == 0, result.stderr
        assert read_json(provenance_path(tmp_path / "a.csv"))["config"] == {"x": 1}


def test_html_table_escapes_cells_and_sets_columns_in_bold(tmp_path):
    frame = pd.DataFrame({"id": ["C1", "C2"], "value": ["a < b", None], "verdict": ["holds", "x"]})
    write_html_table(frame, tmp_path / "t.html", "Claims & more", "a note", bold=("verdict",))
    page = (tmp_path / "t.html").read_text()
    assert "<title>Claims &amp; more</title>" in page and "<p>a note</p>" in page
    assert "<td>a &lt; b</td>" in page and "<td><b>holds</b></td>" in page
    assert page.count("</tr>") == 3 and "<td></td>" in page  # a missing value: an empty cell
