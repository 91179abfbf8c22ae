from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from qtrain.claims import HOLDS, INCONCLUSIVE, NOT_HOLDING, NOT_RUN
from qtrain.claims.training import claim_c1, claim_c5, download_dips
from qtrain.learning import batchnorm
from qtrain.learning.data import load_digits
from qtrain.learning.models import cifar_resnet
from qtrain.learning.pruning import global_magnitude_masks, prunable_weights
from qtrain.learning.sparse_training import (
    SparseTrainSettings,
    download,
    schedule,
    sgd_step,
    sparse_train,
    step_batch,
    trains_all_weights,
)
from qtrain.learning.training import StaleBatchNormError, evaluate

SETTINGS = SparseTrainSettings(
    steps=12,
    batch_size=64,
    lr=0.05,
    window_steps=4,
    qram_dense_steps=2,
    train_accuracy_every=1,
    test_accuracy_every=4,
    checkpoint_steps=(0, 4, 8),
    resume_every=3,
)
SUPPORT = SparseTrainSettings(**{**SETTINGS.__dict__, "window_space": "support"})


@pytest.fixture(scope="module")
def digits():
    data = load_digits()
    data.x_train, data.y_train = data.x_train[:256], data.y_train[:256]
    data.x_test, data.y_test = data.x_test[:64], data.y_test[:64]
    return data


def _start():
    torch.manual_seed(0)
    model = cifar_resnet(8, 1, 10, 1)
    masks = global_magnitude_masks(model, 0.1)
    masks.apply(model)
    return model, masks


def _train(digits, tmp_path, variant, settings=SETTINGS, **kwargs):
    model, masks = _start()
    records, downloads = sparse_train(
        model,
        masks,
        digits,
        settings,
        variant,
        seed=0,
        accuracy_indices=np.arange(128),
        checkpoint_dir=tmp_path,
        config={"v": variant},
        **kwargs,
    )
    return model, records, downloads


def test_schedule_of_each_variant():
    assert SETTINGS.window_space == "all"  # the paper's semantics is the default (SPEC §2.4)
    for variant in ("continuous", "sparse", "qram"):
        assert all(p.dense for p in schedule(variant, SETTINGS))
    cont = list(schedule("continuous", SUPPORT))
    assert [p.step for p in cont] == list(range(1, 13))
    assert not any(p.download_after or p.dense for p in cont)
    sparse = list(schedule("sparse", SUPPORT))
    assert [p.step for p in sparse if p.download_after] == [4, 8, 12]
    assert not any(p.dense for p in sparse)
    qram = list(schedule("qram", SUPPORT))
    assert [p.step for p in qram if p.download_after] == [4, 10]
    assert [p.step for p in qram if p.phase == "classical"] == [5, 6, 11, 12]
    assert [p.step for p in qram if p.upload_dense_after] == [6, 12]
    # support-only: the first window trains the pruned support, later windows and classical
    # steps train all
    assert [p.step for p in qram if p.dense] == [5, 6, 7, 8, 9, 10, 11, 12]
    with pytest.raises(ValueError, match="variant"):
        list(schedule("dense", SETTINGS))


def test_hessian_space_follows_what_the_window_trains():
    assert trains_all_weights("sparse", SETTINGS, 4)
    assert not trains_all_weights("sparse", SUPPORT, 4)
    assert not trains_all_weights("qram", SUPPORT, 0)
    assert trains_all_weights("qram", SUPPORT, 4)  # classical dense steps follow the download
    assert trains_all_weights("qram", SUPPORT, 6)  # the window after the dense upload
    assert trains_all_weights("qram", SUPPORT, 12)  # the last checkpoint: its own step


def test_masked_weights_stay_exactly_zero(digits, tmp_path):
    model, records, _ = _train(digits, tmp_path, "continuous", settings=SUPPORT)
    _, masks = _start()
    weights = prunable_weights(model)
    for name, mask in masks.masks.items():
        assert torch.all(weights[name][~mask] == 0)
    assert records["density"].max() <= 0.1 + 1e-9
    assert records["loss"].iloc[-1] < records["loss"].iloc[0]


def test_dense_windows_make_the_download_matter(digits, tmp_path):
    """SPEC §2.4: windows start from the sparse vector and train all weights, so the variants
    agree until the first download and differ after it, and every download sparsifies."""
    _, cont, _ = _train(digits, tmp_path / "c", "continuous")
    _, sparse, downloads = _train(digits, tmp_path / "s", "sparse")
    _, qram, _ = _train(digits, tmp_path / "q", "qram")
    assert np.array_equal(cont["loss"].to_numpy()[:4], sparse["loss"].to_numpy()[:4])
    assert np.array_equal(cont["loss"].to_numpy()[:4], qram["loss"].to_numpy()[:4])
    assert not np.allclose(cont["loss"].to_numpy()[4:], sparse["loss"].to_numpy()[4:])
    assert (downloads["density_before"] > 0.9).all()  # the window trained every weight
    assert downloads["density_after"].to_numpy() == pytest.approx(0.1, abs=1e-3)
    assert (downloads["train_accuracy_before"] != downloads["train_accuracy_after"]).any()
    assert downloads["batchnorm_refreshed"].all()
    assert cont["density"].iloc[-1] > 0.9  # continuous: dense SGD from the pruned start
    assert qram["density"].iloc[5] == pytest.approx(1.0, abs=0.02)


