"""Rule compare_memory (rehearsal): each network job's measured peak memory (kept in its
provenance record) against the memory model of qtrain.gpu for the same chunk sizes."""

from qtrain.io import setup_logging

log = setup_logging(snakemake.log[0])

import pandas as pd  # noqa: E402

from qtrain.gpu import memory_table  # noqa: E402
from qtrain.io import write_provenance, write_table  # noqa: E402

inputs = {
    name: [files] if isinstance(files, str) else list(files)
    for name, files in snakemake.input.items()
    if name != "baseline"
}
table = pd.DataFrame(
    memory_table(inputs, snakemake.input.baseline, snakemake.params.config, snakemake.params.margin)
)
write_table(table, snakemake.output.table)
write_provenance(snakemake.output.table, {"margin": snakemake.params.margin}, inputs=inputs)
log.info("memory table:\n%s", table.to_string())
