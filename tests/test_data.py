from __future__ import annotations

import hashlib
import pickle
from urllib.error import URLError

import numpy as np
import pytest
import torch

from qtrain.learning import data as data_mod
from qtrain.learning.data import (
    CIFAR_MEAN,
    CIFAR_STD,
    DatasetCorruptedError,
    DatasetMissingError,
    augment_batch,
    fixed_subsets,
    load_cifar100,
    load_dataset,
    load_digits,
    load_synthetic,
    save_prepared,
)
from qtrain.run.files import CheckpointMismatchError


def _md5(path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture
def fake_cifar(tmp_path):
    """Small files in CIFAR-100's python format: 20 train and 10 test images, 100 classes."""
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for split, n in (("train", 20), ("test", 10)):
        entry = {
            "data": rng.integers(0, 256, size=(n, 3072), dtype=np.uint8),
            "fine_labels": rng.integers(0, 100, size=n).tolist(),
            "coarse_labels": rng.integers(0, 20, size=n).tolist(),
            "filenames": [f"img_{i}.png" for i in range(n)],
            "batch_label": f"{split} batch",
        }
        with open(folder / split, "wb") as handle:
            pickle.dump(entry, handle)
    meta = {
        "fine_label_names": [f"class_{i}" for i in range(100)],
        "coarse_label_names": [f"super_{i}" for i in range(20)],
    }
    with open(folder / "meta", "wb") as handle:
        pickle.dump(meta, handle)
    md5s = {name: _md5(folder / name) for name in ("train", "test", "meta")}
    return tmp_path, md5s


def test_cifar_loader_reads_generated_files(fake_cifar):
    root, md5s = fake_cifar
    data = load_cifar100(root, md5s=md5s)
    assert data.x_train.shape == (20, 3, 32, 32) and data.x_test.shape == (10, 3, 32, 32)
    assert data.num_classes == 100
    raw = pickle.load(open(root / "cifar-100-python" / "train", "rb"))
    assert data.y_train.tolist() == raw["fine_labels"]
    # pixel (0, 0) of image 0, channel c, is raw[c * 1024]; normalization per channel
    for c in range(3):
        value = raw["data"][0, c * 1024] / 255.0
        expected = (value - CIFAR_MEAN[c]) / CIFAR_STD[c]
        assert float(data.x_train[0, c, 0, 0]) == pytest.approx(expected, abs=1e-5)


def test_cifar_md5_mismatch_is_reported(fake_cifar):
    root, md5s = fake_cifar
    with open(root / "cifar-100-python" / "train", "ab") as handle:
        handle.write(b"garbage")
    with pytest.raises(DatasetCorruptedError, match="train is corrupted or truncated"):
        load_cifar100(root, md5s=md5s)


def test_cifar_truncated_file_is_reported(fake_cifar):
    root, md5s = fake_cifar
    path = root / "cifar-100-python" / "test"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(DatasetCorruptedError, match="md5"):
        load_cifar100(root, md5s=md5s)


def test_official_checksums_reject_generated_files(fake_cifar):
    root, _ = fake_cifar
    with pytest.raises(DatasetCorruptedError):
        load_cifar100(root)


def test_cifar_missing_offline_says_how_to_get_it(tmp_path):
    with pytest.raises(DatasetMissingError, match="make data") as info:
        load_cifar100(tmp_path, download=False)
    assert "cifar-100-python.tar.gz" in str(info.value)


def test_cifar_download_failure_offline(tmp_path, monkeypatch):
    from torchvision.datasets import CIFAR100

    def offline(self):
        raise URLError("no network")

    monkeypatch.setattr(CIFAR100, "download", offline)
    with pytest.raises(DatasetMissingError, match=r"could not be downloaded"):
        load_cifar100(tmp_path, download=True)


def test_digits_split_and_normalization():
    data = load_digits(seed=0)
    assert data.x_train.shape == (1437, 1, 8, 8) and data.x_test.shape == (360, 1, 8, 8)
    assert data.num_classes == 10
    assert abs(float(data.x_train.mean())) < 1e-5
    assert float(data.x_train.std()) == pytest.approx(1.0, abs=1e-3)
    assert torch.bincount(data.y_test).min() >= 35  # stratified
    again = load_digits(seed=0)
    assert torch.equal(again.x_train, data.x_train)


def test_synthetic_is_labelled_and_seeded():
    a = load_synthetic(train_size=8, test_size=4, seed=3)
    b = load_synthetic(train_size=8, test_size=4, seed=3)
    assert a.synthetic and a.name == "synthetic"
    assert a.x_train.shape == (8, 3, 32, 32) and torch.equal(a.x_train, b.x_train)


def test_load_dataset_dispatch_and_unknown_name():
    assert load_dataset({"dataset": "digits"}).name == "digits"
    with pytest.raises(ValueError, match=r"data\.dataset"):
        load_dataset({"dataset": "mnist"})


def test_prepared_dataset_reads_back_what_was_prepared_and_refuses_another_config(tmp_path):
    cfg = {"dataset": "digits", "test_fraction": 0.2, "hessian_batch": 256}
    built = load_dataset(cfg, seed=3)
    path = tmp_path / "dataset.pt"
    save_prepared(built, path, cfg, seed=3)
    read = load_dataset(cfg, seed=3, prepared=path)
    for name in ("x_train", "y_train", "x_test", "y_test"):
        assert torch.equal(getattr(read, name), getattr(built, name))
    assert (read.name, read.num_classes, read.mean, read.std) == (
        built.name,
        built.num_classes,
        built.mean,
        built.std,
    )
    # no prepared file (the workflow's [] for CIFAR-100): built again, the same tensors
    assert torch.equal(load_dataset(cfg, seed=3, prepared=[]).x_train, built.x_train)
    with pytest.raises(CheckpointMismatchError, match=r"dataset\.pt"):
        load_dataset(cfg, seed=4, prepared=path)  # another split seed
    with pytest.raises(CheckpointMismatchError):
        load_dataset({**cfg, "test_fraction": 0.3}, seed=3, prepared=path)


def test_fixed_subsets_are_seeded_sorted_and_independent():
    a = fixed_subsets(1000, {"hessian_batch": 100, "accuracy_subset": 300}, seed=1)
    b = fixed_subsets(1000, {"hessian_batch": 100, "accuracy_subset": 300}, seed=1)
    c = fixed_subsets(1000, {"hessian_batch": 100, "accuracy_subset": 500}, seed=1)
    d = fixed_subsets(1000, {"hessian_batch": 100, "accuracy_subset": 300}, seed=2)
    assert np.array_equal(a["hessian_batch"], b["hessian_batch"])
    assert np.array_equal(a["hessian_batch"], c["hessian_batch"])  # other sizes do not matter
    assert not np.array_equal(a["hessian_batch"], d["hessian_batch"])
    assert len(np.unique(a["accuracy_subset"])) == 300
    assert np.all(np.diff(a["accuracy_subset"]) > 0)
    assert len(fixed_subsets(50, {"all": 0}, 0)["all"]) == 50


def test_augment_batch_crops_and_flips_like_torchvision_semantics():
    images = torch.arange(2 * 1 * 4 * 4, dtype=torch.float32).view(2, 1, 4, 4)
    pad = torch.tensor([-9.0])
    out = augment_batch(images, pad, padding=2, generator=torch.Generator().manual_seed(0))
    assert out.shape == images.shape
    for i in range(2):
        # every output is a 4×4 window of the padded (and maybe flipped) image
        padded = torch.full((8, 8), -9.0)
        padded[2:6, 2:6] = images[i, 0]
        windows = [
            w
            for r in range(5)
            for c in range(5)
            for w in (padded[r : r + 4, c : c + 4], padded[r : r + 4, c : c + 4].flip(-1))
        ]
        assert any(torch.equal(out[i, 0], w) for w in windows)
    same = augment_batch(images, pad, 2, torch.Generator().manual_seed(0))
    assert torch.equal(out, same)
    assert torch.equal(
        augment_batch(images, pad, 0, torch.Generator().manual_seed(5)).abs().sum(),
        images.abs().sum(),
    )


def test_pad_value_is_normalized_black():
    data = data_mod.ImageData(
        "x",
        torch.zeros(1, 3, 2, 2),
        torch.zeros(1),
        torch.zeros(1, 3, 2, 2),
        torch.zeros(1),
        100,
        CIFAR_MEAN,
        CIFAR_STD,
    )
    expected = torch.tensor([-m / s for m, s in zip(CIFAR_MEAN, CIFAR_STD, strict=True)])
    assert torch.allclose(data.pad_value, expected)
