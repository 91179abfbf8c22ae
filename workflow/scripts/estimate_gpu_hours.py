"""Rule estimate_gpu_hours (rehearsal): the GPU-hour estimate printed when the workflow starts,
kept as a table and as text, for this run's config and for the paper preset
(qtrain.run.hours.estimate_rows)."""

from qtrain.run.job import job

with job(snakemake) as run:
    log = run.log
    import pandas as pd

    from qtrain.run.config_files import read_config_file
    from qtrain.run.files import atomic_write, write_table
    from qtrain.run.hours import estimate_rows
    from qtrain.run.provenance import write_provenance

    cfg = snakemake.params.config
    configs = {cfg["preset"]: cfg, "paper": read_config_file(snakemake.input.paper)}
    rows, lines = estimate_rows(configs)
    write_table(pd.DataFrame(rows), snakemake.output.table)
    with atomic_write(snakemake.output.text) as handle:
        handle.write("\n".join(lines) + "\n")
    for path in snakemake.output:
        write_provenance(path, {"configs": list(configs)}, paper_config=snakemake.input.paper)
    log.info("\n".join(lines))
