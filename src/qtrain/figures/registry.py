"""Every figure by its id: how its tables are built from the rule's inputs and how it is drawn.

One generic script (``workflow/scripts/plot_figure.py``) serves every figure rule of
``workflow/rules/figures.smk`` through :func:`make_figure`. A :class:`FigureSpec` has

- ``tables``: the rule's inputs → everything the drawing needs; the entries named like the
  rule's CSV outputs (``table``, ``downloads``, ``masses``, …) are written there;
- ``plot``: that data → a matplotlib figure (the functions of the topic modules);
- ``copies``: CSV outputs copied byte for byte from the input of the same name (a stage's fit
  table drawn as it is: the figure shows the very numbers the claims judge);
- ``provenance``: the record written beside each output (by default the input paths) and a
  ``note`` for it.

Options (``params.options`` of the rule: learning rate, cut-off, title, …) reach both.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from qtrain.figures import carleman, costs, proxy, quantum, spectra, training
from qtrain.figures.pipeline import plot_fig1
from qtrain.figures.style import save_figure, stamp
from qtrain.paper import RESNET_SIZES
from qtrain.run.files import copy_file, load_table, write_table
from qtrain.run.provenance import write_provenance
from qtrain.spectra.density import spectra_from_tables

__all__ = ["FIGURES", "FigureSpec", "make_figure"]

log = logging.getLogger(__name__)

Inputs = Mapping[str, Any]
Options = Mapping[str, Any]


def _paths(value: Any) -> list[str]:
    return [str(value)] if isinstance(value, str) else [str(v) for v in value]


def _inputs_record(inputs: Inputs, options: Options) -> dict[str, Any]:
    return {"inputs": [p for value in inputs.values() for p in _paths(value)]}


def _no_tables(inputs: Inputs, options: Options) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class FigureSpec:
    """How one figure is made (module docstring)."""

    plot: Callable[[Mapping[str, Any], Options], Any]
    tables: Callable[[Inputs, Options], dict[str, Any]] = _no_tables
    copies: tuple[str, ...] = ()
    provenance: Callable[[Inputs, Options], dict[str, Any]] = _inputs_record
    note: str | None = None


# --------------------------------------------------------------------------- table builders


def _fig2a_tables(inputs: Inputs, options: Options) -> dict[str, Any]:
    """The main model's ridges of the drawn seed, from the spectra stage's densities and Ritz
    nodes, and each variant's download steps."""
    densities, nodes = load_table(inputs["densities"]), load_table(inputs["nodes"])
    spectra_ = spectra_from_tables(densities, nodes, "main", int(options["seed"]))
    downloads = {}
    for path in inputs["records"]:
        rec = load_table(path)
        steps = rec.loc[rec["download"].astype(bool), "step"].tolist()
        downloads[str(rec["variant"].iloc[0])] = steps
    return {"table": spectra.ridge_table(spectra_), "spectra": spectra_, "downloads": downloads}


def _fig2b_tables(inputs: Inputs, options: Options) -> dict[str, Any]:
    curves = pd.concat([load_table(p) for p in inputs["curves"]], ignore_index=True)
    return {"table": curves}


FIG2C_COLUMNS = [
    "step",
    "variant",
    "window",
    "phase",
    "loss",
    "train_accuracy",
    "test_accuracy",
    "density",
    "download",
]


def _fig2c_tables(inputs: Inputs, options: Options) -> dict[str, Any]:
    records = pd.concat([load_table(p) for p in inputs["records"]], ignore_index=True)
    downloads = pd.concat([load_table(p) for p in inputs["downloads"]], ignore_index=True)
    return {"table": records[FIG2C_COLUMNS], "records": records, "downloads": downloads}


def _fig3_tables(inputs: Inputs, options: Options) -> dict[str, Any]:
    """The large model's density (the spectra stage's densities table) and its masses (the
    stage's masses table: the drawn seed's rows; the mean over its probes is the mass of the
    pooled density)."""
    densities = load_table(inputs["densities"])  # pandas reads floats back exactly
    rows = densities[(densities["model"] == "large") & (densities["seed"] == int(options["seed"]))]
    if rows.empty:
        raise KeyError(f"no large-model density of seed {options['seed']} in {inputs['densities']}")
    spec = {
        "grid": rows["lambda"].to_numpy(dtype=float),
        "density": rows["density"].to_numpy(dtype=float),
    }
    table = load_table(inputs["masses"])
    rows = table[(table["model"] == "large") & (table["seed"] == int(options["seed"]))]
    masses = rows.drop(columns=["model", "variant"]).mean(numeric_only=True).to_dict()
    return {
        "table": pd.DataFrame({"lambda": spec["grid"], "density": spec["density"]}),
        "masses": rows.assign(model=options["label"]),
        "spectrum": spec,
        "mass_row": masses,
    }


def _stage_tables(*names: str, empty_ok: tuple[str, ...] = ()) -> Callable[..., dict[str, Any]]:
    """A table builder that reads the inputs ``names`` as they are."""

    def read(inputs: Inputs, options: Options) -> dict[str, Any]:
        return {name: load_table(inputs[name], empty_ok=name in empty_ok) for name in names}

    return read


def _figS7_tables(inputs: Inputs, options: Options) -> dict[str, Any]:
    data = _stage_tables("table", "steps", "windows", "hhl_windows", empty_ok=("hhl_windows",))(
        inputs, options
    )
    for key, frame in data.items():  # the figure draws the first seed; C12 reads every replicate
        if "replicate" in frame:
            data[key] = frame[frame["replicate"] == 0].reset_index(drop=True)
    table = data["table"]
    data["grid"] = table[table["study"] == "grid"].reset_index(drop=True)
    data["hhl"] = table[table["study"] == "hhl"].reset_index(drop=True)
    if data["hhl"].empty:
        data["hhl_windows"] = data["windows"].iloc[:0]
    return data


