"""Rule claims_training: claims C1 (model sizes, 10% kept) and C5 (download dips and their
recovery in accuracy and loss, every training seed a replicate)."""

from qtrain.run.job import job

with job(snakemake) as run:
    log = run.log
    from qtrain.claims import rows_to_frame
    from qtrain.claims.training import training_claims
    from qtrain.run.files import load_table, write_table
    from qtrain.run.provenance import write_provenance

    inp, params = snakemake.input, snakemake.params
    keys = [tuple(key) for key in params.runs]  # (seed, variant) of each records/downloads
    rows, dips = training_claims(
        load_table(inp.sparsity[0]),
        {key: load_table(path) for key, path in zip(keys, inp.records, strict=True)},
        {key: load_table(path) for key, path in zip(keys, inp.downloads, strict=True)},
        keep_fraction=params.keep_fraction,
        level=params.level,
        counts=load_table(inp.counts),
    )
    write_table(dips, snakemake.output.dips)
    write_table(rows_to_frame(rows), snakemake.output.claims)
    for path in snakemake.output:
        write_provenance(path, {"inputs": list(inp)})
    for row in rows:
        log.info("%s", row.describe())
