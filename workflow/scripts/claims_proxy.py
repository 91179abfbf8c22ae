"""Rule claims_proxy: claim C13 (the error proxy against the true linearization error, beyond
the trivial predictors eta*T and eta*T*lambda_max), one row per measurement and convention."""

from qtrain.run.job import job

with job(snakemake) as run:
    log = run.log
    from qtrain.claims import rows_to_frame
    from qtrain.claims.proxy import claim_c13
    from qtrain.run.files import load_table, write_table
    from qtrain.run.provenance import write_provenance

    options = dict(snakemake.params.options)
    rows = claim_c13(load_table(snakemake.input.correlations), **options)
    write_table(rows_to_frame(rows), snakemake.output.claims)
    write_provenance(snakemake.output.claims, options, inputs=list(snakemake.input))
    for row in rows:
        log.info("%s", row.describe())