def test_support_only_windows_make_the_download_a_no_op(digits, tmp_path):
    _, cont, _ = _train(digits, tmp_path / "c", "continuous", settings=SUPPORT)
    _, sparse, downloads = _train(digits, tmp_path / "s", "sparse", settings=SUPPORT)
    # exact readout of a support-trained vector is lossless: sparse == continuous throughout
    assert np.array_equal(cont["loss"].to_numpy(), sparse["loss"].to_numpy())
    assert (downloads["train_accuracy_before"] == downloads["train_accuracy_after"]).all()
    assert (downloads["support_overlap"] == 1.0).all()


def test_download_marks_batchnorm_stale_and_training_refreshes_it(digits, tmp_path):
    model, _ = _start()
    download(model, 0.1)
    assert batchnorm.is_stale(model)
    with pytest.raises(StaleBatchNormError):
        evaluate(model, digits.x_train[:32], digits.y_train[:32])
    stale = SparseTrainSettings(**{**SETTINGS.__dict__, "refresh_batchnorm": False})
    _, _, fresh_dl = _train(digits, tmp_path / "fresh", "sparse")
    _, _, stale_dl = _train(digits, tmp_path / "stale", "sparse", settings=stale)
    # the stale run evaluates with the statistics it had; the fresh one recomputes them
    stale_first = stale_dl.iloc[0]
    assert stale_first["train_accuracy_after"] == stale_first["train_accuracy_after_stale_bn"]
    assert not stale_dl["batchnorm_refreshed"].any()
    assert fresh_dl["batchnorm_refreshed"].all()


def test_qram_download_sparsifies_a_dense_vector(digits, tmp_path):
    _, _, downloads = _train(digits, tmp_path, "qram")
    assert list(downloads["step"]) == [4, 10]
    second = downloads.iloc[1]
    assert second["density_before"] > 0.9 and second["density_after"] == pytest.approx(
        0.1, abs=1e-3
    )


def test_checkpoints_and_resume_give_identical_records(digits, tmp_path):
    _, ref, ref_dl = _train(digits, tmp_path / "ref", "qram")

    def stop(record):
        if record["step"] == 7:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _train(digits, tmp_path / "run", "qram", on_step=stop)
    _, records, downloads = _train(digits, tmp_path / "run", "qram")
    pd.testing.assert_frame_equal(records, ref)
    pd.testing.assert_frame_equal(downloads, ref_dl)
    for step in (0, 4, 8):
        state = torch.load(tmp_path / "run" / f"step_{step:05d}.pt", weights_only=True)
        assert state["step"] == step


def test_noisy_readout_is_applied_and_recorded(digits, tmp_path):
    def readout(vector, rng):
        return vector + rng.normal(scale=1e-3, size=vector.shape)

    _, _, downloads = _train(digits, tmp_path, "sparse", readout=readout)
    assert (downloads["readout_relative_error"] > 0).all()


def test_download_keeps_top_fraction():
    torch.manual_seed(1)
    model = cifar_resnet(8, 1, 10, 1)
    masks, stats = download(model, 0.2)
    assert masks.density == pytest.approx(0.2, abs=1e-4)
    assert stats["readout_relative_error"] == 0.0
    weights = prunable_weights(model)
    assert sum(int((w != 0).sum()) for w in weights.values()) == masks.kept


def test_nan_stops_naming_the_step(digits, tmp_path):
    bad = load_digits()
    bad.x_train = torch.full_like(bad.x_train[:128], float("nan"))
    bad.y_train = bad.y_train[:128]
    with pytest.raises(FloatingPointError, match="sparse step 1"):
        _train(bad, tmp_path, "sparse")


def _dips(before, after, best, variant="sparse", seed=0):
    records = pd.DataFrame(
        {"step": [1, 2, 3, 4, 5, 6], "train_accuracy": [0.5, before[0], 0.5, before[1], 0.5, 0]}
    )
    records.loc[2, "train_accuracy"] = best[0]
    records.loc[4, "train_accuracy"] = best[1]
    downloads = pd.DataFrame(
        {
            "step": [2, 4],
            "variant": [variant, variant],
            "train_accuracy_before": before,
            "train_accuracy_after": after,
        }
    )
    return download_dips(records, downloads, seed=seed)


def test_download_dips():
    dips = _dips([0.6, 0.7], [0.5, 0.6], [0.65, 0.8])
    assert dips["dip"].tolist() == pytest.approx([0.1, 0.1])
    assert dips["recovery"].tolist() == pytest.approx([0.1, 0.1])  # best of steps 3-4, 5-6
    assert dips["recovered"].tolist() == [1.0, 1.0]


