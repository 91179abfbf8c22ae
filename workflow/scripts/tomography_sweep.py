"""Rule tomography_sweep: sampled vector tomography error against samples (SPEC §1.6)."""

from qtrain.run.job import job

with job(snakemake) as run:
    log = run.log
    import time

    from qtrain.quantum.circuits.sweeps import tomography_sweep
    from qtrain.run.files import write_table
    from qtrain.run.provenance import write_provenance

    cfg = snakemake.params.tomography
    tic = time.perf_counter()
    table = tomography_sweep(
        cfg["dimensions"], cfg["samples"], cfg["repeats"], snakemake.params.seed
    )
    write_table(table, snakemake.output.table)
    write_provenance(
        snakemake.output.table,
        {"tomography": cfg, "seed": snakemake.params.seed},
        wall_seconds=time.perf_counter() - tic,
    )
    log.info("%d tomography runs in %.1fs", len(table), time.perf_counter() - tic)
