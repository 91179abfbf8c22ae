"""Rule bench_memory: the fit of the memory model of qtrain.run.resources (bytes per sample of a
training step and of an exact HVP, in units of the model's float32 activation bytes)."""

from qtrain.run.job import setup_logging

log = setup_logging(snakemake.log[0], job=snakemake)

import pandas as pd  # noqa: E402
import torch  # noqa: E402

from qtrain.bench.memory import activation_copies  # noqa: E402
from qtrain.run.devices import machine_description, select_device  # noqa: E402
from qtrain.run.files import write_table  # noqa: E402
from qtrain.run.provenance import write_provenance  # noqa: E402
from qtrain.run.resources import ACTIVATION_COPIES  # noqa: E402

params = snakemake.params
torch.set_num_threads(snakemake.threads)
device = select_device(snakemake.resources.get("gpu", 0))
batches = tuple(params.gpu_batches if device.type == "cuda" else params.cpu_batches)
rows = []
for depth, widen in params.models:
    for kind in params.kinds:
        rows.append(activation_copies(depth, widen, kind, batches, device))
        log.info("%s", rows[-1])
table = pd.DataFrame(rows).assign(machine=machine_description(device))
table["model_constant"] = table["kind"].map(ACTIVATION_COPIES)
log.info("fitted copies (max per pass): %s", table.groupby("kind")["copies"].max().to_dict())
write_table(table, snakemake.output[0])
write_provenance(snakemake.output[0], {"models": params.models, "batches": batches}, device=device)
