"""Benchmark CSVs → Markdown tables in marked sections of docs/benchmarks.md (stdlib only).

A section is the text between ``<!-- BEGIN name -->`` and ``<!-- END name -->``; it is
replaced as a whole (appended at the end of the document when the markers are missing), so
hand-written text outside the markers survives. Used by ``make bench-docs`` (the CPU tables)
and by ``make bench-gpu`` (:mod:`qtrain.bench.gpu`).

    python -m qtrain.bench.report --doc docs/benchmarks.md \\
        --section hessian-scale results/bench/hessian_scale/*.csv
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "TABLES",
    "activation_table",
    "extrapolate_costs",
    "hessian_scale_table",
    "hvp_variants_table",
    "read_rows",
    "rehearsal_memory_table",
    "render_section",
    "sparse_step_table",
]


def read_rows(paths: Iterable[str | os.PathLike]) -> list[dict[str, Any]]:
    """All rows of the CSVs, numbers parsed where they parse."""
    rows = []
    for path in paths:
        with open(path, newline="") as handle:
            for row in csv.DictReader(handle):
                rows.append({k: _number(v) for k, v in row.items()})
    return rows


def _number(text: str) -> Any:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return text
    return int(value) if value.is_integer() and "." not in text and "e" not in text else value


def _fmt(value: Any, digits: int = 3) -> str:
    if isinstance(value, str) or value is None:
        return "" if value is None else value
    if isinstance(value, float) and not math.isfinite(value):
        return "—"
    if isinstance(value, int):
        return f"{value:,}"
    if value == 0:
        return "0"
    if abs(value) < 1e-3:
        return f"{value:.1e}"
    magnitude = math.floor(math.log10(abs(value)))
    decimals = max(digits - 1 - magnitude, 0)
    return f"{value:,.{decimals}f}"


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _machines(rows: Sequence[dict[str, Any]]) -> str:
    machines = sorted({str(r.get("machine", r.get("device", ""))) for r in rows})
    return "Machine: " + "; ".join(m for m in machines if m) + "."


#: A column's value: the row's key, or a function of the row.
Column = str | Callable[[dict[str, Any]], Any]


def _column_table(rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, Column]]) -> str:
    """A markdown table of ``rows``, one column per ``(header, key or function of the row)``."""
    body = [tuple(get(r) if callable(get) else r[get] for _, get in columns) for r in rows]
    return _table([header for header, _ in columns], body)


def _batch(row: dict[str, Any]) -> str:
    return f"{row['batch']} ({row['micro_batch']} per chunk)"


def _model_size(r: dict[str, Any]) -> str:
    return f"{r['model']} ({r['parameters']:,} params, dim {r['dim']:,}, {r['space']})"


def _peaks_gb(r: dict[str, Any]) -> str:
    return f"{_fmt(r['gradient_peak_mb'] / 1000)} / {_fmt(r['lanczos_peak_mb'] / 1000)}"


def hessian_scale_table(rows: Sequence[dict[str, Any]]) -> str:
    """:func:`qtrain.bench.hessian.hessian_at_scale` rows."""
    columns: list[tuple[str, Column]] = [
        ("model", _model_size),
        ("batch", _batch),
        ("gradient s/sample", "gradient_s_per_sample"),
        ("HVP s/sample", "hvp_s_per_sample"),
        ("HVP / gradient", "ratio_hvp_gradient"),
        ("Lanczos steps", "lanczos_steps"),
        ("vector s/step", "lanczos_vector_s_per_step"),
        ("peak GB (gradient / Lanczos)", _peaks_gb),
        ("paper spectrum h (extrapolated)", "spectrum_hours_extrapolated"),
        ("device", "device"),
    ]
    note = (
        "\n\nPaper spectrum: 256 + 64 Lanczos steps at batch 2048, from the measured median HVP "
        "time (linear in samples) and Lanczos vector time per step. Inputs are synthetic "
        "(timing only). " + _machines(rows)
    )
    return _column_table(rows, columns) + note


def hvp_variants_table(rows: Sequence[dict[str, Any]]) -> str:
    """:func:`qtrain.bench.hessian.hvp_variants` rows (``model`` added by the caller)."""
    columns: list[tuple[str, Column]] = [
        ("model", lambda r: r.get("model", "")),
        ("batch", _batch),
        ("variant", "variant"),
        ("median s", "seconds"),
        ("/ gradient", "ratio_to_gradient"),
        ("first call s", "first_call_s"),
        ("rel. error vs recompute", "relative_error"),
        ("exact", lambda r: "yes" if str(r["exact"]).lower() in ("true", "1") else "no"),
        ("device", "device"),
    ]
    return _column_table(rows, columns) + "\n\n" + _machines(rows)


def activation_table(rows: Sequence[dict[str, Any]]) -> str:
    """:func:`qtrain.bench.memory.activation_copies` rows."""
    columns: list[tuple[str, Column]] = [
        ("model", "model"),
        ("pass", "kind"),
        ("batches", "batches"),
        ("MB per sample (slope)", "mb_per_sample"),
        ("activation MB per sample", "activation_mb_per_sample"),
        ("copies (fit)", "copies"),
        ("s at the larger batch", lambda r: r.get("seconds_large", float("nan"))),
        ("device", "device"),
    ]
    return _column_table(rows, columns) + "\n\n" + _machines(rows)


def sparse_step_table(rows: Sequence[dict[str, Any]]) -> str:
    """:func:`qtrain.bench.sparse_step.sparse_step_throughput` rows (medians per model/kind)."""
    groups: dict[tuple, list[float]] = {}
    for r in rows:
        key = (r["model"], r["batch"], r["micro_batch"], r["kind"], r["device"])
        groups.setdefault(key, []).append(float(r["seconds"]))
    body = []
    for (model, batch, micro, kind, device), secs in sorted(groups.items()):
        med = sorted(secs)[len(secs) // 2]
        body.append((model, f"{batch} ({micro} per chunk)", kind, med, batch / med, device))
    header = ("model", "batch", "step", "median s/step", "samples/s", "device")
    return _table(header, body) + "\n\n" + _machines(rows)


def rehearsal_memory_table(rows: Sequence[dict[str, Any]]) -> str:
    """The rehearsal's memory table (:func:`qtrain.run.usage.memory_rows`), one line per rule: its
    jobs, the model, the largest measured peak against the prediction, and the CPU seconds."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(str(r["rule"]), []).append(r)
    body = []
    for rule, jobs in groups.items():
        worst = max(jobs, key=lambda r: _ratio(r))
        modelled = isinstance(worst.get("predicted_mb"), (int, float)) and math.isfinite(
            float(worst["predicted_mb"])
        )
        within = all(str(r.get("within")) == "True" for r in jobs) if modelled else "no model"
        cpu = [float(r["cpu_seconds"]) for r in jobs if _finite(r.get("cpu_seconds"))]
        body.append(
            (
                rule,
                len(jobs),
                worst.get("model", ""),
                int(worst["chunk"]) if _finite(worst.get("chunk")) else "",
                worst.get("model_mb", ""),
                worst.get("host_mb", ""),
                worst.get("baseline_mb", ""),
                worst.get("predicted_mb", ""),
                max(float(r["measured_mb"]) for r in jobs),
                worst.get("ratio", ""),
                "yes" if within is True else ("NO" if within is False else within),
                sum(cpu) if cpu else float("nan"),
                worst.get("device", ""),
            )
        )
    header = (
        "rule", "jobs", "model", "chunk", "device model MB", "host MB", "baseline MB",
        "predicted MB",
        "measured MB (max)", "ratio (max)", "within margin", "CPU s (all jobs)", "device",
    )  # fmt: skip
    margin = {r.get("margin") for r in rows} - {None, ""}
    note = f"Margin: measured ≤ predicted × (1 + {', '.join(_fmt(m) for m in margin)})."
    return _table(header, body) + "\n\n" + note


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(float(value))


