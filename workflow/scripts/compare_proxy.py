"""Rule compare_proxy: true linearization errors beside the error proxy, rank correlations (C13).

The exact Carleman errors of the digits quadratic network (rule proxy_vs_carleman) and the N = 1
linearized windows of the network (rule linearized_window), each beside E(t); correlations
across settings at the window end carry a bootstrap noise and a p-value.
"""

from qtrain.run.job import job

with job(snakemake) as run:
    log = run.log
    from qtrain.run.files import load_table, write_table
    from qtrain.run.provenance import write_provenance
    from qtrain.spectra.proxy_vs_truth import compare_proxy_tables

    params = snakemake.params
    table, correlations = compare_proxy_tables(
        load_table(snakemake.input.polynomial),
        [load_table(p) for p in snakemake.input.windows],
        snakemake.input.spectra,
        params.cutoff,
        params.conventions,
        params.level,
    )
    write_table(table, snakemake.output.table)
    write_table(correlations, snakemake.output.correlations)
    settings = {"cutoff": params.cutoff, "conventions": list(params.conventions)}
    for path in snakemake.output:
        write_provenance(path, {**settings, "level": params.level}, inputs=list(snakemake.input))
    log.info("rank correlations:\n%s", correlations.to_string())
