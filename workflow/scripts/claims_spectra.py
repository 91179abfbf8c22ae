"""Rule claims_spectra: claims C2, C3 and C4 (spectra and error proxy), each judged per
a-convention (the multiplier convention decides) against the noise of its replicate estimates
(C2: seeds × probes; C3, C4: training seeds)."""

from qtrain.run.job import setup_logging

log = setup_logging(snakemake.log[0], job=snakemake)

from qtrain.claims import rows_to_frame  # noqa: E402
from qtrain.claims.spectra import spectra_claims  # noqa: E402
from qtrain.run.files import load_table, write_table  # noqa: E402
from qtrain.run.provenance import write_provenance  # noqa: E402

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
