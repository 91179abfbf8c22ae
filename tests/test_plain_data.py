"""Checkpoints are data (issue 24, item 1): every file the workflow writes and reads back holds
tensors, arrays and plain values, and is read without unpickling objects. A crafted file (every
real key kept, one extra object whose ``__reduce__`` would create a marker file) is refused with
a message naming the file and the rule that makes it, and the marker never appears."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from qtrain.run.checkpoints import load_checkpoint, plain_data, save_checkpoint, save_tensors
from qtrain.run.files import NotPlainDataError, UnreadableFileError, load_arrays
from qtrain.run.provenance import provenance_path
from qtrain.run.resume import Checkpointer, load_resume_state, resume_key

REPO = Path(__file__).resolve().parents[1]


class Payload:
    """Unpickling this object runs ``touch <marker>`` (a stand-in for any command)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def craft(path: Path, marker: Path) -> None:
    """Add the payload to the real checkpoint at ``path`` (every real key kept)."""
    state = torch.load(path, weights_only=True)
    state["extra"] = Payload(marker)
    torch.save(state, path)


def record_rule(path: Path, rule: str) -> None:
    """The provenance record of a workflow result, naming the rule that made it."""
    provenance_path(path).write_text(json.dumps({"rule": rule}))


def refused(message: str, path: Path, rule: str) -> bool:
    return (
        message.startswith(f"{path} is not plain data: it holds the Python object posix.system")
        and f"rerun the rule `{rule}` that makes it (snakemake --forcerun {rule}" in message
    )


def test_the_crafted_payload_runs_its_command_when_unpickled(tmp_path):
    """The oracle of the tests below: a loader that unpickles objects runs the payload."""
    marker, path = tmp_path / "marker", tmp_path / "model.pt"
    torch.save({"model": {"w": torch.ones(2)}, "extra": Payload(marker)}, path)
    torch.load(path, weights_only=False)
    assert marker.exists()


def _tiny_model_checkpoint(path: Path) -> None:
    from qtrain.learning.models import cifar_resnet, model_record

    save_checkpoint(model_record(cifar_resnet(8, 1, 10, 1), 1), path, {"stage": "x"})


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("pretrain/model.pt", "pretrain"),
        ("prune/model.pt", "prune"),
        ("large_model/pretrain/model.pt", "pretrain_large"),
        ("large_model/prune/model.pt", "prune_large"),
    ],
)
def test_a_crafted_model_checkpoint_is_refused_unread(tmp_path, name, rule):
    from qtrain.learning.models import load_model

    marker = tmp_path / "marker"
    path = tmp_path / "results/seed_0" / name
    path.parent.mkdir(parents=True)
    _tiny_model_checkpoint(path)
    load_model(path)  # the real file loads
    record_rule(path, rule)
    craft(path, marker)
    for load in (load_model, load_checkpoint):
        with pytest.raises(NotPlainDataError) as caught:
            load(path)
        assert refused(str(caught.value), path, rule), caught.value
    assert not marker.exists()


def test_crafted_masks_and_step_checkpoints_are_refused_unread(tmp_path):
    from qtrain.learning.hessian_spectra import load_training_point
    from qtrain.learning.models import cifar_resnet
    from qtrain.learning.pruning import PruningMasks, global_magnitude_masks

    marker = tmp_path / "marker"
    prune = tmp_path / "prune"
    prune.mkdir()
    model = cifar_resnet(8, 1, 10, 1)
    masks = global_magnitude_masks(model, 0.5)
    masks.save(prune / "masks.pt")
    _tiny_model_checkpoint(prune / "model.pt")
    step = tmp_path / "sparse_train/sparse/checkpoints/step_00010.pt"
    step.parent.mkdir(parents=True)
    save_checkpoint(
        {"model": model.state_dict(), "masks": masks.state_dict(), "step": 10, "variant": "s"},
        step,
        {"stage": "x"},
    )
    assert PruningMasks.load(prune / "masks.pt").kept == masks.kept
    assert load_training_point(prune / "model.pt", step).step == 10

    for path, rule in ((prune / "masks.pt", "prune"), (step, "sparse_train")):
        record_rule(path, rule)
        craft(path, marker)
    with pytest.raises(NotPlainDataError) as caught:
        PruningMasks.load(prune / "masks.pt")
    assert refused(str(caught.value), prune / "masks.pt", "prune")
    with pytest.raises(NotPlainDataError) as caught:
        load_training_point(prune / "model.pt", step)
    assert refused(str(caught.value), step, "sparse_train")
    assert not marker.exists()


