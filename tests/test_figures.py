"""The shared figure style and Fig. 1 (qtrain.figures)."""

from __future__ import annotations

import re

from qtrain.figures import PIPELINE_STAGES, VARIANT_COLORS, plot_fig1, save_figure


def workflow_rule_names(repo) -> set[str]:
    names = set()
    for path in [repo / "Snakefile", *sorted((repo / "workflow/rules").glob("*.smk"))]:
        names |= set(re.findall(r"^rule (\w+):", path.read_text(), flags=re.MULTILINE))
    return names


def test_fig1_names_only_real_rules(repo):
    rules = workflow_rule_names(repo)
    named = {name for stage in PIPELINE_STAGES for name in stage[2].split("\n")}
    assert named and named <= rules, sorted(named - rules)
    assert {stage[3] for stage in PIPELINE_STAGES} == {"classical", "quantum"}


def test_figures_are_byte_for_byte_deterministic(tmp_path):
    first = save_figure(plot_fig1(), tmp_path / "a" / "fig1")
    second = save_figure(plot_fig1(), tmp_path / "b" / "fig1")
    assert [p.suffix for p in first] == [".pdf", ".png"]
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_each_training_variant_and_regime_has_its_own_colour():
    for group in (
        ("continuous", "sparse", "qram"),
        ("dissipative", "almost_dissipative", "divergent"),
    ):
        colours = [VARIANT_COLORS[name] for name in group]
        assert len(set(colours)) == len(group), group
