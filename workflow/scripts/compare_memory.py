"""Rule compare_memory (rehearsal): each network job's measured peak memory (kept in its
provenance record) against the memory model of qtrain.run.resources for the same chunk sizes."""

from qtrain.run.job import job

with job(snakemake) as run:
    log = run.log
    import pandas as pd

    from qtrain.run.files import write_table
    from qtrain.run.provenance import write_provenance
    from qtrain.run.usage import memory_table

    inputs = {
        name: [files] if isinstance(files, str) else list(files)
        for name, files in snakemake.input.items()
        if name != "baseline"
    }
    table = pd.DataFrame(
        memory_table(
            inputs, snakemake.input.baseline, snakemake.params.config, snakemake.params.margin
        )
    )
    write_table(table, snakemake.output.table)
    write_provenance(snakemake.output.table, {"margin": snakemake.params.margin}, inputs=inputs)
    log.info("memory table:\n%s", table.to_string())
