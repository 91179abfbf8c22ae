"""A figure with its full caption on one self-contained HTML page (``figures/<id>.html``).

Snakemake 9's report shows a figure alone and its caption only behind the result's (i) button;
these pages, listed in the report under "Figures with captions", show each caption under its
figure. One page per figure: the report embeds each result as a data URL, and Chromium does not
load a frame from a data URL over 2 MB (a page of all figures is larger). The captions are the
report's own (``workflow/report/<id>.rst``: reStructuredText with Jinja expressions of
``snakemake.config``), rendered as Snakemake renders them (Jinja, then docutils), so a page and
the report never disagree.
"""

from __future__ import annotations

import base64
import html
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

__all__ = ["figure_page_html", "render_caption", "write_figure_page"]

_STYLE = (
    "body{font-family:sans-serif;font-size:14px;margin:1em auto;max-width:980px;color:#111;"
    "background:#fff;padding:0 1em}h1{font-size:16px}figure{margin:0}"
    "img{max-width:100%;height:auto;display:block}figcaption{margin-top:.6em;line-height:1.4}"
    "figcaption p{margin:.3em 0}code,tt{font-size:90%;background:#f3f3f3;padding:0 2px;"
    "overflow-wrap:anywhere}"
)


def render_caption(rst: str, config: Mapping[str, Any]) -> str:
    """A report caption as an HTML fragment: its Jinja expressions filled from ``config`` (as
    ``snakemake.config``; a missing key fails), then reStructuredText rendered by docutils."""
    import jinja2
    from docutils.core import publish_parts

    template = jinja2.Template(rst, undefined=jinja2.StrictUndefined)
    text = template.render(snakemake=SimpleNamespace(config=config))
    settings = {"report_level": 5, "halt_level": 2}  # a markup error fails, never shows
    with warnings.catch_warnings():  # docutils 0.22 renames writer_name (0.20 lacks the new)
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        return publish_parts(text, writer_name="html", settings_overrides=settings)["body"]


def figure_page_html(
    fig: str, png: bytes, caption_rst: str, config: Mapping[str, Any], title: str
) -> str:
    """The page: a title, the PNG (embedded) and its rendered caption under it."""
    data = base64.b64encode(png).decode("ascii")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{html.escape(title)}</h1>\n"
        f'<figure id="{html.escape(fig)}">\n'
        f'<img alt="{html.escape(fig)}" src="data:image/png;base64,{data}">\n'
        f"<figcaption>{render_caption(caption_rst, config)}</figcaption>\n</figure>\n"
        "</body>\n</html>\n"
    )


def write_figure_page(
    fig: str,
    png: str | os.PathLike,
    caption: str | os.PathLike,
    config: Mapping[str, Any],
    path: str | os.PathLike,
    title: str,
) -> None:
    """Write :func:`figure_page_html` of a PNG file and a caption file to ``path``, atomically."""
    from qtrain.run.files import atomic_write

    page = figure_page_html(fig, Path(png).read_bytes(), Path(caption).read_text(), config, title)
    with atomic_write(path, "w") as handle:
        handle.write(page)
