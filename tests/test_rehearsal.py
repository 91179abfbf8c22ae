"""The rehearsal preset (issue 23): the paper's models on a generated archive in CIFAR-100's own
file format, tiny counts, every output labelled, no verdict judged, peak memory against the
memory model. Unit tests against hand counts and torchvision's own reader; dry runs that compare
the rehearsal's rule set with the paper preset's; one e2e run (marked) of a trimmed rehearsal."""

from __future__ import annotations

import io
import math
import pickle
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from workflow_helpers import REHEARSAL_CONFIGS

from qtrain.claims.core import HOLDS, NOT_HOLDING, NOT_JUDGED, ClaimRow, assemble_claims
from qtrain.figures.registry import FIGURES
from qtrain.learning import arithmetic as qarith
from qtrain.learning.data import (
    CIFAR_MEAN,
    CIFAR_STD,
    DatasetCorruptedError,
    DatasetMissingError,
    load_cifar100,
    load_dataset,
    write_synthetic_cifar100,
)
from qtrain.run import config as qconfig
from qtrain.run import hours as qhours
from qtrain.run import resources as qres
from qtrain.run import usage as qusage
from qtrain.run.config_files import read_merged_config

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
#: Rules only a rehearsal has (workflow/rules/rehearsal.smk); every other rule is the paper's.
REHEARSAL_ONLY = {
    "generate_synthetic_cifar100",
    "estimate_gpu_hours",
    "measure_baseline_memory",
    "compare_memory",
}


def rehearsal_config() -> dict:
    """The rehearsal preset in full: config/rehearsal.yaml merged over config/config.yaml."""
    return read_merged_config(REPO / "config/config.yaml", REPO / "config/rehearsal.yaml")


