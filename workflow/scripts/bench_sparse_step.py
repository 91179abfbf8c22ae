"""Rule bench_sparse_step: samples/second of a masked SGD step and its overhead over dense."""

from qtrain.run.job import job

with job(snakemake) as run:
    log = run.log
    import pandas as pd
    import torch

    from qtrain.bench.sparse_step import sparse_step_throughput
    from qtrain.run.devices import select_device
    from qtrain.run.files import write_table
    from qtrain.run.provenance import write_provenance

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
