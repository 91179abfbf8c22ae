"""Rule bench_hvp: HVP time / gradient time on one batch, ours against a PyHessian-style
baseline, and the wall time of a paper-size spectrum (M = 256 + 64 bounds steps, batch 2048)."""

from qtrain.run.job import setup_logging

log = setup_logging(snakemake.log[0], job=snakemake)

import pandas as pd  # noqa: E402
import torch  # noqa: E402

from qtrain.bench.hessian import hvp_vs_gradient  # noqa: E402
from qtrain.learning.models import cifar_resnet  # noqa: E402
from qtrain.learning.pruning import global_magnitude_masks  # noqa: E402
from qtrain.run.devices import select_device  # noqa: E402
from qtrain.run.files import write_table  # noqa: E402
from qtrain.run.provenance import write_provenance  # noqa: E402

params = snakemake.params
torch.set_num_threads(snakemake.threads)
device = select_device(snakemake.resources.get("gpu", 0))
cases = params.gpu_cases if device.type == "cuda" else params.cpu_cases
rows = []
for case in cases:
    torch.manual_seed(0)
    model = cifar_resnet(case["depth"], case["widen"], 100, 3).to(device)
    masks = global_magnitude_masks(model, params.keep_fraction)
    masks.apply(model)  # the pruned start: spectra are taken in the restricted space
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(case["batch"], 3, 32, 32, generator=gen).to(device)
    y = torch.randint(100, (case["batch"],), generator=gen).to(device)
    log.info("case %s on %s", case, device)
    result = hvp_vs_gradient(
        model,
        x,
        y,
        repeats=case["repeats"],
        space="restricted",
        masks={k: m.to(device) for k, m in masks.masks.items()},
        micro_batch=case.get("micro_batch"),
    )
    scale = params.spectrum_batch / case["batch"]
    for mode in ("reuse", "recompute"):
        result[f"spectrum_{mode}_s"] = params.spectrum_hvps * result[f"hvp_{mode}_s"] * scale
    result["spectrum_estimate"] = "measured batch" if scale == 1 else f"scaled x{scale:g}"
    rows.append({"model": f"ResNet-{case['depth']}-{case['widen']}", **case, **result})
    log.info(
        "%s batch %d: gradient %.3g s, HVP reuse %.2fx, recompute %.2fx, baseline %.2fx",
        rows[-1]["model"],
        case["batch"],
        result["gradient_s"],
        result["ratio_reuse"],
        result["ratio_recompute"],
        result["ratio_baseline"],
    )
table = pd.DataFrame(rows)
write_table(table, snakemake.output[0])
write_provenance(snakemake.output[0], {"cases": cases}, device=device)