def _ratio(row: dict[str, Any]) -> float:
    value = row.get("ratio")
    return float(value) if _finite(value) else float(row.get("measured_mb", 0)) * 1e-12


TABLES: dict[str, Callable[[Sequence[dict[str, Any]]], str]] = {
    "hessian-scale": hessian_scale_table,
    "hvp-variants": hvp_variants_table,
    "memory-model": activation_table,
    "rehearsal-memory": rehearsal_memory_table,
    "sparse-step": sparse_step_table,
}
"""Section name stem → table builder (a section ``gpu-hessian-scale`` uses ``hessian-scale``)."""


def render_section(doc: str | os.PathLike, name: str, markdown: str, source: str = "") -> None:
    """Replace the marked section ``name`` of ``doc`` with ``markdown`` (append it if absent)."""
    path = Path(doc)
    text = path.read_text() if path.exists() else ""
    begin = f"<!-- BEGIN {name} -->"
    end = f"<!-- END {name} -->"
    origin = f" from {source}" if source else ""
    stamp = f"<!-- generated by python -m qtrain.bench.report{origin}; do not edit by hand -->"
    block = f"{begin}\n{stamp}\n\n{markdown.strip()}\n\n{end}"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        text = text.rstrip("\n") + f"\n\n{block}\n"
    path.write_text(text if text.endswith("\n") else text + "\n")


def extrapolate_costs(variants_csv: str | os.PathLike, costs: str | os.PathLike | None = None):
    """Replace the extrapolated rows of the cost table by
    :func:`qtrain.run.hours.extrapolated_costs`
    with the recompute-mode HVP/gradient ratio measured in ``variants_csv``; measured rows stay.
    """
    from qtrain.run.hours import COSTS_CSV, extrapolated_costs, load_costs, write_costs

    rows = [r for r in read_rows([variants_csv]) if r["variant"] == "recompute"]
    if not rows:
        raise ValueError(f"{variants_csv} has no 'recompute' row")
    row = rows[0]
    source = f"{row['model']}, batch {row['batch']}, {row['device']} ({row.get('machine', '')})"
    path = costs or COSTS_CSV
    kept = [r for r in load_costs(path) if r["source"].startswith("measured")]
    write_costs(kept + extrapolated_costs(float(row["ratio_to_gradient"]), ratio_source=source),
                path)  # fmt: skip


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: render CSVs into one marked section of a Markdown document."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--doc", default="docs/benchmarks.md")
    parser.add_argument("--section", help="marker name, e.g. hessian-scale")
    parser.add_argument("--kind", help="table builder (default: the section name without gpu-)")
    parser.add_argument(
        "--extrapolate-costs",
        metavar="HVP_VARIANTS_CSV",
        help="rewrite the extrapolated rows of the cost table (qtrain.run.hours) from the "
        "recompute "
        "HVP/gradient ratio in this CSV",
    )
    parser.add_argument("csv", nargs="*")
    args = parser.parse_args(argv)
    if args.extrapolate_costs:
        extrapolate_costs(args.extrapolate_costs)
    if not args.section:
        return
    kind = args.kind or args.section.removeprefix("gpu-")
    if kind not in TABLES:
        parser.error(f"unknown table kind {kind!r}; known: {sorted(TABLES)}")
    rows = read_rows(args.csv)
    render_section(args.doc, args.section, TABLES[kind](rows), source=" ".join(args.csv))


if __name__ == "__main__":  # pragma: no cover
    main()
