"""Rule proxy_vs_carleman: the error proxy against the exact Carleman error (claim C13, part 1)."""

from qtrain.io import setup_logging

log = setup_logging(snakemake.log[0])

import time  # noqa: E402

from qtrain.io import write_provenance, write_table  # noqa: E402
from qtrain.quantum.proxy_check import proxy_vs_carleman  # noqa: E402

params = snakemake.params
cfg = params.proxy_check
tic = time.perf_counter()
table = proxy_vs_carleman(
    n_features=cfg["features"],
    lr_scales=cfg["lr_scales"],
    windows=cfg["windows"],
    window_steps=cfg["window_steps"],
    orders=cfg["orders"],
    init_scale=cfg["init_scale"],
    cutoff=params.cutoff,
    conventions=params.conventions,
    seed=params.seed,
)
write_table(table, snakemake.output.table)
write_provenance(
    snakemake.output.table,
    {"proxy_check": cfg, "cutoff": params.cutoff, "conventions": list(params.conventions)},
    wall_seconds=time.perf_counter() - tic,
)
log.info("%d rows in %.1f s", len(table), time.perf_counter() - tic)
