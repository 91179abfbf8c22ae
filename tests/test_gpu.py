"""qtrain.run.devices, .resources, .hours and qtrain.learning.arithmetic: device counts, the
closed-form architecture counts, the memory and time plans, and the local GPU limit of the
workflow (issue 14). No GPU needed: device queries are faked."""

from __future__ import annotations

import itertools
import math
import os
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
import yaml
from torch import nn
from torch.utils.flop_counter import FlopCounterMode
from workflow_helpers import REPO, SNAKEMAKE

from qtrain.learning import arithmetic as qarith
from qtrain.learning.models import cifar_resnet, count_parameters
from qtrain.run import devices as qdev
from qtrain.run import hours as qhours
from qtrain.run import resources as qres


@pytest.mark.parametrize(
    ("depth", "widen", "classes", "channels", "size"),
    [
        (32, 4, 100, 3, 32),
        (56, 11, 100, 3, 32),
        (8, 2, 10, 1, 8),
        (14, 2, 10, 1, 8),
        (56, 1, 100, 3, 32),
    ],
)
def test_closed_form_counts_match_the_torch_model(depth, widen, classes, channels, size):
    stats = qarith.resnet_stats(depth, widen, classes, channels, size)
    model = cifar_resnet(depth, widen, classes, channels, device="meta")
    outputs = []
    hooks = [
        m.register_forward_hook(lambda mod, inp, out: outputs.append(out.numel()))
        for m in model.modules()
        if isinstance(m, nn.Conv2d)
    ]
    with FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, channels, size, size, device="meta"))
    for hook in hooks:
        hook.remove()
    assert stats.parameters == count_parameters(model)
    assert stats.forward_flops == counter.get_total_flops()
    assert stats.activations == sum(outputs)


def test_paper_model_sizes():
    assert qarith.resnet_stats(32, 4).parameters == 7_451_044
    assert qarith.resnet_stats(56, 11).parameters == 103_703_700
    assert qarith.resnet_stats(56, 11).name == "ResNet-56-11"


def test_visible_gpus_from_the_environment(monkeypatch):
    monkeypatch.setattr(qdev, "_devices_present", lambda: None)
    assert qdev.visible_gpus({}) == 0
    assert qdev.visible_gpus({"QTRAIN_GPUS": "3", "CUDA_VISIBLE_DEVICES": "0"}) == 3
    assert qdev.visible_gpus({"CUDA_VISIBLE_DEVICES": "0,2"}) == 2
    assert qdev.visible_gpus({"CUDA_VISIBLE_DEVICES": ""}) == 0
    assert qdev.visible_gpus({"CUDA_VISIBLE_DEVICES": "-1"}) == 0
    monkeypatch.setattr(qdev, "_devices_present", lambda: 1)
    assert qdev.visible_gpus({}) == 1
    assert qdev.visible_gpus({"CUDA_VISIBLE_DEVICES": "0,1,2"}) == 1  # capped at the present ones
    with pytest.raises(ValueError, match="QTRAIN_GPUS"):
        qdev.visible_gpus({"QTRAIN_GPUS": "one"})
    assert qdev.gpu_memory_mb({"QTRAIN_GPU_MEM_MB": "80000"}) == 80_000


