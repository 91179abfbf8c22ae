from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from qtrain.claims import DOES_NOT_HOLD, HOLDS, INCONCLUSIVE, NOT_RUN
from qtrain.claims.training import claim_c1, claim_c5, download_dips
from qtrain.learning import batchnorm
from qtrain.learning.data import load_digits
from qtrain.learning.downloads import download
from qtrain.learning.models import cifar_resnet
from qtrain.learning.pruning import global_magnitude_masks, prunable_weights
from qtrain.learning.sparse_training import (
    SparseTrainSettings,
    schedule,
    sgd_step,
    sparse_train,
    step_batch,
    trains_all_weights,
)
from qtrain.learning.training import StaleBatchNormError, evaluate
from qtrain.run.resume import Checkpointer

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
        checkpointer=Checkpointer(tmp_path / "last.pt", {"v": variant}),
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


def _downloads(acc, loss, variant="sparse", steps=(20, 40, 60)):
    """A downloads table: (before, after) accuracy and loss per download."""
    return pd.DataFrame(
        {
            "step": list(steps)[: len(acc)],
            "variant": variant,
            "train_accuracy_before": [a[0] for a in acc],
            "train_accuracy_after": [a[1] for a in acc],
            "train_loss_before": [x[0] for x in loss],
            "train_loss_after": [x[1] for x in loss],
        }
    )


def test_download_dips_and_the_share_regained():
    # dip 0.9 -> 0.5, recovered to 0.8 by the next download: 0.3 of 0.4 regained
    table = _downloads([(0.9, 0.5), (0.8, 0.7), (0.95, 0.9)], [(0.2, 1.0), (0.4, 0.6), (0.1, 0.3)])
    dips = download_dips(pd.DataFrame({"step": []}), table, seed=3)
    assert dips["seed"].tolist() == [3, 3, 3] and dips["download"].tolist() == [0, 1, 2]
    assert dips["dip_accuracy"].tolist() == pytest.approx([0.4, 0.1, 0.05])
    assert dips["dip_loss"].tolist() == pytest.approx([0.8, 0.2, 0.2])
    assert dips["recovery_accuracy"].tolist()[:2] == pytest.approx([0.75, 2.5])
    assert dips["recovery_loss"].tolist()[:2] == pytest.approx([0.75, 2.5])  # (0.6 - 0.1) / 0.2
    assert np.isnan(dips["recovery_accuracy"].iloc[2])  # no complete window follows
    # no dip: nothing to regain
    flat = download_dips(None, _downloads([(0.9, 0.9), (0.9, 0.9)], [(0.2, 0.2), (0.2, 0.2)]))
    assert flat["recovery_accuracy"].isna().all()


def _variant_downloads(name, dips, regain, steps):
    """Downloads whose accuracy dips by ``dips`` (and the loss rises as much), each followed by
    a window that regains ``regain`` of the dip."""
    acc, loss = [], []
    acc_before, loss_before = 0.95, 0.2
    for dip in dips:
        acc.append((acc_before, acc_before - dip))
        loss.append((loss_before, loss_before + dip))
        acc_before = acc_before - dip + regain * dip
        loss_before = loss_before + dip - regain * dip
    return _downloads(acc, loss, name, steps)


def _c5_table(dip, regain, qram_dip, seeds=(0, 1, 2), jitter=0.005):
    """Sparse (3 downloads) and QRAM (2 downloads) dips of several seeds; the first download
    is the same event in both variants (equal dips)."""
    frames = []
    for k, seed in enumerate(seeds):
        j = jitter * k
        sparse = _variant_downloads("sparse", [dip, dip + j, dip + j], regain, (20, 40, 60))
        qram = _variant_downloads("qram", [dip, qram_dip + 2 * j], regain, (20, 45))
        frames += [download_dips(None, sparse, seed), download_dips(None, qram, seed)]
    return pd.concat(frames, ignore_index=True)


def test_claim_c5_holds_fails_or_is_inconclusive():
    good = claim_c5(_c5_table(dip=0.1, regain=0.9, qram_dip=0.05))
    assert good.verdict == HOLDS, (good.margin, good.noise)
    assert "same event in both variants (not judged): download 0" in good.value
    assert "dips: holds; recovers: holds; QRAM dips less: holds" in good.value
    # barely any of the dip regained: "then recovers" does not hold
    slow = claim_c5(_c5_table(dip=0.1, regain=0.1, qram_dip=0.05))
    assert slow.verdict == DOES_NOT_HOLD and "recovers: does not hold" in slow.value
    # QRAM dips more on the matched download
    more = claim_c5(_c5_table(dip=0.1, regain=0.9, qram_dip=0.2))
    assert more.verdict == DOES_NOT_HOLD and "QRAM dips less: does not hold" in more.value
    # QRAM dips about as much: the paired difference is inside the seed spread
    same = claim_c5(_c5_table(dip=0.1, regain=0.9, qram_dip=0.1, jitter=0.0))
    assert "QRAM dips less: inconclusive" in same.value
    noisy = _c5_table(dip=0.1, regain=0.9, qram_dip=0.09, jitter=0.0)
    noisy.loc[(noisy["variant"] == "qram") & (noisy["seed"] == 1), "dip_accuracy"] += 0.08
    assert "QRAM dips less: inconclusive" in claim_c5(noisy).value
    # one training seed: the spread a rerun changes is not measured, nothing is decided
    one = claim_c5(_c5_table(dip=0.1, regain=0.9, qram_dip=0.05, seeds=(0,)))
    assert one.verdict == INCONCLUSIVE and "not measured (1 seed)" in one.noise
    sparse_only = _c5_table(0.1, 0.9, 0.05)
    assert claim_c5(sparse_only[sparse_only["variant"] == "sparse"]).verdict == NOT_RUN


def test_claim_c1():
    sparsity = pd.DataFrame({"kept": [1000], "total": [10000]})
    counts = {"ResNet-32-4": 7_451_044, "ResNet-56-11": 103_703_700}
    assert claim_c1(counts, sparsity, 0.1).verdict == HOLDS
    assert claim_c1(counts, sparsity.assign(kept=1200), 0.1).verdict == DOES_NOT_HOLD
    assert claim_c1({**counts, "ResNet-32-4": 1}, sparsity, 0.1).verdict == DOES_NOT_HOLD
    row = claim_c1({**counts, "ResNet-32-4": 7_451_043}, sparsity.assign(kept=1002), 0.1)
    assert (
        "ResNet-32-4 count - paper -1" in row.margin
        and "ResNet-56-11 count - paper +0" in row.margin
    )
    assert row.margin.endswith("| -0.0001") and row.noise.startswith("0:")  # 1e-4 - 2e-4


def test_step_batch_and_masked_sgd_step(digits, tmp_path):
    """The one batch draw and (masked) SGD step that sparse training and the linearized windows
    share: the batch is the run's seeded draw, and a masked step keeps pruned weights at zero."""
    from qtrain.learning.hessian_spectra import load_training_point
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
    from qtrain.learning.models import model_record
    from qtrain.run.checkpoints import load_checkpoint, save_checkpoint

    model_path = tmp_path / "model.pt"
    save_checkpoint(model_record(_start()[0], 1), model_path, {"m": 1})
    point = load_training_point(model_path, checkpoint=tmp_path / "step_00004.pt")
    assert (point.variant, point.step) == ("sparse", 4)
    saved = load_checkpoint(tmp_path / "step_00004.pt")["model"]
    assert all(torch.equal(point.model.state_dict()[k], v) for k, v in saved.items())
    assert point.masks is not None and set(point.masks.masks) == set(masks.masks)
