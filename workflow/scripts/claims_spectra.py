"""Rule claims_spectra: claims C2, C3, C4 (spectra and error proxy) and C13 (proxy vs truth)."""

from qtrain.io import setup_logging

log = setup_logging(snakemake.log[0])

from qtrain.claims import rows_to_frame  # noqa: E402
from qtrain.io import load_table, write_provenance, write_table  # noqa: E402
from qtrain.spectra.analysis import (  # noqa: E402
    claim_c2,
    claim_c3,
    claim_c4,
    claim_c13,
    load_spectrum,
    mass_row,
)

params = snakemake.params
conventions = list(params.conventions)
curves = {}
for path in snakemake.input.curves:
    curve = load_table(path)
    curves[str(curve["variant"].iloc[0])] = curve
masses = load_table(snakemake.input.masses)
main = masses[masses["step"] == 0].iloc[0].to_dict()
large = load_spectrum(snakemake.input.large)
large_row = mass_row(large["nodes"], large["weights"], params.lr, params.cutoff, conventions)
rows = [
    claim_c2(main, large_row, conventions, params.main_label, params.large_label),
    claim_c3(curves, conventions),
    claim_c4(curves, conventions),
    claim_c13(load_table(snakemake.input.correlations), conventions),
]
write_table(rows_to_frame(rows), snakemake.output.claims)
write_provenance(
    snakemake.output.claims,
    {"lr": params.lr, "cutoff": params.cutoff, "conventions": conventions},
    inputs=list(snakemake.input),
)
for row in rows:
    log.info("%s: %s (%s)", row.claim_id, row.verdict, row.value)
