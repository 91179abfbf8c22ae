"""All figures: one shared style, one module per topic, a registry from figure id to its tables
and plot function.

- :mod:`qtrain.figures.style`: sizes, colours, labels, number formats, :func:`figure`,
  :func:`save_figure` (deterministic PDF and PNG);
- topic modules: :mod:`~qtrain.figures.pipeline` (Fig. 1), :mod:`~qtrain.figures.training`
  (Fig. 2c), :mod:`~qtrain.figures.spectra` (Fig. 2a, 2b, 3, figS8),
  :mod:`~qtrain.figures.carleman` (figS1-figS3), :mod:`~qtrain.figures.quantum` (figS4, figS5,
  figS7), :mod:`~qtrain.figures.costs` (figS6, figS9, figS10: the cost model);
- :mod:`qtrain.figures.registry`: ``FIGURES[id]`` and :func:`~qtrain.figures.registry.make_figure`,
  which the one plot script of the workflow calls.

Figures read small tables, never models, so restyling a figure never retrains anything.
"""

from __future__ import annotations

import qtrain.figures.style as _style
from qtrain.figures.pipeline import PIPELINE_STAGES, plot_fig1
from qtrain.figures.style import *  # noqa: F403 (the shared style)

__all__ = [*_style.__all__, "PIPELINE_STAGES", "plot_fig1"]
