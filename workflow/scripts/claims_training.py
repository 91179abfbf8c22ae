"""Rule claims_training: claims C1 (model sizes, 10% kept) and C5 (download dips and their
recovery in accuracy and loss, every training seed a replicate)."""

from qtrain.run.job import setup_logging

log = setup_logging(snakemake.log[0], job=snakemake)

from qtrain.claims import rows_to_frame  # noqa: E402
from qtrain.claims.training import training_claims  # noqa: E402
from qtrain.run.files import load_table, write_table  # noqa: E402
from qtrain.run.provenance import write_provenance  # noqa: E402

inp, params = snakemake.input, snakemake.params
runs = [tuple(run) for run in params.runs]  # (seed, variant) of each records/downloads input
rows, dips = training_claims(
    load_table(inp.sparsity[0]),
    {run: load_table(path) for run, path in zip(runs, inp.records, strict=True)},
    {run: load_table(path) for run, path in zip(runs, inp.downloads, strict=True)},
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
