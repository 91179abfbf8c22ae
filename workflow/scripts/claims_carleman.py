"""Rule claims_carleman: claims C6-C8 (SPEC §3) from the Carleman stage's fit tables."""

from qtrain.run.job import job

with job(snakemake) as run:
    log = run.log
    from qtrain.claims import rows_to_frame
    from qtrain.claims.carleman import claim_c6, claim_c7, claim_c8
    from qtrain.run.files import load_table, write_table
    from qtrain.run.provenance import write_provenance

    inp, limits = snakemake.input, snakemake.params.thresholds
    rows = [
        claim_c6(load_table(inp.error_vs_order), max_factor=limits["max_decay_factor"]),
        claim_c7(load_table(inp.variant_difference), tolerance=limits["slope_tolerance"]),
        claim_c8(
            load_table(inp.condition),
            bounded_max=limits["bounded_slope"],
            linear_tolerance=limits["linear_slope_tolerance"],
        ),
    ]
    write_table(rows_to_frame(rows), snakemake.output.claims)
    write_provenance(snakemake.output.claims, {"inputs": list(inp), "thresholds": dict(limits)})
    for row in rows:
        log.info("%s", row.describe())
