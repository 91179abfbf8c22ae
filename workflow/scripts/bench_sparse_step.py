"""Rule bench_sparse_step: samples/second of a masked SGD step and its overhead over dense."""

from qtrain.run.job import setup_logging

log = setup_logging(snakemake.log[0], job=snakemake)

import pandas as pd  # noqa: E402
import torch  # noqa: E402

from qtrain.bench.sparse_step import sparse_step_throughput  # noqa: E402
from qtrain.run.devices import select_device  # noqa: E402
from qtrain.run.files import write_table  # noqa: E402
from qtrain.run.provenance import write_provenance  # noqa: E402

torch.set_num_threads(snakemake.threads)
device = select_device(snakemake.resources.get("gpu", 0))
rows = []
for case in snakemake.params.cases:
    log.info("benchmark case %s on %s", case, device)
    rows += sparse_step_throughput(device=device, **case)
table = pd.DataFrame(rows)
write_table(table, snakemake.output[0])
write_provenance(snakemake.output[0], {"cases": snakemake.params.cases}, device=device)
summary = table.groupby(["model", "batch", "kind"])["seconds"].median().unstack("kind")
summary["masked_overhead"] = summary["masked"] / summary["dense"] - 1
log.info("median seconds per step:\n%s", summary.to_string())
