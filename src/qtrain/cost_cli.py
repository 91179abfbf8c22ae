"""``qtrain-cost``: price quantum against classical training of any model (a cost MODEL).

    qtrain-cost --params 7451044
    qtrain-cost --model resnet56_11 --steps 400 --window 100 --epsilon 0.01
    qtrain-cost --model vit_b_16 --scenario favourable --csv vit.csv

The model is a parameter count (``--params``; its FLOPs per sample are ``--flops-per-sample``
or, without it, n times the FLOPs per parameter per sample counted for the paper's ResNet-32-4)
or a named project ResNet / torchvision model (``--model``: parameters and FLOPs counted by
torch on the meta device, :func:`qtrain.learning.flops.model_flops`). Pricing is the cost
stage's own algorithm (:func:`qtrain.quantum.costs.calculator.price`, qdk's estimator). This
module sits above ``learning`` and ``quantum`` (tests/test_architecture.py), which never
import each other; torch is imported only for ``--model``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["main", "parse_args"]


def _value(text: str) -> Any:
    import yaml

    return yaml.safe_load(text)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line (``qtrain-cost --help``)."""
    p = argparse.ArgumentParser(
        prog="qtrain-cost",
        description="Price quantum training (the costed Carleman/linear-solver algorithm of "
        "docs/cost_model.md, physical counts from qdk) against classical SGD for any model. "
        "A MODEL, not a measurement.",
    )
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--params", type=int, help="number of parameters n")
    what.add_argument(
        "--model",
        help="a project ResNet (resnet32_4, ResNet-56-11, ...) or a torchvision model name "
        "(resnet50, vit_b_16, ...): parameters and FLOPs counted, not typed",
    )
    p.add_argument(
        "--flops-per-sample",
        type=float,
        help="with --params: forward + backward "
        "FLOPs of one sample (default: n x ResNet-32-4's counted FLOPs per parameter)",
    )
    p.add_argument("--image-size", type=int, help="with --model: input side in pixels")
    p.add_argument("--classes", type=int, help="with --model: output classes")
    p.add_argument("--steps", type=int, help="SGD steps of the run (default 400)")
    p.add_argument("--window", type=int, help="steps per quantum window T (default 100)")
    p.add_argument(
        "--epsilon",
        type=float,
        help="relative l2 precision of each window's increment (default 0.01)",
    )
    p.add_argument("--batch", type=int, help="samples per SGD step (default 2048)")
    p.add_argument(
        "--scenario",
        choices=("both", "base", "favourable"),
        default="both",
        help="the configured assumptions, the bound most favourable to quantum, or both",
    )
    p.add_argument("--qubit-model", help="qdk qubit model (default: each scenario's own)")
    p.add_argument(
        "--config",
        help="a config file whose quantum.resources to use (a preset "
        "overlay is merged onto the config.yaml beside it)",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one quantum.resources assumption (repeatable)",
    )
    p.add_argument("--csv", help="write the decomposition and the summary to this CSV file")
    return p.parse_args(argv)


def _model(args: argparse.Namespace) -> tuple[str, int, float, str]:
    """(name, parameters, FLOPs per sample, where the FLOPs come from)."""
    if args.model:
        from qtrain.learning.flops import model_flops

        try:
            counts = model_flops(args.model, args.image_size, args.classes)
        except ValueError as err:
            raise SystemExit(f"qtrain-cost: {err}") from err
        source = f"{counts['label']}, {counts['image_size']}x{counts['image_size']} inputs, counted"
        return args.model, int(counts["parameters"]), counts["flops_per_sample"], source
    from qtrain.paper import FLOPS_PER_SAMPLE, RESNET_SIZES

    if args.flops_per_sample:
        return f"n={args.params}", args.params, args.flops_per_sample, "given"
    ratio = FLOPS_PER_SAMPLE["resnet32_4"] / RESNET_SIZES["resnet32_4"]
    source = f"n x {ratio:.4g} FLOPs per parameter and sample, ResNet-32-4's count"
    return f"n={args.params}", args.params, args.params * ratio, source


def main(argv: Sequence[str] | None = None) -> int:
    """Print the decomposition of quantum / classical wall-clock for the model; with
    ``--csv`` also write it (decomposition rows, then one summary row per scenario)."""
    args = parse_args(argv)
    name, params, flops, source = _model(args)
    from qtrain.quantum.costs.calculator import calculator_settings, format_table, price

    overrides: dict[str, Any] = {}
    for item in args.set:
        key, sep, text = item.partition("=")
        if not sep:
            raise SystemExit(f"--set needs KEY=VALUE, got {item!r}")
        overrides[key.strip()] = _value(text)
    for key, value in (
        ("total_steps", args.steps),
        ("steps_per_window", args.window),
        ("epsilon", args.epsilon),
        ("classical_batch", args.batch),
    ):
        if value is not None:
            overrides[key] = value
    try:
        s, sweep = calculator_settings(args.config, overrides)
    except (TypeError, ValueError) as err:
        raise SystemExit(f"qtrain-cost: {err}") from err
    scenarios = ("base", "favourable") if args.scenario == "both" else (args.scenario,)
    table, summary = price(params, flops, s, sweep, name, scenarios, args.qubit_model)
    print("qtrain-cost: a cost MODEL (docs/cost_model.md), not a measurement")
    print(f"model {name}: {params:,} parameters, {flops:.4g} FLOPs per sample ({source})")
    print(
        f"run: {s.total_steps} SGD steps of batch {s.classical_batch} in windows of T = "
        f"{s.steps_per_window}; eps = {s.epsilon:g} on each window's increment; the base "
        f"evolves {'every weight' if s.window_space == 'all' else 'the kept weights'}"
    )
    print(format_table(table, summary))
    if args.csv:
        import pandas as pd

        pd.concat([table.assign(row="factor"), summary.assign(row="summary")]).to_csv(
            args.csv, index=False
        )
        print(f"written: {args.csv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