def test_memory_model_is_linear_in_samples_and_knows_every_gpu_rule():
    stats = qarith.resnet_stats(32, 4)
    one, many = qres.hvp_memory_mb(stats, 1), qres.hvp_memory_mb(stats, 101)
    per_sample = (many - one) / 100
    expected = qres.ACTIVATION_COPIES["hvp_eval"] * stats.activations * 4 * qres.SAFETY / 1e6
    assert per_sample == pytest.approx(expected)
    assert qres.hvp_memory_mb(stats, 8, kept_graphs=4) > qres.hvp_memory_mb(stats, 32) - 1e-9
    assert qres.hvp_memory_mb(stats, 8, bn_mode="train") > qres.hvp_memory_mb(stats, 8)
    cfg = yaml.safe_load((REPO / "config/config.yaml").read_text())
    for rule in qres.GPU_RULES:
        mb, key = qres.rule_gpu_mem_mb(rule, cfg)
        assert mb > 0 and key == qres.MEMORY_KEYS[rule]
    # the paper preset fits one 80 GB GPU by the model; without accumulation the large model's
    # pretraining would not
    assert max(qres.rule_gpu_mem_mb(rule, cfg)[0] for rule in qres.GPU_RULES) < 80_000
    cfg["large_model"]["pretrain_micro_batch"] = 0
    assert qres.rule_gpu_mem_mb("pretrain_large", cfg)[0] > 80_000
    # the segmented backend computes the same map in less memory
    unchunked = qres.rule_gpu_mem_mb("linearized_window", cfg)[0]
    cfg["linearized"]["backend"] = "segmented"
    assert qres.rule_gpu_mem_mb("linearized_window", cfg)[0] < 0.7 * unchunked
    with pytest.raises(KeyError, match="no GPU memory model"):
        qres.rule_gpu_mem_mb("plot_fig3", cfg)


def test_a_job_too_large_for_its_gpu_fails_before_it_starts(monkeypatch):
    monkeypatch.setattr(
        torch.cuda, "get_device_properties", lambda device: SimpleNamespace(total_memory=40e9)
    )
    job = SimpleNamespace(rule="pretrain_large", resources={"gpu_mem_mb": 90_000})
    with pytest.raises(qres.GpuMemoryError) as err:
        qres.check_rule_fits(job, torch.device("cuda"))
    message = str(err.value)
    for part in ("pretrain_large", "90.0 GB", "40.0 GB", "large_model.pretrain_micro_batch"):
        assert part in message
    qres.check_rule_fits(job, torch.device("cpu"))  # on the CPU nothing is checked
    qres.check_rule_fits(SimpleNamespace(rule="pretrain", resources={"gpu_mem_mb": 30_000}), "cuda")


def test_stage_hours_are_costs_times_counts():
    cfg = yaml.safe_load((REPO / "config/config.yaml").read_text())
    costs = [
        {"model": m, "device": "X", "kind": k, "seconds_per_sample": s, "source": "test"}
        for m in ("ResNet-32-4", "ResNet-56-11")
        for k, s in (("train_step", 1e-3), ("gradient", 1e-3), ("hvp", 3e-3))
    ]
    cfg["noise"]["extra_seeds"] = 0
    hours = qhours.stage_hours(cfg, costs, "X")
    # independent count: 17 checkpoints x 3 variants, the 4 before the first download (steps
    # 0, 25, 50, 75) once: 43 spectra; 64 bound steps + 1 probe x 256 = 320 HVPs each
    assert cfg["spectra"]["probes"] == 1 and not cfg["spectra"]["reuse_graph"]
    spectra = 43 * 320 * 2048 * 3e-3 / 3600
    assert hours["spectra"] == pytest.approx(spectra)
    assert hours["spectrum_large"] == pytest.approx(320 * 2048 * 3e-3 / 3600)
    assert hours["pretrain"] == pytest.approx(50 * (50_000 + 20_000 / 3) * 1e-3 / 3600)
    # 4 windows x 3 learning rates x 100 steps
    assert hours["linearized"] == pytest.approx(12 * 100 * 2048 * 4e-3 / 3600)
    assert hours["sparse_train"] == pytest.approx((1200 * 2048 + 1200 * 10_000 / 3) * 1e-3 / 3600)
    # pruning: three evaluations of 10,000 images and one BatchNorm refresh on 10,000, forwards
    assert hours["prune"] == pytest.approx(4 * 10_000 / 3 * 1e-3 / 3600)
    assert hours["prune_large"] == pytest.approx(hours["prune"])  # both models cost 1e-3 here
    # a model without a row is scaled from the nearest one by forward FLOPs
    cfg["large_model"].update(depth=56, widen=1)
    scaled = qhours.stage_hours(cfg, costs, "X")["spectrum_large"]
    ratio = qarith.resnet_stats(56, 1).forward_flops / qarith.resnet_stats(32, 4).forward_flops
    assert scaled == pytest.approx(320 * 2048 * 3e-3 * ratio / 3600)
    # each extra training seed repeats the network pipeline, except the QRAM variant's spectra
    # (17 + 13 of continuous and sparse per extra seed) and the linearized windows
    cfg["noise"]["extra_seeds"] = 2
    more = qhours.stage_hours(cfg, costs, "X")
    assert more["spectrum_large"] == pytest.approx(3 * scaled)
    assert more["pretrain"] == pytest.approx(3 * hours["pretrain"])
    assert more["spectra"] == pytest.approx((43 + 2 * 30) * 320 * 2048 * 3e-3 / 3600)
    assert more["linearized"] == pytest.approx(hours["linearized"])


