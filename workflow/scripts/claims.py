"""Rule claims: one table, one row per claim C1-C14 (SPEC §3), as CSV, Markdown and HTML (the
form the HTML report shows inline)."""

from qtrain.run.job import job

with job(snakemake) as run:
    log = run.log
    from qtrain.claims import assemble_claims, claims_for_html, claims_markdown
    from qtrain.run.files import atomic_write, load_table, write_html_table, write_table
    from qtrain.run.provenance import write_provenance

    preset, label = snakemake.params.preset, snakemake.params.get("rehearsal")
    # a rehearsal's label: every verdict is "not judged: rehearsal"
    table = assemble_claims([load_table(p) for p in snakemake.input], not_judged=label)
    suffix = f" ({label})" if label else ""
    write_table(table, snakemake.output.csv)
    with atomic_write(snakemake.output.md) as handle:
        handle.write(claims_markdown(table, f"Claims of the paper, `{preset}` preset{suffix}"))
    title = f"Claims of the paper, {preset} preset{suffix}"
    write_html_table(
        claims_for_html(table),
        snakemake.output.html,
        title,
        "One row per claim: what was measured, its value, the comparison and the verdict.",
        bold=("verdict",),
    )
    for path in snakemake.output:
        write_provenance(path, {"sources": list(snakemake.input)}, preset=preset)
    log.info("verdicts: %s", table["verdict"].value_counts().to_dict())
