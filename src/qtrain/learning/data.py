"""Datasets as in-memory tensors: CIFAR-100 (torchvision), sklearn digits, synthetic.

CIFAR-100 is read through :class:`torchvision.datasets.CIFAR100` from ``<root>/cifar-100-python``
with every file's md5 verified before it is unpickled; when it is missing and cannot be
downloaded, the error says how to get it. sklearn's bundled ``load_digits`` (8×8, 10 classes,
real, offline) serves the smoke preset. The ``synthetic`` dataset (random CIFAR-shaped tensors,
random labels) exists only for scale and speed checks and never feeds a figure.

The rehearsal preset (``config/rehearsal.yaml``) reads a *generated* archive in CIFAR-100's own
python format through the same loader (:func:`write_synthetic_cifar100`): its files are accepted
only with ``data.synthetic: true``, against the digests recorded by the generator in
``cifar-100-python/synthetic.json``; the official checksums are never skipped for real data.

Images are stored normalized, as float32 tensors of shape (N, C, H, W); training augmentation
(random crop with zero padding of the *raw* image, horizontal flip) is applied per batch with a
seeded generator, so runs are reproducible.
"""

from __future__ import annotations

import logging
import os
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import torch

from qtrain.run.files import file_digest

__all__ = [
    "CIFAR100_MD5",
    "CIFAR_MEAN",
    "CIFAR_STD",
    "DATASETS",
    "SYNTHETIC_RECORD",
    "DatasetCorruptedError",
    "DatasetMissingError",
    "ImageData",
    "augment_batch",
    "fixed_subsets",
    "load_cifar100",
    "load_dataset",
    "load_digits",
    "load_synthetic",
    "read_synthetic_record",
    "save_prepared",
    "synthetic_cifar100_files",
    "write_synthetic_cifar100",
]

log = logging.getLogger(__name__)

CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2023, 0.1994, 0.2010)
DATASETS = ("cifar100", "digits", "synthetic")
CIFAR100_ARCHIVE = "cifar-100-python.tar.gz"
CIFAR100_ARCHIVE_MD5 = "eb9058c3a382ffc7106e4002c42a8d85"
CIFAR100_MD5 = {
    "train": "16019d7e3df5f24257cddd939b257f8d",
    "test": "f0ef6b0ae62326f3e7ffdfab6717acfc",
    "meta": "7973b15100ade9c7d40fb424638fde48",
}
SYNTHETIC_RECORD = "synthetic.json"
"""The generator's record beside a synthetic archive: what made it and the digests of its files."""
SYNTHETIC_NOTE = "rehearsal: synthetic data, not a result"


class DatasetMissingError(FileNotFoundError):
    """The dataset is not on disk and could not be downloaded."""


class DatasetCorruptedError(RuntimeError):
    """A dataset file is on disk but its md5 does not match."""


