"""The time estimate printed when the workflow starts (issue 24, item 6): a recorded run's
per-job CPU seconds scaled to the config, for every preset, and a warning when the rules that
declare a GPU will run on the CPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from workflow_helpers import REPO, SNAKEMAKE

from qtrain.learning.arithmetic import model_stats
from qtrain.run.config import merge_config, spectrum_points
from qtrain.run.estimate import (
    Estimate,
    estimate,
    format_estimate,
    full_config,
    load_reference,
    rule_jobs,
    rule_work,
    summarize_probe,
)
from qtrain.run.hours import startup_report
from qtrain.run.resources import GPU_RULES

PROBE = REPO / "src/qtrain/run/cpu_probe"


def _preset(name: str) -> dict:
    files = ["config/config.yaml"] + ([] if name == "paper" else [f"config/{name}.yaml"])
    return full_config(*(REPO / f for f in files))


SMOKE = _preset("smoke")


def _reference(cfg: dict) -> dict:
    """A hand-made record of ``cfg``: every network rule, two per-run rules, one other rule."""
    rules = {
        "pretrain": {"jobs": 3, "cpu_seconds": 44.0},
        "sparse_train": {"jobs": 9, "cpu_seconds": 120.0},
        "spectrum": {"jobs": 24, "cpu_seconds": 200.0},
        "prune": {"jobs": 3, "cpu_seconds": 15.0},
        "hhl_sweep": {"jobs": 1, "cpu_seconds": 30.0},
        "plot_fig1": {"jobs": 1, "cpu_seconds": 4.0},  # the cheapest job: 4 s of start-up
    }
    return {"preset": "smoke", "machine": "a test CPU", "config": cfg, "rules": rules}


def test_job_counts_of_the_smoke_preset_by_hand():
    jobs = rule_jobs(SMOKE)
    # 3 seeds train 3 variants each; spectra at steps 0, 20, 40, 60 of each variant, step 0
    # shared: 10 for the first seed, 7 (continuous and sparse, what C3-C4 read) for the others
    assert jobs["pretrain"] == 3 and jobs["sparse_train"] == 9 and jobs["error_proxy"] == 3 + 2 * 2
    assert len(spectrum_points(SMOKE)) == 1 + 3 * 3 and jobs["spectrum"] == 10 + 2 * 7
    assert jobs["linearized_window"] == 3 * 3  # windows x learning-rate scales, first seed only


def test_work_scales_with_steps_seeds_and_model_flops():
    base = rule_work(SMOKE)
    longer = rule_work(merge_config(SMOKE, {"sparse_train": {"steps": 120}}))
    assert longer["sparse_train"] == pytest.approx(2 * base["sparse_train"])
    assert longer["pretrain"] == base["pretrain"]
    one_seed = rule_work(merge_config(SMOKE, {"noise": {"extra_seeds": 0}}))
    for rule in ("pretrain", "pretrain_large", "sparse_train", "spectrum_large"):
        assert one_seed[rule] == pytest.approx(base[rule] / 3), rule
    assert one_seed["spectrum"] == pytest.approx(base["spectrum"] * 10 / 24)
    assert one_seed["linearized_window"] == base["linearized_window"]  # the first seed only
    wider = rule_work(merge_config(SMOKE, {"model": {"widen": 2}}))
    ratio = (
        model_stats({"depth": 8, "widen": 2}, SMOKE["data"]).forward_flops
        / model_stats(SMOKE["model"], SMOKE["data"]).forward_flops
    )
    assert wider["pretrain"] == pytest.approx(ratio * base["pretrain"])
    assert wider["pretrain_large"] == base["pretrain_large"]


def test_the_estimate_of_the_recorded_config_is_the_record():
    est = estimate(SMOKE, _reference(SMOKE))
    for rule, rec in _reference(SMOKE)["rules"].items():
        assert est.seconds[rule] == pytest.approx(rec["cpu_seconds"]), rule
    assert est.differing_sections == ()


def test_scaling_keeps_the_start_up_cost_per_job():
    """Twice the steps: sparse_train's compute doubles, its 9 jobs' start-up (4 s each, the
    cheapest recorded job) does not; a rule outside the network pipeline stays as recorded."""
    cfg = merge_config(SMOKE, {"sparse_train": {"steps": 120}})
    est = estimate(cfg, _reference(SMOKE))
    assert est.seconds["sparse_train"] == pytest.approx(9 * 4 + 2 * (120 - 9 * 4))
    assert est.seconds["hhl_sweep"] == 30.0 and est.seconds["pretrain"] == 44.0
    one_seed = estimate(merge_config(SMOKE, {"noise": {"extra_seeds": 0}}), _reference(SMOKE))
    assert one_seed.seconds["prune"] == pytest.approx(5.0)  # per-run rule: a third of the jobs


def test_differing_quantum_settings_are_named_not_guessed():
    cfg = merge_config(SMOKE, {"quantum": {"hhl": {"clock_qubits": [3]}}})
    est = estimate(cfg, _reference(SMOKE))
    assert est.differing_sections == ("quantum",)
    assert est.seconds["hhl_sweep"] == 30.0
    line = format_estimate(est, cores=2)
    assert "the quantum settings differ from the record's" in line


def test_the_line_gives_cpu_and_wall_time_and_the_reference():
    est = Estimate({"a": 1800.0, "pretrain": 1800.0}, (), "the smoke preset on a test CPU")
    line = format_estimate(est, cores=2)
    assert "60 min of CPU time for the jobs, about 30 min on 2 cores" in line
    assert "the smoke preset on a test CPU" in line
    gpu = format_estimate(est, cores=None, gpu_rules_on_gpu=True)
    assert "30 min of CPU time for the CPU jobs (GPU rules not counted)" in gpu
    assert "cores" not in gpu


def test_no_cuda_warns_that_gpu_rules_run_on_the_cpu(capsys):
    lines = startup_report(SMOKE, gpu_limit=0, cores=2)
    warning = next(line for line in lines if "WARNING" in line)
    assert all(rule in warning for rule in GPU_RULES) and "will run on the CPU" in warning
    assert "of CPU time" in warning
    assert any(
        "Estimated time of the whole workflow from scratch (rough)" in line and "on 2 cores" in line
        for line in lines
    )
    assert "WARNING: no CUDA device visible" in capsys.readouterr().err


def test_the_paper_preset_without_a_gpu_says_its_gpu_hours_do_not_apply():
    lines = startup_report(_preset("paper"), gpu_limit=0, cores=2)
    assert any(
        "those GPU hours apply on a GPU; here the GPU rules run on the CPU" in line
        for line in lines
    )
    warning = next(line for line in lines if "WARNING: no CUDA" in line)
    assert " h of CPU time" in warning  # hours, not minutes, on a CPU


def test_a_cluster_run_gets_no_wall_time_and_no_cpu_warning():
    lines = startup_report(_preset("paper"), gpu_limit=None, cores=2)
    assert not any("WARNING: no CUDA" in line for line in lines)
    est = next(line for line in lines if "Estimated time" in line)
    assert "GPU rules not counted" in est and ", about" not in est


def test_the_committed_record_covers_the_workflow():
    reference = load_reference()
    assert reference["machine"] and reference["preset"] and reference["recorded"]
    text = "\n".join(p.read_text() for p in (REPO / "workflow/rules").glob("*.smk"))
    for rule in reference["rules"]:
        assert f"rule {rule}:" in text, f"{rule} is not a rule of this workflow"
    for rule in ("pretrain", "sparse_train", "spectrum", "hhl_sweep", "claims"):
        assert reference["rules"][rule]["cpu_seconds"] > 0
    for preset in ("paper", "smoke"):
        est = estimate(_preset(preset))
        assert 0 < est.total < 1e9, preset


def test_the_probe_records_a_job_s_rule_and_cpu_seconds(tmp_path):
    """A script with a `snakemake` object (as Snakemake's script jobs have) under the probe:
    one line with its rule and at least the CPU time it spent busy."""
    script = tmp_path / "job.py"
    script.write_text(
        "import time\n"
        "class Job:\n"
        "    rule = 'busy'\n"
        "    wildcards = {'seed': 0}\n"
        "snakemake = Job()\n"
        "end = time.process_time() + 0.3\n"
        "while time.process_time() < end:\n"
        "    pass\n"
    )
    log = tmp_path / "probe.jsonl"
    env = dict(os.environ, PYTHONPATH=str(PROBE), QTRAIN_CPU_PROBE=str(log))
    subprocess.run([sys.executable, str(script)], env=env, check=True)
    subprocess.run([sys.executable, "-c", "pass"], env=env, check=True)  # no job: no line
    (line,) = log.read_text().splitlines()
    job = json.loads(line)
    assert job["rule"] == "busy" and job["wildcards"] == {"seed": "0"}
    assert job["cpu_seconds"] >= 0.3


def test_a_dry_run_prints_the_estimate_and_the_warning():
    result = subprocess.run(
        [SNAKEMAKE, "-n", "--cores", "2", "--configfile", "config/smoke.yaml"],
        cwd=REPO, capture_output=True, text=True, timeout=600,
        env=dict(os.environ, CUDA_VISIBLE_DEVICES=""),
    )  # fmt: skip
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    assert (
        "qtrain: Estimated time of the whole workflow from scratch (rough):" in out
        and "on 2 cores" in out
    )
    assert "qtrain: WARNING: no CUDA device visible" in out


def test_an_explicit_gpu_0_warns_too_and_keeps_the_wall_time():
    lines = startup_report(_preset("paper"), gpu_limit=None, cores=4, gpus=0)
    assert any("WARNING: --resources gpu=0: the rules that declare a GPU" in x for x in lines)
    est = next(line for line in lines if "Estimated time" in line)
    assert "on 4 cores" in est and "GPU rules not counted" not in est


def test_an_explicit_gpu_0_on_the_command_line_warns_before_any_job():
    result = subprocess.run(
        [SNAKEMAKE, "-n", "--cores", "2", "--resources", "gpu=0"],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    assert "qtrain: WARNING: --resources gpu=0" in out and "on 2 cores" in out


def test_the_probe_log_sums_to_rules(tmp_path):
    log = tmp_path / "probe.jsonl"
    jobs = [("spectrum", 1.25), ("claims", 0.5), ("spectrum", 2.0), ("spectrum", 0.75)]
    log.write_text("".join(json.dumps({"rule": r, "cpu_seconds": c}) + "\n" for r, c in jobs))
    assert summarize_probe(log) == {
        "claims": {"jobs": 1, "cpu_seconds": 0.5},
        "spectrum": {"jobs": 3, "cpu_seconds": 4.0},
    }
    # the committed record is such a sum: every rule's jobs and seconds positive
    assert all(r["jobs"] > 0 and r["cpu_seconds"] > 0 for r in load_reference()["rules"].values())
