"""Rule claims: one table, one row per claim C1-C13 (SPEC §3), as CSV and Markdown."""

from qtrain.io import setup_logging

log = setup_logging(snakemake.log[0])


from qtrain.claims import assemble_claims, claims_markdown  # noqa: E402
from qtrain.io import atomic_write, load_table, write_provenance, write_table  # noqa: E402

table = assemble_claims([load_table(p) for p in snakemake.input])
write_table(table, snakemake.output.csv)
with atomic_write(snakemake.output.md) as handle:
    handle.write(claims_markdown(table, f"Claims of the paper, `{snakemake.params.preset}` preset"))
for path in snakemake.output:
    write_provenance(path, {"sources": list(snakemake.input)}, preset=snakemake.params.preset)
log.info("verdicts: %s", table["verdict"].value_counts().to_dict())