def test_prune_is_a_gpu_rule_with_its_parameters_and_one_chunk_on_the_device():
    cfg = yaml.safe_load((REPO / "config/config.yaml").read_text())
    stats = qarith.resnet_stats(56, 11)
    # hand count: model + batch-statistics copy (8 bytes per parameter) and 1,024 images of
    # forward activations (0.25 copies of 4 bytes), 15% head-room, the CUDA context
    device = (stats.parameters * 8 + 0.25 * stats.activations * 4 * 1024) * 1.15 / 1e6 + 600
    assert qres.rule_gpu_mem_mb("prune_large", cfg)[0] == math.ceil(device)
    assert qres.rule_memory_parts("prune_large", cfg)["dataset"] == 0  # subsets move by chunk
    # the host keeps the loaded checkpoint and the top-k selection (4 + 26 bytes per parameter)
    host = qres.rule_host_parts("prune_large", cfg)["model"]
    assert host == pytest.approx(stats.parameters * 30 * 1.15 / 1e6)
    assert qres.rule_host_mem_mb("prune_large", cfg) >= 2000 + 1000 + host
    # a smaller subset shrinks the chunk (the key the fit check names)
    cfg["data"].update(accuracy_subset=100, batchnorm_subset=200)
    small = (stats.parameters * 8 + 0.25 * stats.activations * 4 * 200) * 1.15 / 1e6 + 600
    assert qres.rule_gpu_mem_mb("prune_large", cfg) == (math.ceil(small), qres.MEMORY_KEYS["prune"])
    assert "prune" in qres.GPU_RULES and "prune_large" in qres.GPU_RULES


def test_committed_cost_table_and_extrapolation():
    rows = qhours.load_costs()
    kinds = {(r["model"], r["kind"]) for r in rows}
    for model in ("ResNet-32-4", "ResNet-56-11"):
        assert {(model, "train_step"), (model, "gradient"), (model, "hvp")} <= kinds
    ext = qhours.extrapolated_costs(3.0, models=((32, 4),), tflops=10.0)
    grad = next(r for r in ext if r["kind"] == "gradient")["seconds_per_sample"]
    assert grad == pytest.approx(3 * 2.20140544e9 / 10e12, rel=1e-5)
    assert next(r for r in ext if r["kind"] == "hvp")["seconds_per_sample"] == pytest.approx(
        3 * grad, rel=1e-5
    )


LIMIT_SNAKEFILE = """
import sys
sys.path.insert(0, {src!r})
from qtrain.run import devices

LIMIT = devices.limit_local_gpus(workflow)


rule all:
    input:
        expand("out/{{i}}.txt", i=range(3)),


rule job:
    output:
        "out/{{i}}.txt",
    resources:
        gpu=1,
    shell:
        # with BARRIER set, a job ends only once another has started (up to 60 s): jobs that
        # run in parallel overlap however slow the machine is to start them
        "date +%s.%N > {{output}}; touch {{output}}.started; "
        'if [ -n "$BARRIER" ]; then for t in $(seq 600); do '
        "[ $(ls out/*.started | wc -l) -ge 2 ] && break; sleep 0.1; done; fi; sleep 0.5; "
        "echo {{resources.gpu}} >> {{output}}; date +%s.%N >> {{output}}"
"""


