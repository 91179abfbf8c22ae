"""Rule condition_sweep: κ(L), sparsity and final-block share of Eq. 6 against T (figS3, C8)."""

from qtrain.run.job import job

with job(snakemake) as run:
    log = run.log
    import time

    from qtrain.quantum.carleman.sweeps import condition_table, toy_maps
    from qtrain.run.files import write_table
    from qtrain.run.provenance import write_provenance

    maps_cfg, sweep = snakemake.params.maps, snakemake.params.sweep
    start = time.perf_counter()
    maps = toy_maps(sweep["kinds"], sweep["degrees"], **maps_cfg)
    table = condition_table(
        maps, sweep["orders"], sweep["steps"], sweep["pad_factors"], sweep["exact_max_dim"]
    )
    write_table(table, snakemake.output.table)
    write_provenance(
        snakemake.output.table,
        {"maps": maps_cfg, "condition": sweep},
        kappa_methods="exact: scipy.linalg.svdvals of the dense L (dimension <= exact_max_dim); "
        "estimate: ARPACK svds on L and on L^-1 through a sparse LU",
    )
    log.info("%d maps, %d rows in %.1f s", len(maps), len(table), time.perf_counter() - start)
