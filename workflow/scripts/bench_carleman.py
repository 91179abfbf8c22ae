"""Rule bench_carleman: time and peak memory of building C, sparse recursion against dense."""

from qtrain.run.job import job

with job(snakemake) as run:
    log = run.log
    import os
    import platform

    from qtrain.bench.carleman import build_benchmark
    from qtrain.run.files import write_table
    from qtrain.run.provenance import write_provenance

    p = snakemake.params
    table = build_benchmark(
        [tuple(case) for case in p.cases],
        degree=p.degree,
        row_nnz=p.row_nnz,
        dense_limit_mib=p.dense_limit_mib,
        repeats=p.repeats,
    )
    write_table(table, snakemake.output[0])
    write_provenance(
        snakemake.output[0],
        {
            "cases": [list(c) for c in p.cases],
            "degree": p.degree,
            "row_nnz": p.row_nnz,
            "dense_limit_mib": p.dense_limit_mib,
            "repeats": p.repeats,
        },
        machine=f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
        timing="best wall time of up to `repeats` calls (one when a call exceeds 1 s)",
        memory="peak of tracemalloc (Python and numpy allocations) during one separate call",
    )
    log.info("\n%s", table.to_string())
