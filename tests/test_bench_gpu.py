"""The prepared GPU benchmark (make bench-gpu) and the benchmark tables, on the CPU: CUDA-only
calls are mocked where they are reached; the whole script runs at toy sizes (slow)."""

from __future__ import annotations

import csv
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from qtrain.bench import gpu as bench_gpu
from qtrain.bench import memory as bench
from qtrain.bench import report as bench_report
from qtrain.run import devices as qdev
from qtrain.run import hours as qhours


def test_peak_memory_on_cuda_reads_the_allocator_counters(monkeypatch):
    """The CUDA branch: peak = max_memory_allocated after a reset, minus what was allocated."""
    calls = []
    monkeypatch.setattr(torch.cuda, "synchronize", lambda device=None: calls.append("sync"))
    monkeypatch.setattr(torch.cuda, "memory_allocated", lambda device=None: 1_000)
    monkeypatch.setattr(
        torch.cuda, "reset_peak_memory_stats", lambda device=None: calls.append("reset")
    )
    monkeypatch.setattr(torch.cuda, "max_memory_allocated", lambda device=None: 5_000)
    peak, out = bench.peak_memory(lambda: calls.append("fn") or 7, torch.device("cuda"))
    assert (peak, out) == (4_000.0, 7)
    assert calls.index("reset") < calls.index("fn") < len(calls) - 1  # synced after fn


def test_peak_memory_on_the_cpu_sees_a_large_allocation():
    size = 200_000_000  # bytes

    def allocate() -> float:
        block = torch.ones(size // 4)  # float32, touched
        return float(block[-1])

    peak, _ = bench.peak_memory(allocate, torch.device("cpu"))
    assert 0.9 * size < peak < 1.5 * size


def test_device_names_from_cuda_are_mocked_to_short_labels(monkeypatch):
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "NVIDIA H200 NVL")
    monkeypatch.setattr(
        torch.cuda,
        "get_device_properties",
        lambda device=None: SimpleNamespace(name="NVIDIA H200 NVL", total_memory=143e9),
    )
    assert bench_gpu.device_label(torch.device("cuda")) == "H200"
    assert qdev.machine_description(torch.device("cuda")) == "NVIDIA H200 NVL, 143 GB"
    assert bench_gpu.device_label(torch.device("cpu")) == "cpu"
    assert "cores" in qdev.machine_description(torch.device("cpu"))


def test_render_section_replaces_only_its_markers(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text("# Title\n\nhand-written\n\n<!-- BEGIN s -->\nold\n<!-- END s -->\n\ntail\n")
    bench_report.render_section(doc, "s", "| a |\n| --- |\n| 1 |", source="x.csv")
    text = doc.read_text()
    assert "old" not in text and "| 1 |" in text
    assert text.startswith("# Title\n\nhand-written") and text.rstrip().endswith("tail")
    bench_report.render_section(doc, "t", "new section")  # absent: appended
    bench_report.render_section(doc, "t", "newer section")
    assert doc.read_text().count("<!-- BEGIN t -->") == 1 and "newer section" in doc.read_text()


def test_tables_render_the_bench_rows():
    rows = [
        {
            "model": "ResNet-56-11",
            "parameters": 103_703_700,
            "dim": 103_703_700,
            "space": "dense",
            "batch": 1,
            "micro_batch": 1,
            "gradient_s_per_sample": 9.0,
            "hvp_s_per_sample": 40.0,
            "ratio_hvp_gradient": 4.44,
            "lanczos_steps": 8,
            "lanczos_vector_s_per_step": 0.5,
            "gradient_peak_mb": 1500.0,
            "lanczos_peak_mb": 6000.0,
            "spectrum_hours_extrapolated": 7300.0,
            "device": "cpu",
            "machine": "AMD EPYC, 2 cores",
        }
    ]
    table = bench_report.hessian_scale_table(rows)
    assert "ResNet-56-11 (103,703,700 params" in table and "| 4.44 |" in table
    assert "1.50 / 6.00" in table and "AMD EPYC, 2 cores" in table


@pytest.mark.slow
def test_bench_gpu_script_runs_end_to_end_at_tiny_size(tmp_path):
    """`python -m qtrain.bench.gpu --tiny` (CPU here): every CSV, the doc sections, and the
    cost table rows of this device, which the time estimate then prefers."""
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n")
    costs = tmp_path / "costs.csv"
    costs.write_text(qhours.COSTS_CSV.read_text())
    bench_gpu.main(
        ["--tiny", "--device", "cpu", "--skip-compile", "--out", str(tmp_path / "out"),
         "--doc", str(doc), "--costs", str(costs)]
    )  # fmt: skip
    out = tmp_path / "out"
    for name in ("hvp_variants", "memory", "unchunked_train_bn", "sparse_step", "hessian_scale"):
        with open(out / f"{name}.csv", newline="") as handle:
            assert list(csv.DictReader(handle)), name
    text = doc.read_text()
    for section in ("gpu-hvp-variants", "gpu-memory", "gpu-sparse-step", "gpu-hessian-scale"):
        assert f"<!-- BEGIN {section} -->" in text
    rows = qhours.load_costs(costs)
    measured = [r for r in rows if r["source"].startswith("measured")]
    assert {r["kind"] for r in measured} == {"gradient", "hvp", "train_step"}
    assert qhours.default_device(rows) == "cpu"
    assert len([r for r in rows if r["device"] == "H100"]) == 6  # extrapolated rows kept
    with open(out / "hvp_variants.csv", newline="") as handle:
        variants = {r["variant"]: r for r in csv.DictReader(handle)}
    assert float(variants["func"]["relative_error"]) < 1e-4  # exact to float32 rounding
    assert variants["bf16"]["exact"] == "False"
    assert Path(out / "hessian_scale.csv").stat().st_size > 0
