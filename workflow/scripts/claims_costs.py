"""Rule claims_costs: claims C11 (one row per premise: the theorem's, the measured ResNet
structure) and C14 (on the favourable bound, the base beside it; SPEC §3) from the cost stage's
tables. They judge a cost MODEL, and say so."""

from qtrain.run.job import job

with job(snakemake) as run:
    log = run.log
    from qtrain.claims import rows_to_frame
    from qtrain.claims.costs import claim_c11_rows, claim_c14
    from qtrain.run.files import load_table, write_table
    from qtrain.run.provenance import write_provenance

    inp = snakemake.input
    rows = [
        *claim_c11_rows(load_table(inp.scaling)),
        claim_c14(load_table(inp.resnets), load_table(inp.sensitivity), load_table(inp.break_even)),
    ]
    write_table(rows_to_frame(rows), snakemake.output.claims)
    write_provenance(snakemake.output.claims, {"inputs": list(inp)}, kind="model")
    for row in rows:
        log.info("%s", row.describe())
