"""Rule bench_memory: the fit of the memory model of qtrain.run.resources (bytes per sample of a
training step and of an exact HVP, in units of the model's float32 activation bytes)."""

from qtrain.run.job import job

with job(snakemake) as run:
    log = run.log
    import pandas as pd
    import torch

    from qtrain.bench.memory import activation_copies
    from qtrain.run.devices import machine_description, select_device
    from qtrain.run.files import write_table
    from qtrain.run.provenance import write_provenance
    from qtrain.run.resources import ACTIVATION_COPIES

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
    write_provenance(
        snakemake.output[0], {"models": params.models, "batches": batches}, device=device
    )