@dataclass
class ImageData:
    """A dataset held in memory: normalized images, integer labels and how they were made."""

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    synthetic: bool = False

    @property
    def in_channels(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def image_size(self) -> int:
        return int(self.x_train.shape[-1])

    @property
    def pad_value(self) -> torch.Tensor:
        """The normalized value of a black (zero) pixel, per channel: what crop padding adds."""
        mean = torch.tensor(self.mean, dtype=torch.float32)
        std = torch.tensor(self.std, dtype=torch.float32)
        return -mean / std

    def summary(self) -> dict:
        """Sizes and settings, for the data summary record."""
        return {
            "dataset": self.name,
            "synthetic": self.synthetic,
            "train_size": len(self.y_train),
            "test_size": len(self.y_test),
            "num_classes": self.num_classes,
            "image_shape": list(self.x_train.shape[1:]),
            "mean": list(self.mean),
            "std": list(self.std),
        }

    def to(self, device: torch.device | str) -> ImageData:
        """A copy with all tensors on ``device``."""
        return ImageData(
            self.name,
            self.x_train.to(device),
            self.y_train.to(device),
            self.x_test.to(device),
            self.y_test.to(device),
            self.num_classes,
            self.mean,
            self.std,
            self.synthetic,
        )


def _missing_message(root: Path) -> str:
    return (
        f"CIFAR-100 is not in {root / 'cifar-100-python'} and could not be downloaded "
        "(no internet?). To get it: on a machine with internet run `make data` (or any "
        "preset with data.download: true), or copy the official archive "
        f"{CIFAR100_ARCHIVE} (md5 {CIFAR100_ARCHIVE_MD5}) into {root}/ and rerun; "
        "torchvision extracts and verifies it."
    )


def _verify_cifar100(
    root: Path, md5s: Mapping[str, str], sha256s: Mapping[str, str] | None = None
) -> None:
    folder = root / "cifar-100-python"
    for name, expected in md5s.items():
        path = folder / name
        if not path.exists():
            raise DatasetMissingError(_missing_message(root))
        found = file_digest(path, "md5")
        if found != expected:
            raise DatasetCorruptedError(
                f"CIFAR-100 file {path} is corrupted or truncated: md5 {found}, expected "
                f"{expected}. Delete {folder} and fetch the dataset again."
            )
        if sha256s is not None and file_digest(path) != sha256s[name]:
            raise DatasetCorruptedError(
                f"CIFAR-100 file {path} does not match the sha256 recorded in "
                f"{folder / SYNTHETIC_RECORD}. Delete {folder} and generate it again."
            )


def load_cifar100(
    root: str | os.PathLike,
    download: bool = False,
    md5s: Mapping[str, str] | None = None,
    synthetic: bool = False,
) -> ImageData:
    """CIFAR-100 train and test splits via torchvision, every file md5-verified before it is
    unpickled.

    ``md5s`` overrides the official checksums of the ``train``, ``test`` and ``meta`` files
    (only for tests on small generated files in CIFAR's python format). ``synthetic``: the
    files are a generated archive (:func:`write_synthetic_cifar100`), verified against the md5
    and sha256 digests its generator recorded; the data is marked synthetic.
    """
    from torchvision.datasets import CIFAR100

    root = Path(root)
    sha256s = None
    if synthetic:
        if md5s is not None:
            raise ValueError("load_cifar100: give md5s or synthetic=True, not both")
        record = read_synthetic_record(root)
        md5s, sha256s = record["md5"], record["sha256"]
        download = False
    md5s = dict(CIFAR100_MD5 if md5s is None else md5s)
    folder = root / "cifar-100-python"
    if download and not all((folder / name).exists() for name in md5s):
        try:
            CIFAR100(root=str(root), train=True, download=True)
        except (OSError, RuntimeError) as error:  # URLError is an OSError
            raise DatasetMissingError(_missing_message(root) + f" [{error}]") from error
    _verify_cifar100(root, md5s, sha256s)

    class _Verified(CIFAR100):  # torchvision's loader with the checksums verified above
        train_list = [["train", md5s["train"]]]
        test_list = [["test", md5s["test"]]]
        meta = {"filename": "meta", "key": "fine_label_names", "md5": md5s["meta"]}

    train = _Verified(root=str(root), train=True, download=False)
    test = _Verified(root=str(root), train=False, download=False)
    x_train, y_train = _normalize_uint8_hwc(train.data, CIFAR_MEAN, CIFAR_STD), train.targets
    x_test, y_test = _normalize_uint8_hwc(test.data, CIFAR_MEAN, CIFAR_STD), test.targets
    return ImageData(
        "cifar100",
        x_train,
        torch.as_tensor(y_train, dtype=torch.long),
        x_test,
        torch.as_tensor(y_test, dtype=torch.long),
        num_classes=len(train.classes),
        mean=CIFAR_MEAN,
        std=CIFAR_STD,
        synthetic=synthetic,
    )


def synthetic_cifar100_files(root: str | os.PathLike) -> list[str]:
    """The files :func:`write_synthetic_cifar100` writes under ``root`` (pickles, then record;
    :func:`qtrain.run.config.synthetic_archive_files`, which the workflow uses at startup)."""
    from qtrain.run.config import synthetic_archive_files

    return synthetic_archive_files(str(root))


def write_synthetic_cifar100(
    root: str | os.PathLike, train_size: int, test_size: int, seed: int = 0
) -> dict:
    """Generate a small archive in CIFAR-100's python format under ``root/cifar-100-python``.

    The ``train`` and ``test`` pickles hold what :class:`torchvision.datasets.CIFAR100` reads:
    ``data`` (uint8, one row of 3072 = 3 × 32 × 32 values per image, channel-major), ``fine_labels``
    (0-99, every class as evenly as the size allows), ``coarse_labels`` (0-19), ``filenames`` and
    ``batch_label``; ``meta`` holds ``fine_label_names`` (100) and ``coarse_label_names`` (20).
    Only plain lists, strings and arrays are pickled. Each class has its own smooth colour
    pattern plus pixel noise, so a network can learn something, but the images are not CIFAR
    images. The record ``synthetic.json`` says so and holds each file's md5 and sha256, which
    :func:`load_cifar100` (``synthetic=True``) verifies before unpickling. Returns the record.
    """
    import pickle

    from qtrain.run.files import atomic_write, write_json

    if train_size < 1 or test_size < 1:
        raise ValueError(
            f"synthetic CIFAR-100 needs images in both splits, got {train_size} and {test_size}"
        )
    folder = Path(root) / "cifar-100-python"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, 100])
    coarse_grid = rng.uniform(40, 215, size=(100, 3, 4, 4))
    patterns = np.kron(coarse_grid, np.ones((1, 1, 8, 8)))  # (100, 3, 32, 32), smooth blocks
    for split, size in (("train", train_size), ("test", test_size)):
        fine = rng.permutation(np.arange(size) % 100)
        noise = rng.normal(0.0, 32.0, size=(size, 3, 32, 32))
        images = np.clip(np.rint(patterns[fine] + noise), 0, 255).astype(np.uint8)
        entry = {
            "filenames": [f"synthetic_{split}_{i:05d}.png" for i in range(size)],
            "batch_label": f"synthetic {split} batch 1 of 1 ({SYNTHETIC_NOTE})",
            "fine_labels": [int(c) for c in fine],
            "coarse_labels": [int(c) // 5 for c in fine],
            "data": images.reshape(size, 3072),
        }
        with atomic_write(folder / split, "wb") as handle:
            pickle.dump(entry, handle, protocol=4)
    meta = {
        "fine_label_names": [f"synthetic_class_{i:02d}" for i in range(100)],
        "coarse_label_names": [f"synthetic_superclass_{i:02d}" for i in range(20)],
    }
    with atomic_write(folder / "meta", "wb") as handle:
        pickle.dump(meta, handle, protocol=4)
    record = {
        "synthetic": True,
        "note": SYNTHETIC_NOTE,
        "generator": "qtrain.learning.data.write_synthetic_cifar100",
        "seed": int(seed),
        "train_size": int(train_size),
        "test_size": int(test_size),
        "md5": {name: file_digest(folder / name, "md5") for name in CIFAR100_MD5},
        "sha256": {name: file_digest(folder / name) for name in CIFAR100_MD5},
    }
    write_json(record, folder / SYNTHETIC_RECORD)
    return record


def read_synthetic_record(root: str | os.PathLike) -> dict:
    """The generator's record of a synthetic archive under ``root`` (:data:`SYNTHETIC_RECORD`);
    :class:`DatasetMissingError` when there is none (e.g. a folder of real CIFAR-100 files)."""
    from qtrain.run.files import read_json

    path = Path(root) / "cifar-100-python" / SYNTHETIC_RECORD
    if not path.exists():
        raise DatasetMissingError(
            f"data.synthetic is true but {path} does not exist: {path.parent} holds no archive "
            "generated by qtrain (rule generate_synthetic_cifar100 writes one). Real CIFAR-100 "
            "is read with data.synthetic: false, against the official checksums."
        )
    record = read_json(path)
    if record.get("synthetic") is not True or set(record.get("md5", {})) != set(CIFAR100_MD5):
        raise DatasetCorruptedError(f"{path} is not a synthetic-archive record of qtrain")
    return record


def _normalize_uint8_hwc(data: np.ndarray, mean, std) -> torch.Tensor:
    images = torch.from_numpy(np.ascontiguousarray(data)).permute(0, 3, 1, 2).float() / 255.0
    mean_t = torch.tensor(mean).view(1, -1, 1, 1)
    std_t = torch.tensor(std).view(1, -1, 1, 1)
    return ((images - mean_t) / std_t).contiguous()


def load_digits(test_fraction: float = 0.2, seed: int = 0) -> ImageData:
    """sklearn's bundled 8×8 digits, split (stratified, seeded) and normalized on train stats."""
    from sklearn.datasets import load_digits as sk_load_digits
    from sklearn.model_selection import train_test_split

    bunch = sk_load_digits()
    images = bunch.images.astype(np.float32) / 16.0  # values 0..16 → 0..1
    x_tr, x_te, y_tr, y_te = train_test_split(
        images, bunch.target, test_size=test_fraction, random_state=seed, stratify=bunch.target
    )
    mean, std = float(x_tr.mean()), float(x_tr.std())

    def prepare(x: np.ndarray) -> torch.Tensor:
        return torch.from_numpy((x - mean) / std).unsqueeze(1).contiguous()

    return ImageData(
        "digits",
        prepare(x_tr),
        torch.as_tensor(y_tr, dtype=torch.long),
        prepare(x_te),
        torch.as_tensor(y_te, dtype=torch.long),
        num_classes=10,
        mean=(mean,),
        std=(std,),
    )


def load_synthetic(
    train_size: int = 50_000,
    test_size: int = 10_000,
    num_classes: int = 100,
    image_size: int = 32,
    channels: int = 3,
    seed: int = 0,
) -> ImageData:
    """Random CIFAR-shaped tensors with random labels: for scale and speed checks only."""
    gen = torch.Generator().manual_seed(seed)
    shape = (channels, image_size, image_size)
    return ImageData(
        "synthetic",
        torch.randn((train_size, *shape), generator=gen),
        torch.randint(num_classes, (train_size,), generator=gen),
        torch.randn((test_size, *shape), generator=gen),
        torch.randint(num_classes, (test_size,), generator=gen),
        num_classes=num_classes,
        mean=(0.0,) * channels,
        std=(1.0,) * channels,
        synthetic=True,
    )


def _prepared_source(cfg: Mapping, seed: int) -> dict:
    """What a prepared dataset file was made from: the ``data`` section and the split seed."""
    return {"data": dict(cfg), "seed": int(seed)}


def save_prepared(data: ImageData, path: str | os.PathLike, cfg: Mapping, seed: int) -> None:
    """Write ``data``, stamped with the ``cfg`` and ``seed`` it was made from, for
    :func:`load_dataset` to read back (the workflow's ``prepare_data`` does this for digits)."""
    from qtrain.run.checkpoints import save_checkpoint

    state = {"fields": {f.name: getattr(data, f.name) for f in fields(data)}}
    save_checkpoint(state, path, _prepared_source(cfg, seed))


def load_dataset(
    cfg: Mapping, seed: int = 0, prepared: str | os.PathLike | None = None
) -> ImageData:
    """The dataset named by a ``data`` config section; from the ``prepared`` file of
    :func:`save_prepared` where one is given (it must have been made from the same ``cfg`` and
    ``seed``: otherwise :class:`~qtrain.run.files.CheckpointMismatchError`)."""
    if prepared:
        from qtrain.run.checkpoints import load_checkpoint

        state = load_checkpoint(prepared, _prepared_source(cfg, seed))
        return ImageData(**state["fields"])
    name = cfg["dataset"]
    if name == "cifar100":
        synthetic = bool(cfg.get("synthetic", False))
        if synthetic:
            log.warning("synthetic CIFAR-100 archive: %s", SYNTHETIC_NOTE)
        return load_cifar100(
            cfg["root"], download=bool(cfg.get("download", False)), synthetic=synthetic
        )
    if name == "digits":
        return load_digits(test_fraction=float(cfg.get("test_fraction", 0.2)), seed=seed)
    if name == "synthetic":
        log.warning("synthetic data: random images and labels, for scale and speed checks only")
        return load_synthetic(seed=seed)
    raise ValueError(f"data.dataset must be one of {DATASETS}, got {name!r}")


def fixed_subsets(train_size: int, sizes: Mapping[str, int], seed: int) -> dict[str, np.ndarray]:
    """Seeded, sorted index subsets of the training set, one per name (e.g. a Hessian batch).

    A size of 0 or larger than the training set means the whole set. Each subset is drawn
    independently from a generator keyed by its name, so adding, removing or resizing one
    subset does not change the others.
    """
    subsets = {}
    for name, size in sorted(sizes.items()):
        if size <= 0 or size >= train_size:
            subsets[name] = np.arange(train_size)
            continue
        key = zlib.crc32(name.encode())
        rng = np.random.default_rng([seed, key, size])
        subsets[name] = np.sort(rng.choice(train_size, size=size, replace=False))
    return subsets


def augment_batch(
    images: torch.Tensor, pad_value: torch.Tensor, padding: int, generator: torch.Generator
) -> torch.Tensor:
    """Random crop (after padding with ``pad_value``) and random horizontal flip, per image.

    The random numbers are drawn on the CPU from ``generator`` so results do not depend on the
    device.
    """
    n, c, h, w = images.shape
    device = images.device
    flips = torch.rand(n, generator=generator) < 0.5
    if padding > 0:
        shifts = torch.randint(0, 2 * padding + 1, (n, 2), generator=generator)
        padded = (
            pad_value.to(device).view(1, c, 1, 1).expand(n, c, h + 2 * padding, w + 2 * padding)
        )
        padded = padded.clone()
        padded[:, :, padding : padding + h, padding : padding + w] = images
        rows = (shifts[:, 0].view(n, 1) + torch.arange(h).view(1, h)).to(device)
        cols = (shifts[:, 1].view(n, 1) + torch.arange(w).view(1, w)).to(device)
        batch_idx = torch.arange(n, device=device).view(n, 1, 1, 1)
        chan_idx = torch.arange(c, device=device).view(1, c, 1, 1)
        images = padded[batch_idx, chan_idx, rows.view(n, 1, h, 1), cols.view(n, 1, 1, w)]
    flips = flips.to(device).view(n, 1, 1, 1)
    return torch.where(flips, images.flip(-1), images)
