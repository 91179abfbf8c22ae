"""Rule bench_hvp: HVP time / gradient time on one batch, ours against a PyHessian-style
baseline, and the wall time of a paper-size spectrum (M = 256 + 64 bounds steps, batch 2048)
(qtrain.bench.hvp_tables.hvp_table)."""

from qtrain.run.job import job

with job(snakemake, torch=True) as run:
    from qtrain.bench.hvp_tables import hvp_table
    from qtrain.run.files import write_table

    params = snakemake.params
    cases = params.gpu_cases if run.device.type == "cuda" else params.cpu_cases
    table = hvp_table(
        cases,
        params.keep_fraction,
        run.device,
        spectrum_hvps=params.spectrum_hvps,
        spectrum_batch=params.spectrum_batch,
    )
    write_table(table, snakemake.output[0])
    run.record({"cases": cases})