def _seeds(before, after, best, variant="sparse", seeds=(0, 1, 2), jitter=0.01):
    """The same downloads under several training seeds, each a little different."""
    return pd.concat(
        [
            _dips(before, [a + jitter * k for a in after], best, variant, seed=seed)
            for k, seed in enumerate(seeds)
        ]
    )


def test_claim_c5_is_three_valued():
    sparse = _seeds([0.9, 0.9], [0.5, 0.5], [0.95, 0.95])
    qram_small = _seeds([0.9, 0.9], [0.8, 0.8], [0.95, 0.95], "qram")
    assert claim_c5(pd.concat([sparse, qram_small]), 10_000).verdict == HOLDS
    # QRAM dips more: decisively does not hold
    qram_big = _seeds([0.9, 0.9], [0.2, 0.2], [0.95, 0.95], "qram")
    assert claim_c5(pd.concat([sparse, qram_big]), 10_000).verdict == NOT_HOLDING
    # the same dips measured on 20 samples: inside the sampling noise
    row = claim_c5(pd.concat([sparse, qram_small]), 20)
    assert row.verdict == INCONCLUSIVE and row.margin and row.noise
    # one training seed: a rerun's spread is not measured, so nothing is decided
    one = _seeds([0.9, 0.9], [0.5, 0.5], [0.95, 0.95], seeds=(0,))
    one_q = _seeds([0.9, 0.9], [0.8, 0.8], [0.95, 0.95], "qram", seeds=(0,))
    assert claim_c5(pd.concat([one, one_q]), 10_000).verdict == INCONCLUSIVE
    # a seed that disagrees widens the noise
    other = _dips([0.9, 0.9], [0.85, 0.85], [0.95, 0.95], seed=3)
    other_q = _dips([0.9, 0.9], [0.5, 0.5], [0.95, 0.95], "qram", seed=3)
    both = pd.concat([sparse, qram_small, other, other_q])
    assert claim_c5(both, 10_000).verdict == INCONCLUSIVE
    assert claim_c5(sparse, 10_000).verdict == NOT_RUN


def test_claim_c1():
    sparsity = pd.DataFrame({"kept": [1000], "total": [10000]})
    counts = {"ResNet-32-4": 7_451_044, "ResNet-56-11": 103_703_700}
    assert claim_c1(counts, sparsity, 0.1).verdict == HOLDS
    assert claim_c1(counts, sparsity.assign(kept=1200), 0.1).verdict == NOT_HOLDING
    assert claim_c1({**counts, "ResNet-32-4": 1}, sparsity, 0.1).verdict == NOT_HOLDING
    row = claim_c1({**counts, "ResNet-32-4": 7_451_043}, sparsity.assign(kept=1002), 0.1)
    assert (
        "ResNet-32-4 count - paper -1" in row.margin
        and "ResNet-56-11 count - paper +0" in row.margin
    )
    assert row.margin.endswith("| -0.0001") and row.noise.startswith("0:")  # 1e-4 - 2e-4


def test_step_batch_and_masked_sgd_step(digits, tmp_path):
    """The one batch draw and (masked) SGD step that sparse training and the linearized windows
    share: the batch is the run's seeded draw, and a masked step keeps pruned weights at zero."""
    from qtrain.learning.points import load_training_point
    from qtrain.learning.sparse_training import step_batch_indices, step_generator

    settings = SparseTrainSettings(**{**SETTINGS.__dict__, "augment": False})
    xb, yb = step_batch(digits, 3, 7, 32, settings)
    idx = step_batch_indices(3, 7, len(digits.y_train), 32, generator=step_generator(3, 7))
    assert torch.equal(xb, digits.x_train[idx]) and torch.equal(yb, digits.y_train[idx])
    model, masks = _start()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    loss, logits = sgd_step(model, optimizer, xb, yb, masks, where="test step")
    assert torch.isfinite(loss) and logits.shape == (32, 10)
    weights = prunable_weights(model)
    for name, mask in masks.masks.items():
        assert not weights[name][~mask].any(), name  # pruned weights stay zero
    assert any(not torch.equal(before[k], v) for k, v in model.state_dict().items())
    # a checkpoint of a run, loaded as a training point: the same weights and support
    _train(digits, tmp_path, "sparse")
    from qtrain.io import load_checkpoint, save_checkpoint
    from qtrain.learning.models import model_record

    model_path = tmp_path / "model.pt"
    save_checkpoint(model_record(_start()[0], 1), model_path, {"m": 1})
    point = load_training_point(model_path, checkpoint=tmp_path / "step_00004.pt")
    assert (point.variant, point.step) == ("sparse", 4)
    saved = load_checkpoint(tmp_path / "step_00004.pt")["model"]
    assert all(torch.equal(point.model.state_dict()[k], v) for k, v in saved.items())
    assert point.masks is not None and set(point.masks.masks) == set(masks.masks)
