"""Rule claims_spectra: claims C2, C3 and C4 (spectra and error proxy), each judged per
a-convention (the multiplier convention decides) against the noise of its replicate estimates
(C2: seeds × probes; C3, C4: training seeds)."""

from qtrain.run.job import job

with job(snakemake) as run:
    log = run.log
    from qtrain.claims import rows_to_frame
    from qtrain.claims.spectra import spectra_claims
    from qtrain.run.files import load_table, write_table
    from qtrain.run.provenance import write_provenance

    inp, options = snakemake.input, dict(snakemake.params.options)
    rows = spectra_claims(
        [load_table(path) for path in inp.curves],
        load_table(inp.masses),
        **options,
    )
    write_table(rows_to_frame(rows), snakemake.output.claims)
    settings = {k: v for k, v in options.items() if not k.endswith("_label")}
    write_provenance(snakemake.output.claims, settings, inputs=list(inp))
    for row in rows:
        log.info("%s", row.describe())
