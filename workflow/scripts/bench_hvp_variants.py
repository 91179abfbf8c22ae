"""Rule bench_hvp_variants: every HVP variant beside a gradient on one batch, side by side, with
its error against the reference HVP (qtrain.bench.hessian.hvp_variants)."""

from qtrain.run.job import setup_logging

log = setup_logging(snakemake.log[0], job=snakemake)

import pandas as pd  # noqa: E402
import torch  # noqa: E402

from qtrain.bench.hessian import VARIANTS, hvp_variants  # noqa: E402
from qtrain.learning.models import cifar_resnet  # noqa: E402
from qtrain.learning.pruning import global_magnitude_masks  # noqa: E402
from qtrain.run.devices import machine_description, select_device  # noqa: E402
from qtrain.run.files import write_table  # noqa: E402
from qtrain.run.provenance import write_provenance  # noqa: E402

torch.set_num_threads(snakemake.threads)
device = select_device(snakemake.resources.get("gpu", 0))
case = snakemake.params.case["gpu" if device.type == "cuda" else "cpu"]
machine = machine_description(device)
log.info("case %s on %s (%s)", case, device, machine)
torch.manual_seed(0)
model = cifar_resnet(case["depth"], case["widen"], 100, 3)
masks = global_magnitude_masks(model, snakemake.params.keep_fraction)
masks.apply(model)  # the pruned start, in the restricted space as the spectra
model.to(device)
gen = torch.Generator().manual_seed(0)
x = torch.randn(case["batch"], 3, 32, 32, generator=gen).to(device)
y = torch.randint(100, (case["batch"],), generator=gen).to(device)
rows = hvp_variants(
    model,
    x,
    y,
    tuple(v for v in VARIANTS if v not in case["skip"]),
    case["repeats"],
    space="restricted",
    masks={k: m.to(device) for k, m in masks.masks.items()},
    micro_batch=case.get("micro_batch"),
)
table = pd.DataFrame(rows).assign(machine=machine)
log.info("\n%s", table[["variant", "seconds", "ratio_to_gradient", "relative_error"]])
write_table(table, snakemake.output[0])
write_provenance(snakemake.output[0], {"case": case}, device=device)
