"""Rule claims_spectra: claims C2, C3, C4 (spectra and error proxy) and C13 (proxy vs truth),
each judged per a-convention against the spread of its replicate estimates (seeds × probes)."""

from qtrain.io import setup_logging

log = setup_logging(snakemake.log[0])

from qtrain.claims import rows_to_frame  # noqa: E402
from qtrain.claims.spectra import spectra_claims  # noqa: E402
from qtrain.io import load_table, write_provenance, write_table  # noqa: E402

params = snakemake.params
rows = spectra_claims(
    {path: load_table(path) for path in snakemake.input.curves},
    snakemake.input.main,
    snakemake.input.large,
    load_table(snakemake.input.correlations),
    lr=params.lr,
    cutoff=params.cutoff,
    conventions=params.conventions,
    coverage=params.coverage,
    seeds=params.seeds,
    main_label=params.main_label,
    large_label=params.large_label,
)
write_table(rows_to_frame(rows), snakemake.output.claims)
settings = {k: getattr(params, k) for k in ("lr", "cutoff", "conventions", "coverage", "seeds")}
write_provenance(snakemake.output.claims, settings, inputs=list(snakemake.input))
for row in rows:
    log.info("%s", row.describe())