def _intervals(
    workdir: Path, env_gpus: str, *extra: str, parallel: bool = False
) -> list[tuple[float, float, int]]:
    out = workdir / "out"
    if out.exists():
        for f in out.iterdir():
            f.unlink()
    env = dict(os.environ, QTRAIN_GPUS=env_gpus, BARRIER="1" if parallel else "")
    result = subprocess.run(
        [SNAKEMAKE, "--cores", "3", "--quiet", *extra],
        cwd=workdir,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rows = []
    for f in sorted(out.glob("*.txt")):
        start, gpus, end = f.read_text().split()
        rows.append((float(start), float(end), int(gpus)))
    return rows


def _overlaps(rows: list[tuple[float, float, int]]) -> bool:
    rows = sorted(rows)
    return any(b[0] < a[1] for a, b in itertools.pairwise(rows))


def test_local_run_never_runs_two_gpu_jobs_on_one_device(tmp_path):
    """With one (fake) device, GPU jobs run one at a time even with free cores; with none they
    run in parallel on the CPU (resources.gpu scaled to 0); --resources wins over the count."""
    (tmp_path / "Snakefile").write_text(LIMIT_SNAKEFILE.format(src=str(REPO / "src")))
    one = _intervals(tmp_path, "1")
    assert {g for *_, g in one} == {1} and not _overlaps(one)
    none = _intervals(tmp_path, "0", parallel=True)
    assert {g for *_, g in none} == {0} and _overlaps(none)
    override = _intervals(tmp_path, "1", "--resources", "gpu=3", parallel=True)
    assert {g for *_, g in override} == {1} and _overlaps(override)


def _dry_run(*args: str, gpus: str | None = None, mem: str | None = None):
    env = dict(os.environ)
    env.pop("QTRAIN_GPUS", None)
    if gpus is not None:
        env["QTRAIN_GPUS"] = gpus
    if mem is not None:
        env["QTRAIN_GPU_MEM_MB"] = mem
    return subprocess.run(
        [SNAKEMAKE, "-n", "--forceall", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_paper_dry_run_limits_gpu_jobs_and_prints_the_plan():
    result = _dry_run("--cores", "4", gpus="1", mem="40000")
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    assert "at most 1 GPU job(s) at a time" in out
    # every GPU job of the plan asks for the one device and declares its memory
    for rule in qres.GPU_RULES:
        block = out.split(f"\nrule {rule}:\n", 1)[1].split("\n\n", 1)[0]
        resources = block.split("resources: ", 1)[1].splitlines()[0]
        assert "gpu=1" in resources and "gpu_mem_mb=" in resources and "mem_mb=" in resources
    # on a 40 GB card the linearized window (unchunked, train-mode BN) is flagged up front
    assert "WARNING rule linearized_window" in out and "linearized.micro_batch" in out
    estimate = [line for line in out.splitlines() if "GPU hours" in line]
    assert len(estimate) == 1 and "Estimated" in estimate[0] and "total" in estimate[0]
    total = float(estimate[0].split("total ")[1].split(" h")[0])
    assert math.isfinite(total) and total > 0


def test_smoke_dry_run_without_gpus_runs_gpu_rules_on_the_cpu_and_says_so():
    result = _dry_run("--cores", "2", "--configfile", "config/smoke.yaml", gpus="0")
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    assert "WARNING: no CUDA device visible" in out
    assert "GPU hours" not in out  # the smoke preset: a CPU estimate only (issue 24)
    assert "Estimated time of the whole workflow from scratch (rough)" in out
    block = out.split("\nrule pretrain:\n", 1)[1].split("\n\n", 1)[0]
    assert "gpu=0" in block
