"""The shared figure style, Fig. 1 and the figure registry (qtrain.figures)."""

from __future__ import annotations

import ast
import re

from qtrain.figures import PIPELINE_STAGES, VARIANT_COLORS, plot_fig1, save_figure
from qtrain.figures.registry import FIGURES


def workflow_rule_names(repo) -> set[str]:
    names = set()
    for path in [repo / "Snakefile", *sorted((repo / "workflow/rules").glob("*.smk"))]:
        names |= set(re.findall(r"^rule (\w+):", path.read_text(), flags=re.MULTILINE))
    return names


def pipeline_rules(repo) -> list[list[str]]:
    """The rule names Fig. 1 draws under its boxes (PIPELINE_RULES of figures.smk)."""
    text = (repo / "workflow/rules/figures.smk").read_text()
    literal = re.search(r"^PIPELINE_RULES = (\[.*?^\])", text, flags=re.MULTILINE | re.DOTALL)
    return ast.literal_eval(literal.group(1))


def test_fig1_names_only_real_rules(repo):
    rules = workflow_rule_names(repo)
    stage_rules = pipeline_rules(repo)
    named = {name for names in stage_rules for name in names}
    assert named and named <= rules, sorted(named - rules)
    assert len(stage_rules) == len(PIPELINE_STAGES)
    assert {stage[2] for stage in PIPELINE_STAGES} == {"classical", "quantum"}
    # the library names no rules: the workflow passes them
    library_text = " ".join(" ".join(stage) for stage in PIPELINE_STAGES)
    assert not {word for word in re.findall(r"\w+", library_text)} & rules


def test_every_registered_figure_has_its_rule_and_caption(repo):
    rules = workflow_rule_names(repo)
    assert {f"plot_{fig}" for fig in FIGURES} <= rules
    assert {r.removeprefix("plot_") for r in rules if r.startswith("plot_")} == set(FIGURES)
    for fig in FIGURES:
        assert (repo / "workflow/report" / f"{fig}.rst").exists(), fig


def test_figures_are_byte_for_byte_deterministic(tmp_path, repo):
    stage_rules = pipeline_rules(repo)
    first = save_figure(plot_fig1(stage_rules), tmp_path / "a" / "fig1")
    second = save_figure(plot_fig1(stage_rules), tmp_path / "b" / "fig1")
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
