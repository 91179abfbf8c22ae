"""The workflow as a user meets it: dry runs, config validation, lint, envs, a tiny real run."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SNAKEMAKE = str(BIN / "snakemake")


def run(args, cwd=REPO, timeout=600):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


@pytest.mark.parametrize("preset", ["paper", "smoke"])
def test_dry_run(preset, dry_run):
    preset_args = ["--configfile", "config/smoke.yaml"] if preset == "smoke" else []
    result = dry_run("--cores", "2", *preset_args)  # shared with test_dry_run_has_the_spectra_stage
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout + result.stderr
    assert f"results/{preset}/seed_0/prune/sparsity.csv" in out
    other = "smoke" if preset == "paper" else "paper"
    assert f"results/{other}/" not in out  # presets write to separate trees


@pytest.mark.parametrize("preset", ["paper", "smoke"])
def test_cost_stage_dry_run_needs_no_training(preset):
    """The cost model's tables, figS6, figS9, figS10 and claims C11/C14 build without the
    network pipeline when only cost-stage targets are asked for (measured_spectra: auto)."""
    targets = [
        f"results/{preset}/claims/costs.csv",
        f"results/{preset}/figures/figS6.pdf",
        f"results/{preset}/figures/figS9.pdf",
        f"results/{preset}/figures/figS10.pdf",
        f"results/{preset}/costs/resnets.csv",
    ]
    args = [SNAKEMAKE, *targets, "-n", "--forceall", "--cores", "1"]
    if preset == "smoke":
        args += ["--configfile", "config/smoke.yaml"]
    result = run(args)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    jobs = set(re.findall(r"^rule (\w+):$|^localrule (\w+):$", out, re.MULTILINE))
    names = {a or b for a, b in jobs}
    assert {
        "classical_flops",
        "cost_measured_inputs",
        "cost_resnets",
        "cost_break_even",
        "cost_sensitivity",
        "cost_scaling",
        "cost_decomposition",
        "claims_costs",
        "plot_figS6",
        "plot_figS9",
        "plot_figS10",
    } <= names, names
    assert not names & {"pretrain", "sparse_train", "spectrum", "error_proxy"}, names


def test_cost_stage_uses_the_run_spectrum_when_the_run_trains(tmp_path):
    """measured_spectra: auto feeds the run's Hessian spectrum at step 0 to the cost model
    whenever the run builds the network pipeline (the default target), and never with false."""
    args = [SNAKEMAKE, "-n", "--forceall", "--cores", "1", "--configfile", "config/smoke.yaml"]
    out = run(args)
    assert out.returncode == 0, out.stdout + out.stderr
    block = out.stdout.split("rule cost_measured_inputs:")[1].split("\n\n")[0]
    assert "results/smoke/seed_0/spectra/continuous/step_00000.npz" in block
    overlay = tmp_path / "off.yaml"
    overlay.write_text("quantum:\n  resources:\n    measured_spectra: false\n")
    off = run([*args, str(overlay)])
    assert off.returncode == 0, off.stdout + off.stderr
    block = off.stdout.split("rule cost_measured_inputs:")[1].split("\n\n")[0]
    assert "step_00000.npz" not in block


def test_one_figure_target_alone_dry_run():
    result = run(
        [
            SNAKEMAKE,
            "results/smoke/seed_0/prune/sparsity.csv",
            "-n",
            "--cores",
            "2",
            "--configfile",
            "config/smoke.yaml",
        ]
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("prune:\n  keep_fraction: 1.5\n", "['prune']['keep_fraction']"),
        ("prune:\n  keep_fraction: 0\n", "['prune']['keep_fraction']"),
        ("model:\n  depth: 33\n  widen: 1\n", "['model']['depth']"),
        ("prune:\n  keep_fractoin: 0.1\n", "keep_fractoin"),
        ("pretrain:\n  epochs: 1\n  batch_size: 8\n  lr: -1\n", "['pretrain']['lr']"),
        ("data:\n  dataset: mnist\n", "['data']['dataset']"),
        ("seeed: 3\n", "seeed"),
    ],
)
def test_bad_config_fails_before_any_job_naming_the_key(tmp_path, override, key):
    bad = tmp_path / "bad.yaml"
    bad.write_text(override)
    result = run([SNAKEMAKE, "-n", "--cores", "1", "--configfile", str(bad)])
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert key in out, out[-2000:]
    assert "Job stats" not in out


def test_config_check_beyond_schema(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("pretrain:\n  epochs: 1\n  batch_size: 5000\n  lr: 0.1\n")
    result = run([SNAKEMAKE, "-n", "--cores", "1", "--configfile", "config/smoke.yaml", str(bad)])
    assert result.returncode != 0
    assert "pretrain.batch_size" in result.stdout + result.stderr


def test_presets_use_only_schema_keys_and_are_documented():
    schema = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
    readme = (REPO / "config/README.md").read_text()

    def keys(node, prefix=""):
        for name, sub in node.get("properties", {}).items():
            path = f"{prefix}{name}"
            yield path
            if sub.get("type") == "object":
                yield from keys(sub, path + ".")

    for path in keys(schema):
        assert f"`{path}`" in readme, f"config key {path} is not documented in config/README.md"
    for preset in ("config.yaml", "smoke.yaml"):
        cfg = yaml.safe_load((REPO / "config" / preset).read_text())
        assert cfg["preset"] == preset.replace("config.yaml", "paper").replace(".yaml", "")


# The conda envs against the lock and pyproject: tests/test_lock.py.


def test_every_rule_has_log_and_conda():
    for smk in (REPO / "workflow/rules").glob("*.smk"):
        text = smk.read_text()
        for block in re.split(r"\n(?=rule )", text):
            if block.startswith("rule ") and not block.startswith(("rule all", "rule bench:")):
                assert "log:" in block and "conda:" in block, f"{smk.name}: {block[:60]}"


def test_snakemake_lint_clean():
    result = run([SNAKEMAKE, "--lint"])
    assert result.returncode == 0, result.stdout + result.stderr


def test_snakefmt_clean():
    result = run([str(BIN / "snakefmt"), "--check", "Snakefile", "workflow"])
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_clean():
    result = run([str(BIN / "ruff"), "check", "."])
    assert result.returncode == 0, result.stdout + result.stderr
    result = run([str(BIN / "ruff"), "format", "--check", "."])
    assert result.returncode == 0, result.stdout + result.stderr


def test_ci_runs_the_readme_test_command():
    """The README names `make test` (units and the shared run) and `make test-all` (everything,
    what CI runs); the Makefile selects the tiers by marker (tests/tiers.py)."""
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci/run").read_text()
    makefile = (REPO / "Makefile").read_text()
    assert "make test " in readme and "make test-all" in readme
    assert ci.rstrip().splitlines()[-1] == "make test-all"
    assert re.search(
        r'^test: install\n\t\$\(BIN\)/pytest -m "not e2e"( --durations=\d+)?$',
        makefile,
        re.MULTILINE,
    )
    assert re.search(
        r"^test-all: install\n\t\$\(BIN\)/pytest( --durations=\d+)?$", makefile, re.MULTILINE
    )


@pytest.mark.slow
def test_tiny_run_prunes_pretrains_and_has_nothing_left_to_do(tiny_run):
    sparsity = pd.read_csv(tiny_run.results / "seed_0/prune/sparsity.csv")
    total = sparsity.iloc[-1]
    assert total["kept"] == total["total"] - round(0.9 * total["total"])
    assert total["pruned_nonzero"] == 0
    metrics = pd.read_csv(tiny_run.results / "seed_0/pretrain/metrics.csv")
    epochs = tiny_run.config["pretrain"]["epochs"]
    assert list(metrics["epoch"]) == list(range(1, epochs + 1))
    target = tiny_run.results / "seed_0/prune/sparsity.csv"
    prov = yaml.safe_load(Path(str(target) + ".provenance.json").read_text())
    assert prov["density"] == pytest.approx(0.1, abs=1e-4)
    log = tiny_run.root / f"logs/{tiny_run.preset}/pretrain/seed_0.log"
    assert log.read_text().count("epoch") >= epochs
    again = tiny_run.snakemake("-n")
    assert "Nothing to be done" in again.stdout + again.stderr


FIGURES = ["fig1", "fig2a", "fig2b", "fig2c", "fig3"] + [f"figS{i}" for i in range(1, 11)]


@pytest.mark.slow
def test_tiny_run_makes_every_figure_with_its_table(tiny_run):
    figures = tiny_run.results / "figures"
    for name in FIGURES:
        for suffix in (".pdf", ".png"):
            assert (figures / f"{name}{suffix}").stat().st_size > 10_000, name + suffix
        if name != "fig1":  # the pipeline diagram has no data
            table = pd.read_csv(figures / f"{name}.csv")
            assert len(table) > 0, name
            assert Path(str(figures / f"{name}.csv") + ".provenance.json").exists(), name


@pytest.mark.slow
def test_tiny_run_judges_every_claim_once(tiny_run):
    from qtrain.claims import CLAIMS, NOT_RUN, is_verdict

    claims = pd.read_csv(tiny_run.results / "claims.csv", keep_default_na=False)
    ids = list(dict.fromkeys(claims["claim_id"]))  # in order, each once
    assert ids == sorted(CLAIMS, key=lambda c: int(c[1:]))
    # one row per claim, and one per a-convention for the claims that depend on it (the
    # multiplier convention decides, a = -lambda and a = -eta*lambda are for comparison)
    counts = claims["claim_id"].value_counts()
    conventions = len(tiny_run.config["spectra"]["conventions"])
    assert all(counts[c] == conventions for c in ("C2", "C3", "C4"))
    assert counts["C13"] == 2 * conventions  # per measurement (polynomial network, network)
    # C11 once per premise (the theorem's, the measured ResNet structure); C14 once (favourable)
    assert counts["C11"] == 2 and counts["C14"] == 1
    assert all(is_verdict(v) for v in claims["verdict"]), set(claims["verdict"])
    assert set(claims["role"]) == {"decides", "for comparison"}
    assert (claims["value"] != "").all() and (claims["source"] != "").all()
    # the tiny preset runs no qram variant: C5 is reported as not run, not guessed
    c5 = claims.set_index("claim_id").loc["C5"]
    assert c5["verdict"] == NOT_RUN and "not measured" in c5["value"]
    markdown = (tiny_run.results / "claims.md").read_text()
    for claim_id in claims["claim_id"]:
        assert f"| {claim_id} |" in markdown
    provenance = pd.read_csv(tiny_run.results / "provenance.csv")
    assert provenance["git_commit"].notna().any()
    assert provenance["torch"].notna().all()


def test_readme_results_match_the_committed_smoke_run():
    """The README's figures exist and its verdict column is the committed smoke claims table."""
    readme = (REPO / "README.md").read_text()
    images = re.findall(r"\]\((docs/results/smoke/[^)]+\.png)\)", readme)
    assert len(images) == 15  # Fig. 1, 2a-c, 3, S1-S10
    for image in images:
        assert (REPO / image).stat().st_size > 10_000, image
    committed = pd.read_csv(REPO / "docs/results/smoke/claims.csv", keep_default_na=False)
    # one README row per claim; a claim judged in several rows (one per convention, premise or
    # model) lists their verdicts in table order, separated by " / "
    verdicts: dict[str, list[str]] = {}
    for claim, verdict in zip(committed["claim_id"], committed["verdict"], strict=True):
        verdicts.setdefault(claim, []).append(verdict)
    rows = re.findall(r"^\| (C\d+) [^|]*\| ([^|]+) \|", readme, flags=re.MULTILINE)
    assert [claim for claim, _ in rows] == list(verdicts)
    for claim, cell in rows:
        shown = [v.strip() for v in cell.split(" / ")]
        assert len(shown) == len(verdicts[claim]), (claim, cell, verdicts[claim])
        for verdict, full in zip(shown, verdicts[claim], strict=True):
            assert full.startswith(verdict), (claim, cell, verdicts[claim])