def test_a_crafted_prepared_dataset_is_refused_unread(tmp_path):
    from qtrain.learning.data import load_dataset, load_synthetic, save_prepared

    cfg = {"dataset": "synthetic"}
    path = tmp_path / "data/dataset.pt"
    save_prepared(load_synthetic(train_size=8, test_size=4, seed=0), path, cfg, 0)
    assert len(load_dataset(cfg, 0, prepared=path).y_train) == 8
    marker = tmp_path / "marker"
    record_rule(path, "prepare_data")
    craft(path, marker)
    with pytest.raises(NotPlainDataError) as caught:
        load_dataset(cfg, 0, prepared=path)
    assert refused(str(caught.value), path, "prepare_data")
    assert not marker.exists()


def _object_npz(path: Path, marker: Path, **arrays) -> None:
    """An .npz whose extra array is a pickled object array holding the payload."""
    evil = np.empty(1, dtype=object)
    evil[0] = Payload(marker)
    np.savez(path, evil=evil, **arrays)


def test_a_crafted_array_file_is_refused_unread(tmp_path):
    marker, path = tmp_path / "marker", tmp_path / "subsets.npz"
    _object_npz(path, marker, accuracy_subset=np.arange(3), batchnorm_subset=np.arange(2))
    record_rule(path, "prepare_data")
    with pytest.raises(NotPlainDataError) as caught:
        load_arrays(path, keys=["accuracy_subset"])
    message = str(caught.value)
    assert message.startswith(f"{path} is not plain data: it holds a pickled object array")
    assert "rerun the rule `prepare_data` that makes it" in message
    assert not marker.exists()


def test_crafted_resume_state_is_set_aside_unread_and_the_job_starts_over(tmp_path, caplog):
    """Pretraining's checkpoint, `last.pt` and the kept step checkpoints: the key is read only
    from a file that loads as plain data; a crafted one is set aside, never unpickled."""
    import logging

    caplog.set_level(logging.WARNING)
    marker = tmp_path / "marker"
    key = resume_key({"lr": 0.1})
    for name in ("pretrain/checkpoints/0123abcd.pt", "last.pt", "resume/step_00010.pt"):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        save_checkpoint({"model": {"w": torch.ones(2)}, "step": 3}, path, {"lr": 0.1}, key)
        assert load_resume_state(path, key)["step"] == 3
        craft(path, marker)
        assert load_resume_state(path, key) is None
        assert not path.exists() and path.with_name(path.name + ".corrupt").exists()
        assert (
            f"resume state {path} is not plain data (it holds the Python object posix.system): "
            f"refused without loading it, set aside as {path}.corrupt (do not use it); "
            "starting over" in caplog.text
        )
    assert not marker.exists()


def test_pretraining_starts_over_from_a_crafted_checkpoint(tmp_path, caplog):
    """The resume path of a real job (pretrain): a crafted checkpoint with the right key is
    refused, training starts over from epoch 0, and the payload never runs."""
    import logging

    from qtrain.learning.data import load_synthetic
    from qtrain.learning.models import cifar_resnet
    from qtrain.learning.training import PretrainSettings, pretrain

    caplog.set_level(logging.INFO)
    data = load_synthetic(train_size=16, test_size=8, seed=0, image_size=8, num_classes=4)
    settings = PretrainSettings.from_config(
        {"epochs": 1, "batch_size": 8, "lr": 0.01, "momentum": 0.9, "weight_decay": 0.0},
        augment=False,
        crop_padding=0,
    )
    checkpoint = tmp_path / "checkpoints/abc.pt"
    config = {"stage": 1}

    def run():
        model = cifar_resnet(8, 1, data.num_classes, data.in_channels)
        return pretrain(
            model,
            data,
            settings,
            seed=0,
            accuracy_indices=np.arange(8),
            checkpointer=Checkpointer(checkpoint, config),
        )

    run()
    assert checkpoint.exists()
    marker = tmp_path / "marker"
    craft(checkpoint, marker)
    metrics = run()
    assert metrics.attrs["resumed_from_epoch"] == 0
    assert "is not plain data" in caplog.text and not marker.exists()