# ------------------------------------------------------------------ CIFAR-100's file format
class _PlainUnpickler(pickle.Unpickler):
    """Refuses every global but numpy's array reconstruction: the generated pickles hold plain
    lists, strings, numbers and arrays only."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"unexpected global {module}.{name}")
        return super().find_class(module, name)


def _plain_load(path: Path):
    return _PlainUnpickler(io.BytesIO(path.read_bytes()), encoding="latin1").load()


@pytest.fixture
def archive(tmp_path):
    record = write_synthetic_cifar100(tmp_path, train_size=130, test_size=30, seed=3)
    return tmp_path, record


def test_generated_archive_is_what_torchvision_reads(archive):
    root, record = archive
    from torchvision.datasets import CIFAR100

    class Reader(CIFAR100):  # torchvision's reader, checking the generator's digests
        train_list = [["train", record["md5"]["train"]]]
        test_list = [["test", record["md5"]["test"]]]
        meta = {"filename": "meta", "key": "fine_label_names", "md5": record["md5"]["meta"]}

    train = Reader(root=str(root), train=True)
    test = Reader(root=str(root), train=False)
    assert train.data.shape == (130, 32, 32, 3) and train.data.dtype == np.uint8
    assert test.data.shape == (30, 32, 32, 3)
    assert len(train.classes) == 100 and train.class_to_idx["synthetic_class_07"] == 7
    assert all(isinstance(t, int) and 0 <= t < 100 for t in train.targets)
    assert sorted(set(train.targets)) == list(range(100))  # 130 images: every class appears
    folder = root / "cifar-100-python"
    raw = _plain_load(folder / "train")
    assert set(raw) == {"data", "fine_labels", "coarse_labels", "filenames", "batch_label"}
    assert raw["data"].shape == (130, 3072) and raw["data"].dtype == np.uint8
    assert raw["coarse_labels"] == [f // 5 for f in raw["fine_labels"]]
    assert raw["fine_labels"] == train.targets
    # torchvision's HWC image is the row's channel-major layout: pixel (r, c), channel k
    assert train.data[5, 2, 7, 1] == raw["data"][5, 1 * 1024 + 2 * 32 + 7]
    meta = _plain_load(folder / "meta")
    assert len(meta["fine_label_names"]) == 100 and len(meta["coarse_label_names"]) == 20
    assert record["synthetic"] is True and record["note"] == qconfig.REHEARSAL_LABEL


def test_project_loader_reads_it_only_through_the_setting(archive):
    root, _ = archive
    data = load_cifar100(root, synthetic=True)
    assert data.synthetic and data.num_classes == 100
    assert data.x_train.shape == (130, 3, 32, 32) and data.x_test.shape == (30, 3, 32, 32)
    raw = _plain_load(root / "cifar-100-python" / "train")
    assert data.y_train.tolist() == raw["fine_labels"]
    for c in range(3):  # normalization per channel, pixel (0, 0) of image 4
        expected = (raw["data"][4, c * 1024] / 255.0 - CIFAR_MEAN[c]) / CIFAR_STD[c]
        assert float(data.x_train[4, c, 0, 0]) == pytest.approx(expected, abs=1e-5)
    # the official checksums (data.synthetic: false) reject the generated files
    with pytest.raises(DatasetCorruptedError, match="md5"):
        load_cifar100(root)
    cfg = {"dataset": "cifar100", "root": str(root), "synthetic": True}
    assert load_dataset(cfg).synthetic
    with pytest.raises(DatasetCorruptedError):
        load_dataset({**cfg, "synthetic": False})


def test_a_changed_file_or_a_missing_record_is_refused(archive):
    root, record = archive
    folder = root / "cifar-100-python"
    train = folder / "train"
    original = train.read_bytes()
    train.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    with pytest.raises(DatasetCorruptedError, match="md5"):
        load_cifar100(root, synthetic=True)
    train.write_bytes(original)
    # a record whose md5 was edited to match a changed file still fails on the sha256
    changed = original[:-1] + bytes([original[-1] ^ 1])
    train.write_bytes(changed)
    import hashlib
    import json

    edited = dict(record, md5=dict(record["md5"], train=hashlib.md5(changed).hexdigest()))
    (folder / "synthetic.json").write_text(json.dumps(edited))
    with pytest.raises(DatasetCorruptedError, match="sha256"):
        load_cifar100(root, synthetic=True)
    # no record: real (or unknown) files are never read as synthetic
    (folder / "synthetic.json").unlink()
    with pytest.raises(DatasetMissingError, match=r"data\.synthetic is true"):
        load_cifar100(root, synthetic=True)


def test_generator_is_deterministic_and_rejects_empty_splits(tmp_path):
    a = write_synthetic_cifar100(tmp_path / "a", 12, 5, seed=1)
    b = write_synthetic_cifar100(tmp_path / "b", 12, 5, seed=1)
    c = write_synthetic_cifar100(tmp_path / "c", 12, 5, seed=2)
    assert a["sha256"] == b["sha256"] and a["sha256"]["train"] != c["sha256"]["train"]
    with pytest.raises(ValueError, match="both splits"):
        write_synthetic_cifar100(tmp_path / "d", 0, 5)


# ---------------------------------------------------------------------------- the preset
def test_rehearsal_keeps_the_paper_models_conventions_and_variants():
    paper = read_merged_config(REPO / "config/config.yaml")
    cfg = rehearsal_config()
    assert qarith.model_stats(cfg["model"], cfg["data"]).parameters == 7_451_044
    assert qarith.model_stats(cfg["large_model"], cfg["data"]).parameters == 103_703_700
    same = [
        ("model",),
        ("large_model", "depth"),
        ("large_model", "widen"),
        ("data", "dataset"),
        ("data", "augment"),
        ("data", "crop_padding"),
        ("sparse_train", "variants"),
        ("sparse_train", "lr"),
        ("sparse_train", "momentum"),
        ("sparse_train", "window_space"),
        ("sparse_train", "keep_fraction"),
        ("prune", "keep_fraction"),
        ("spectra", "space"),
        ("spectra", "bn_mode"),
        ("spectra", "probes"),
        ("spectra", "conventions"),
        ("spectra", "cutoff"),
        ("linearized", "lr_scales"),
        ("linearized", "bn_mode"),
        ("batchnorm",),
    ]
    for path in same:
        a, b = paper, cfg
        for key in path:
            a, b = a[key], b[key]
        assert a == b, path
    # the paper's ratios of chunk to batch: the Hessian batch = the SGD batch, micro-batched
    assert cfg["data"]["hessian_batch"] == cfg["sparse_train"]["batch_size"]
    assert 0 < cfg["spectra"]["micro_batch"] < cfg["data"]["hessian_batch"]
    assert 0 < cfg["large_model"]["micro_batch"] < cfg["data"]["hessian_batch"]
    assert 0 < cfg["large_model"]["pretrain_micro_batch"] < cfg["pretrain"]["batch_size"]
    assert cfg["rehearsal"]["enabled"] and cfg["data"]["synthetic"]
    # one training seed: the paper's extra seeds are the same rules at the same sizes (a count)
    assert cfg["noise"]["extra_seeds"] == 0
    assert cfg["data"]["root"].startswith("results/rehearsal/")


def test_rehearsal_config_checks_name_the_keys():
    cfg = rehearsal_config()
    qconfig.check_config(cfg)
    for change, keys in (
        ({"data": {"synthetic": False}}, "data.synthetic"),
        ({"rehearsal": {"enabled": False}}, "rehearsal.enabled"),
        ({"preset": "paper"}, "preset"),
        ({"data": {"root": "resources/data"}}, "data.root"),
    ):
        bad = qconfig.merge_config(cfg, change)
        with pytest.raises(qconfig.ConfigError, match=re.escape(keys)):
            qconfig.check_config(bad)
    paper = read_merged_config(REPO / "config/config.yaml")
    qconfig.check_config(paper)
    with pytest.raises(qconfig.ConfigError, match=r"rehearsal\.enabled"):
        qconfig.check_config(qconfig.merge_config(paper, {"data": {"synthetic": True}}))
    assert qconfig.rehearsal_label(cfg) == "rehearsal: synthetic data, not a result"
    assert qconfig.rehearsal_label(paper) is None


def _rules(*args: str) -> set[str]:
    result = subprocess.run(
        [SNAKEMAKE, "-n", "--forceall", "--cores", "2", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    names = re.findall(r"^(?:local)?rule (\w+):$", out, re.MULTILINE)
    return set(names) - {"all"}


def test_rehearsal_runs_every_rule_of_the_paper_preset():
    paper = _rules()
    rehearsal = _rules("--configfile", "config/rehearsal.yaml")
    assert paper, "no jobs in the paper preset's dry run"
    assert rehearsal - paper == REHEARSAL_ONLY
    assert paper - rehearsal == set()
    assert {"spectrum_large", "pretrain_large", "claims", "provenance_summary"} <= rehearsal


# -------------------------------------------------------------------- labels and verdicts
def _row(claim_id: str, verdict: str) -> ClaimRow:
    return ClaimRow(claim_id, "a claim", "q", 1.0, "c", verdict, "table.csv", "0.1", "0.01")


def test_rehearsal_claims_are_never_judged():
    from qtrain.claims.core import rows_to_frame

    frame = rows_to_frame([_row("C1", HOLDS), _row("C3", NOT_HOLDING)])
    judged = assemble_claims([frame])
    assert set(judged["verdict"]) > {HOLDS, NOT_HOLDING}  # plus "not run" fillers
    rehearsal = assemble_claims([frame], not_judged=qconfig.REHEARSAL_LABEL)
    assert len(rehearsal) == len(judged) == 14
    assert set(rehearsal["verdict"]) == {NOT_JUDGED} == {"not judged: rehearsal"}
    assert rehearsal["source"].str.startswith(qconfig.REHEARSAL_LABEL).all()
    assert rehearsal["value"].tolist() == judged["value"].tolist()  # the numbers stay


def test_figures_carry_the_label(tmp_path):
    from qtrain.figures.style import figure, stamp

    fig, ax = figure()
    ax.plot([0, 1], [0, 1])
    stamp(fig, qconfig.REHEARSAL_LABEL)
    fig.suptitle("a title of its own")
    texts = [t.get_text() for t in fig.texts]
    assert texts.count(qconfig.REHEARSAL_LABEL) == 2 and "a title of its own" in texts


def test_every_caption_says_it_in_a_rehearsal():
    from jinja2 import Template

    captions = sorted((REPO / "workflow/report").glob("*.rst"))
    cfg = rehearsal_config()
    paper = read_merged_config(REPO / "config/config.yaml")
    for path in captions:
        if path.name == "provenance.rst":
            continue
        text = path.read_text()
        rehearsal = Template(text).render(snakemake={"config": cfg})
        real = Template(text).render(snakemake={"config": paper})
        assert qconfig.REHEARSAL_LABEL in rehearsal, path.name
        assert "rehearsal" not in real.lower(), path.name


# ------------------------------------------------------------------------ memory and time
def test_dataset_on_the_device_is_part_of_the_model():
    paper = read_merged_config(REPO / "config/config.yaml")
    # 60,000 CIFAR images of 3 x 32 x 32 float32 plus an int64 label each
    assert qres.dataset_mb(paper["data"]) == pytest.approx(60_000 * (3072 * 4 + 8) / 1e6)
    for rule in qres.GPU_RULES:
        parts = qres.rule_memory_parts(rule, paper)
        total = parts["model"] + parts["dataset"] + parts["context"]
        assert qres.rule_gpu_mem_mb(rule, paper)[0] == math.ceil(total)
        assert (parts["dataset"] > 0) == (rule in qres.DATA_ON_DEVICE_RULES)
    cfg = rehearsal_config()
    assert qres.train_size(cfg["data"]) == (8, 4)
    assert qres.train_size({"dataset": "digits", "test_fraction": 0.2}) == (1437, 360)


def test_memory_rows_compare_cpu_and_gpu_peaks_with_the_model():
    cfg = rehearsal_config()
    parts = qres.rule_memory_parts("spectrum_large", cfg)
    baseline = 500.0
    predicted = baseline + parts["model"]  # an HVP rule holds nothing more on the host
    jobs = [
        ("spectrum_large", "ok", {"device": "cpu", "peak_rss_mb": predicted * 1.09}),
        ("spectrum_large", "over", {"device": "cpu", "peak_rss_mb": predicted * 1.11}),
        (
            "spectrum_large",
            "gpu",
            {"device": "cuda:0", "peak_rss_mb": 9e9, "peak_gpu_reserved_mb": parts["model"]},
        ),
        ("sparse_train", "download", {"device": "cpu", "peak_rss_mb": 900.0}),
        ("prune_large", "cpu rule", {"device": "cpu", "peak_rss_mb": 1234.0}),
        ("prepare_data", "no model", {"device": "cpu", "peak_rss_mb": 700.0}),
    ]
    rows = qusage.memory_rows(jobs, baseline, cfg, margin=0.1)
    ok, over, on_gpu, download, prune, data = rows
    assert ok["predicted_mb"] == pytest.approx(predicted, abs=0.1)
    assert ok["within"] is True and over["within"] is False
    assert ok["model"] == "ResNet-56-11" and ok["chunk"] == 1
    assert ok["key"] == "large_model.micro_batch"
    assert on_gpu["measured_mb"] == pytest.approx(parts["model"], abs=0.1)
    assert on_gpu["baseline_mb"] == 0 and on_gpu["within"] is True
    # a download's top-k of |w| is on the host: 26 bytes per parameter beside the device model
    host = 7_451_044 * 26 / 1e6
    assert download["host_mb"] == pytest.approx(host, abs=0.1)
    train = qres.rule_memory_parts("sparse_train", cfg)["model"]
    assert download["predicted_mb"] == pytest.approx(baseline + train + host, abs=0.2)
    # prune on the CPU: parameters (12 + 26 bytes each) and a 4-image evaluation chunk
    stats = qarith.resnet_stats(56, 11)
    prune_mb = (stats.parameters * 38 + 0.25 * stats.activations * 4 * 4) * 1.15 / 1e6
    assert prune["predicted_mb"] == pytest.approx(baseline + prune_mb, abs=0.2)
    assert prune["within"] is True and prune["key"].startswith("data.accuracy_subset")
    # prune on a GPU: two parameter copies and the chunk on the device, nothing of the host
    device_mb = (stats.parameters * 8 + 0.25 * stats.activations * 4 * 4) * 1.15 / 1e6
    record = {"device": "cuda:0", "peak_rss_mb": 9e9, "peak_gpu_reserved_mb": device_mb}
    (gpu_prune,) = qusage.memory_rows([("prune_large", "gpu", record)], baseline, cfg, margin=0.1)
    assert gpu_prune["predicted_mb"] == pytest.approx(device_mb, abs=0.2)
    assert gpu_prune["host_mb"] == 0 and gpu_prune["within"] is True
    assert data["predicted_mb"] == baseline and data["within"] is False  # 700 > 500 x 1.1
    assert list(rows[0]) == list(qusage.MEMORY_COLUMNS)


def test_estimate_counts_the_rehearsals_own_images():
    cfg = rehearsal_config()
    costs = [
        {"model": m, "device": "X", "kind": k, "seconds_per_sample": 1.0, "source": "test"}
        for m in ("ResNet-32-4", "ResNet-56-11")
        for k in ("train_step", "gradient", "hvp")
    ]
    hours = qhours.stage_hours(cfg, costs, "X")
    # 1 epoch over 8 training images, plus a third of a step for each of 4 + 4 evaluations
    assert hours["pretrain"] == pytest.approx((8 + 8 / 3) / 3600)
    # 7 spectra (step 0 shared; steps 2 and 4 per variant) x (2 + 1 x 3) HVPs x 2 samples
    assert cfg["spectra"]["probes"] == 1 and cfg["noise"]["extra_seeds"] == 0
    assert hours["spectra"] == pytest.approx(7 * 5 * 2 / 3600)
    rows, lines = qhours.estimate_rows({"rehearsal": cfg}, costs)
    total = next(r for r in rows if r["stage"] == "total")
    assert total["gpu_hours"] == pytest.approx(sum(hours.values()), rel=1e-5)
    assert lines[0].startswith("qtrain: [rehearsal] Estimated X GPU hours")


def test_job_usage_reads_the_kernels_high_water_mark():
    block = np.ones(50_000_000 // 8)  # 50 MB, touched
    peak = qusage.job_usage()["peak_rss_mb"]
    del block
    status = Path("/proc/self/status").read_text()
    hwm_kb = int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1))  # the kernel's own count
    assert peak == pytest.approx(hwm_kb * 1024 / 1e6, rel=0.01)
    assert peak > 50
    assert {"peak_rss_mb", "cpu_seconds", "machine"} <= set(qusage.job_usage("cpu"))
    assert not any(key.startswith("peak_gpu") for key in qusage.job_usage("cpu"))


def test_gpu_check_never_waits_for_a_gpu():
    script = REPO / "tools/gpu_check.sh"
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    result = subprocess.run(
        [str(script)], cwd=REPO, capture_output=True, text=True, timeout=300,
        env={"PATH": "/usr/bin:/bin", "CUDA_VISIBLE_DEVICES": ""},
    )  # fmt: skip
    assert result.returncode == 3, result.stdout + result.stderr
    assert "no CUDA device" in result.stdout and "never waits" in result.stdout


# ------------------------------------------------------------------ e2e: a trimmed rehearsal
@pytest.mark.slow
@pytest.mark.e2e
def test_trimmed_rehearsal_runs_the_paper_models_through_every_rule(trimmed_rehearsal_run):
    """The rehearsal trimmed to fit the end-to-end tier (workflow_helpers.REHEARSAL_TRIM: the
    paper's models and every rule; fewer Lanczos steps and one learning rate), run whole in the
    background from the start of the session (workflow_helpers.WHOLE_RUNS)."""
    import json

    workdir, out = trimmed_rehearsal_run.root, trimmed_rehearsal_run.output
    configs = list(REHEARSAL_CONFIGS)
    assert trimmed_rehearsal_run.returncode == 0, out[-5000:]
    results, logs = workdir / "results/rehearsal", workdir / "logs/rehearsal"
    # every rule of the paper preset ran (each job logs under logs/<preset>/<rule>/)
    ran = {p.name for p in logs.iterdir() if p.is_dir()}
    assert ran == _rules() | REHEARSAL_ONLY, ran ^ (_rules() | REHEARSAL_ONLY)
    assert "qtrain: Estimated" in out  # the start-up estimate, printed

    def record(path: Path) -> dict:
        return json.loads(path.with_name(path.name + ".provenance.json").read_text())

    # the paper's models in full, through the Hessian of every coordinate
    large = record(results / "seed_0/large_model/spectrum.npz")
    assert large["dim"] == 103_703_700
    for spectrum in (results / "seed_0/spectra").glob("*/step_*.npz"):
        assert record(spectrum)["dim"] == 7_451_044
    assert record(results / "seed_0/pretrain/metrics.csv")["parameters"] == 7_451_044
    assert record(results / "seed_0/large_model/pretrain/metrics.csv")["parameters"] == (
        103_703_700
    )
    summary = json.loads((results / "data/summary.json").read_text())
    assert summary["dataset"] == "cifar100" and summary["synthetic"] is True
    assert summary["num_classes"] == 100 and summary["image_shape"] == [3, 32, 32]
    # every network job's peak memory within the model's margin
    memory = pd.read_csv(results / "memory/memory.csv")
    modelled = memory[memory["rule"].isin(qres.GPU_RULES)]
    assert set(modelled["rule"]) == set(qres.GPU_RULES)
    over = modelled[~modelled["within"].astype(bool)]
    assert over.empty, over[["rule", "job", "predicted_mb", "measured_mb", "ratio"]].to_string()
    # labelled, never judged
    claims = pd.read_csv(results / "claims.csv")
    assert set(claims["verdict"]) == {NOT_JUDGED}
    figures = sorted((results / "figures").glob("*.pdf"))
    assert {f.stem for f in figures} == set(FIGURES)  # every figure of the registry
    assert all(record(f)["label"] == qconfig.REHEARSAL_LABEL for f in figures)
    estimate = pd.read_csv(results / "estimate/gpu_hours.csv")
    assert set(estimate["config"]) == {"rehearsal", "paper"}
    # and the HTML report, as make rehearsal builds it: every caption says what it is
    report = workdir / "report.html"
    result = subprocess.run(
        [
            SNAKEMAKE,
            "--cores",
            "2",
            "-s",
            str(REPO / "Snakefile"),
            *configs,
            "--report",
            str(report),
        ],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    # every figure's caption, the claims and the front page
    assert report.read_text().count(qconfig.REHEARSAL_LABEL) >= len(FIGURES) + 1
