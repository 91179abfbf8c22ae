"""Rule bench_hessian_scale: a pruned ResNet at its full parameter count (ResNet-56-11: 103.7 M)
on the machine this runs on: gradient and HVP side by side, peak memory, a short Lanczos run over
all coordinates, and the extrapolation to one paper spectrum (batch 2048, M = 256 + 64)."""

from qtrain.run.job import job

with job(snakemake) as run:
    log = run.log
    import pandas as pd
    import torch

    from qtrain.bench.hessian import hessian_at_scale
    from qtrain.run.devices import machine_description, select_device
    from qtrain.run.files import write_table
    from qtrain.run.provenance import write_provenance

    torch.set_num_threads(snakemake.threads)
    device = select_device(snakemake.resources.get("gpu", 0))
    case = snakemake.params.case["gpu" if device.type == "cuda" else "cpu"]
    log.info("case %s on %s (%s)", case, device, machine_description(device))
    row = hessian_at_scale(device=device, **case)
    row["machine"] = machine_description(device)
    log.info("result: %s", row)
    write_table(pd.DataFrame([row]), snakemake.output[0])
    write_provenance(snakemake.output[0], {"case": case}, device=device)
