"""Captions true for the preset (issue 24, item 6) and each caption under its figure on a page
page (the report shows captions only behind a button): Fig. 1 draws the run's window length and
kept shares, Fig. 3 says whose masses its box shows, every report caption renders for both
presets, and each figure's page puts its caption under it."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

from qtrain.figures import plot_fig1
from qtrain.figures.gallery import figure_page_html, render_caption, write_figure_page
from qtrain.figures.spectra import plot_fig3
from qtrain.run.config_files import read_merged_config
from qtrain.run.estimate import full_config

REPO = Path(__file__).resolve().parents[1]
REPORT = REPO / "workflow/report"


def _preset(name: str) -> dict:
    files = ["config/config.yaml"] + ([] if name == "paper" else [f"config/{name}.yaml"])
    return full_config(*(REPO / f for f in files))


def _texts(fig) -> str:
    return " ".join(t.get_text() for ax in fig.axes for t in ax.texts)


def test_fig1_draws_the_run_s_window_and_kept_shares():
    smoke = _texts(plot_fig1(window_steps=20, keep_fraction=0.1, download_fraction=0.05))
    assert "every window (20 steps)" in smoke and "100 steps" not in smoke
    assert "largest 10%" in smoke and "top-5% readout" in smoke
    paper = _texts(plot_fig1())
    assert "every window (100 steps)" in paper and "largest 10%" in paper


@pytest.mark.parametrize(("preset", "steps"), [("smoke", 20), ("paper", 100)])
def test_fig1_caption_gives_the_preset_s_window(preset, steps):
    cfg = _preset(preset)
    assert cfg["sparse_train"]["window_steps"] == steps
    text = render_caption((REPORT / "fig1.rst").read_text(), cfg)
    assert f"window of {steps}\nsteps in this run" in text or f"window of {steps} steps" in text
    assert "largest\n10%" in text or "largest 10%" in text


def test_fig3_box_and_caption_say_whose_masses_they_are():
    import numpy as np

    grid = np.linspace(-1, 5, 64)
    spec = {"grid": grid, "density": np.exp(-((grid - 1) ** 2))}
    masses = {"dissipative_eigenvalue": 0.5, "divergent_eigenvalue": 0.1}
    fig = plot_fig3(spec, masses, ["eigenvalue"], 0.05, note="training seed 0; claim C2: x")
    assert "training seed 0; claim C2: x" in _texts(fig)
    smoke = _preset("smoke")
    seeds = 1 + smoke["noise"]["extra_seeds"]
    assert seeds == 3  # three training seeds (docs/decisions.md, "Replicates")
    text = " ".join(render_caption((REPORT / "fig3.rst").read_text(), smoke).split())
    assert "training seed 0 only" in text and f"mean over all {seeds} training seed(s)" in text


@pytest.mark.parametrize("preset", ["paper", "smoke"])
def test_every_report_caption_renders_for_the_preset(preset):
    """Jinja (every config key exists: StrictUndefined) and reStructuredText (no markup error)."""
    cfg = _preset(preset)
    for rst in sorted(REPORT.glob("*.rst")):
        html = render_caption(rst.read_text(), cfg)
        assert html.strip(), rst.name


def test_a_wrong_config_key_in_a_caption_fails():
    with pytest.raises(Exception, match="missing"):
        render_caption('{{ snakemake.config["missing"] }}', {"preset": "x"})


def _png(color: str) -> bytes:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1, 1))
    ax.set_facecolor(color)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def test_a_figure_page_puts_the_caption_under_the_figure(tmp_path):
    cfg = read_merged_config(REPO / "config/config.yaml", REPO / "config/smoke.yaml")
    png = _png("red")
    (tmp_path / "figA.png").write_bytes(png)
    rst = "**Figure A.** Preset ``{{ snakemake.config['preset'] }}``."
    (tmp_path / "figA.rst").write_text(rst)
    write_figure_page(
        "figA", tmp_path / "figA.png", tmp_path / "figA.rst", cfg, tmp_path / "a.html", "A"
    )
    page = (tmp_path / "a.html").read_text()
    data = base64.b64encode(png).decode()
    assert f'src="data:image/png;base64,{data}"' in page
    assert page.index("<img") < page.index("<figcaption>")
    assert ("<strong>Figure A.</strong>" in page and "<tt" in page) or "<code" in page
    assert "smoke" in page
    assert page == figure_page_html("figA", png, rst, cfg, "A")  # the file is the page


def test_every_figure_page_of_the_paper_preset_fits_a_report_frame():
    """Chromium loads no frame from a data URL over 2 MB: a page, base64-encoded once more by
    the report, must stay below it (the smoke figures as committed, the largest caption)."""
    cfg = _preset("paper")
    captions = {p.stem: p.read_text() for p in REPORT.glob("fig*.rst")}
    for png in sorted((REPO / "docs/results/smoke").glob("*.png")):
        page = figure_page_html(png.stem, png.read_bytes(), captions[png.stem], cfg, png.stem)
        assert len(page.encode()) * 4 / 3 < 1.5 * 2**20, png.name
