"""Rule bench_carleman: time and peak memory of building C, sparse recursion against dense."""

from qtrain.run.job import setup_logging

log = setup_logging(snakemake.log[0], job=snakemake)

import os  # noqa: E402
import platform  # noqa: E402

from qtrain.bench.carleman import build_benchmark  # noqa: E402
from qtrain.run.files import write_table  # noqa: E402
from qtrain.run.provenance import write_provenance  # noqa: E402

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