def _figS8_tables(inputs: Inputs, options: Options) -> dict[str, Any]:
    return {
        "table": load_table(inputs["table"]),
        "correlations": load_table(inputs["correlations"]),
    }


# --------------------------------------------------------------------------- the registry

FIGURES: dict[str, FigureSpec] = {
    "fig1": FigureSpec(
        plot=lambda d, o: plot_fig1(
            o["stage_rules"],
            window_steps=o.get("window_steps", 100),
            keep_fraction=o.get("keep_fraction", 0.1),
            download_fraction=o.get("download_fraction", 0.1),
        ),
        provenance=lambda i, o: {"stages": [list(stage) for stage in o["stage_rules"]]},
    ),
    "fig2a": FigureSpec(
        tables=_fig2a_tables,
        plot=lambda d, o: spectra.plot_fig2a(
            d["spectra"], d["downloads"], cutoff=o["cutoff"], title=o["title"]
        ),
    ),
    "fig2b": FigureSpec(
        tables=_fig2b_tables,
        plot=lambda d, o: spectra.plot_fig2b(
            d["table"], list(o["conventions"]), o["lr"], cutoff=o["cutoff"], title=o["title"]
        ),
    ),
    "fig2c": FigureSpec(
        tables=_fig2c_tables,
        plot=lambda d, o: training.plot_fig2c(d["records"], d["downloads"], title=o["title"]),
    ),
    "fig3": FigureSpec(
        tables=_fig3_tables,
        plot=lambda d, o: spectra.plot_fig3(
            d["spectrum"],
            d["mass_row"],
            list(o["conventions"]),
            o["lr"],
            cutoff=o["cutoff"],
            title=o["title"],
            note=o.get("note", ""),
        ),
    ),
    "figS1": FigureSpec(
        tables=_stage_tables("table"),
        copies=("table",),
        plot=lambda d, o: carleman.plot_figS1(d["table"], o["max_factor"]),
    ),
    "figS2": FigureSpec(
        tables=_stage_tables("table"),
        copies=("table",),
        plot=lambda d, o: carleman.plot_figS2(d["table"]),
    ),
    "figS3": FigureSpec(
        tables=_stage_tables("table"),
        copies=("table",),
        plot=lambda d, o: carleman.plot_figS3(d["table"]),
    ),
    "figS4": FigureSpec(
        tables=_stage_tables("table"),
        copies=("table",),
        plot=lambda d, o: quantum.plot_figS4(d["table"]),
    ),
    "figS5": FigureSpec(
        tables=_stage_tables("table", "upload"),
        copies=("table",),
        plot=lambda d, o: quantum.plot_figS5(d["table"], d["upload"]),
    ),
    "figS6": FigureSpec(
        tables=_stage_tables("table", "summary"),
        copies=("table", "summary"),
        plot=lambda d, o: costs.plot_break_even(d["table"], d["summary"], RESNET_SIZES),
        note=costs.COST_MODEL_NOTE,
    ),
    "figS7": FigureSpec(
        tables=_figS7_tables,
        copies=("table",),
        plot=lambda d, o: quantum.plot_figS7(
            d["steps"], d["windows"], d["grid"], d["hhl_windows"], d["hhl"]
        ),
    ),
    "figS8": FigureSpec(
        tables=_figS8_tables,
        plot=lambda d, o: proxy.plot_figS8(
            d["table"], d["correlations"], list(o["conventions"]), title=o["title"]
        ),
    ),
    "figS9": FigureSpec(
        tables=_stage_tables("table"),
        copies=("table",),
        plot=lambda d, o: costs.plot_sensitivity(d["table"]),
        note=costs.COST_MODEL_NOTE,
    ),
    "figS10": FigureSpec(
        tables=_stage_tables("table", "decomposition"),
        copies=("table", "decomposition"),
        plot=lambda d, o: costs.plot_waterfall(d["table"], d["decomposition"]),
        note=costs.COST_MODEL_NOTE,
    ),
}
"""Figure id → :class:`FigureSpec`; each id has the rule ``plot_<id>`` in figures.smk."""


def make_figure(
    figure_id: str,
    inputs: Inputs,
    outputs: Mapping[str, str],
    options: Options,
    preset: str | None = None,
    label: str | None = None,
) -> str:
    """Build the figure ``figure_id`` of the rule ``plot_<figure_id>``: write its CSV tables
    (copied or built), its PDF and PNG (``outputs["pdf"]``, the PNG beside it) and each
    output's provenance record; returns a one-line summary for the log. ``label``: text
    stamped across the figure and kept in the records (a rehearsal's "not a result")."""
    spec = FIGURES[figure_id]
    data = spec.tables(inputs, options)
    rows = {}
    for name, path in outputs.items():
        if name in ("pdf", "png"):
            continue
        if name in spec.copies:
            copy_file(inputs[name], path)
        else:
            write_table(data[name], path)
        rows[name] = len(data[name]) if name in data else None
    fig = spec.plot(data, options)
    if label:
        stamp(fig, label)
    save_figure(fig, outputs["pdf"])
    record = spec.provenance(inputs, options)
    extra = {"note": spec.note} if spec.note else {}
    if label:
        extra["label"] = label
    for path in outputs.values():
        write_provenance(path, record, preset=preset, **extra)
    return f"{figure_id}: " + (
        ", ".join(f"{name} {n} rows" for name, n in rows.items()) or "no table"
    )
