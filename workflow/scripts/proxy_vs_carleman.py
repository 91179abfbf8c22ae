"""Rule proxy_vs_carleman: the error proxy against the exact Carleman error (claim C13, part 1)."""

from qtrain.run.job import job

with job(snakemake) as run:
    log = run.log
    import time

    from qtrain.quantum.carleman.proxy_check import ProxyCheckSettings, proxy_check_table
    from qtrain.run.files import write_table
    from qtrain.run.provenance import write_provenance

    params = snakemake.params
    tic = time.perf_counter()
    table = proxy_check_table(
        ProxyCheckSettings.from_config(params.proxy_check),
        cutoff=params.cutoff,
        conventions=params.conventions,
        seed=params.seed,
    )
    write_table(table, snakemake.output.table)
    record = {"proxy_check": params.proxy_check, "cutoff": params.cutoff}
    record["conventions"] = list(params.conventions)
    write_provenance(snakemake.output.table, record, wall_seconds=time.perf_counter() - tic)
    log.info("%d rows in %.1f s", len(table), time.perf_counter() - tic)