def test_a_crafted_lanczos_run_is_set_aside_unread(tmp_path, caplog):
    """The spectrum's stored Lanczos runs (`partial/`): an object array is never unpickled;
    the run is recomputed."""
    import logging

    from qtrain.spectra.lanczos import DensitySettings
    from qtrain.spectra.resumable import resumable_spectral_density

    caplog.set_level(logging.WARNING)
    matrix = torch.diag(torch.arange(1.0, 9.0, dtype=torch.float64))
    settings = DensitySettings(steps=4, bounds_steps=None, grid_points=8)
    options = dict(state_dir=tmp_path, operator_id="op")
    first = resumable_spectral_density(lambda v: matrix @ v, 8, settings, **options)
    probe = tmp_path / "probe_0.npz"
    with np.load(probe) as stored:
        arrays = {k: stored[k] for k in stored.files}
    marker = tmp_path / "marker"
    _object_npz(probe, marker, **arrays)
    again = resumable_spectral_density(lambda v: matrix @ v, 8, settings, **options)
    assert again.meta["resumed_runs"] == 0
    np.testing.assert_allclose(again.nodes, first.nodes)
    assert f"resume state {probe} is not plain data (it holds a pickled object array)" in (
        caplog.text
    )
    assert not marker.exists()


def test_checkpoints_hold_plain_data_only():
    """What is saved is what ``weights_only=True`` reads: NumPy scalars become numbers, string
    subclasses strings; an object is refused when saving, naming its key."""

    class Path2(str):
        pass

    record = plain_data(
        {"a": [np.float64(0.5), np.int64(3), np.bool_(True), Path2("x")], "t": (1, 2.0)}
    )
    assert record == {"a": [0.5, 3, True, "x"], "t": (1, 2.0)}
    assert [type(v) for v in record["a"]] == [float, int, bool, str]
    with pytest.raises(TypeError, match=r"checkpoint\['records'\]\[1\]\['when'\] is a "):
        plain_data({"records": [{}, {"when": object()}]})


def test_saved_checkpoints_load_with_weights_only(tmp_path):
    from collections import OrderedDict

    state = {
        "model": OrderedDict(w=torch.ones(2)),
        "records": [{"lr": np.float32(0.1), "loss": float("nan")}],
        "optimizer": torch.optim.SGD([torch.nn.Parameter(torch.ones(2))], lr=0.1).state_dict(),
    }
    save_tensors(state, tmp_path / "s.pt")
    loaded = torch.load(tmp_path / "s.pt", weights_only=True)
    assert isinstance(loaded["model"], OrderedDict)
    assert loaded["records"][0]["lr"] == pytest.approx(0.1)


def test_no_reader_outside_qtrain_run_files_unpickles():
    """Every torch.load, np.load and unpickling in the library and the workflow's scripts goes
    through qtrain.run.files / .checkpoints (weights_only=True, allow_pickle=False). Writing a
    pickle is not reading one: the synthetic CIFAR-100 archive must be pickles (the format), and
    its reader is torchvision's, behind the recorded md5 and sha256 (learning/data.py)."""
    pattern = re.compile(
        r"torch\.load\(|np\.load\(|numpy\.load\(|pickle\.loads?\(|Unpickler|cPickle"
    )
    offenders = []
    for path in [*(REPO / "src/qtrain").rglob("*.py"), *(REPO / "workflow/scripts").glob("*.py")]:
        if path.parent.name == "run" and path.name in ("files.py", "checkpoints.py"):
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if pattern.search(line):
                offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert not offenders, offenders
    for name in ("files.py", "checkpoints.py"):
        text = (REPO / "src/qtrain/run" / name).read_text()
        assert "weights_only=False" not in text and "allow_pickle=True" not in text


def test_a_damaged_array_file_names_the_file_and_the_rule(tmp_path):
    """`data/subsets.npz` damaged: prune reads it through qtrain.run.files's loader, which names it
    and the rule that makes it (not a raw zipfile.BadZipFile)."""
    path = tmp_path / "results/tiny/data/subsets.npz"
    path.parent.mkdir(parents=True)
    np.savez(path, accuracy_subset=np.arange(5), batchnorm_subset=np.arange(3))
    record_rule(path, "prepare_data")
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(UnreadableFileError) as caught:
        load_arrays(path, keys=["accuracy_subset", "batchnorm_subset"])
    assert re.fullmatch(
        rf"{re.escape(str(path))} is not a readable array file \(\.npz\) \(truncated or corrupt: "
        r"BadZipFile: .+\); delete it and rerun the rule `prepare_data` that makes it "
        r"\(snakemake --forcerun prepare_data with this run's --configfile and options\)",
        str(caught.value),
    ), caught.value
    runner = (REPO / "src/qtrain/learning/jobs.py").read_text()  # what rule prune runs
    assert "load_arrays(inputs.subsets" in runner.split("def prune_job", 1)[1]
