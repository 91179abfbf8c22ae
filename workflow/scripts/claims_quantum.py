"""Rule claims_quantum: claims C9, C10 and C12 (SPEC §3) from the quantum stage's fit tables
(C11 is judged on the cost model: rule claims_costs)."""

from qtrain.run.job import job

with job(snakemake) as run:
    log = run.log
    from qtrain.claims import rows_to_frame
    from qtrain.claims.quantum import claim_c9, claim_c10, claim_c12
    from qtrain.run.files import load_table, write_table
    from qtrain.run.provenance import write_provenance

    inp = snakemake.input
    rows = [
        claim_c9(load_table(inp.hhl)),
        claim_c10(load_table(inp.tomography)),
        claim_c12(load_table(inp.training), level=snakemake.params.level),
    ]
    write_table(rows_to_frame(rows), snakemake.output.claims)
    write_provenance(
        snakemake.output.claims, {"inputs": list(inp), "level": snakemake.params.level}
    )
    for row in rows:
        log.info("%s", row.describe())
