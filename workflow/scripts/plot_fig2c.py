"""Rule plot_fig2c: training accuracy versus step for the variants, downloads marked."""

from qtrain.io import setup_logging

log = setup_logging(snakemake.log[0])

import pandas as pd  # noqa: E402

from qtrain.figures import save_figure  # noqa: E402
from qtrain.io import load_table, write_provenance, write_table  # noqa: E402
from qtrain.learning.plots import plot_fig2c  # noqa: E402

records = pd.concat([load_table(p) for p in snakemake.input.records], ignore_index=True)
downloads = pd.concat([load_table(p) for p in snakemake.input.downloads], ignore_index=True)
columns = [
    "step",
    "variant",
    "window",
    "phase",
    "loss",
    "train_accuracy",
    "test_accuracy",
    "density",
    "download",
]
write_table(records[columns], snakemake.output.table)
write_table(downloads, snakemake.output.downloads)
fig = plot_fig2c(records, downloads, title=snakemake.params.title)
save_figure(fig, snakemake.output.pdf)
for path in snakemake.output:
    write_provenance(path, {"inputs": list(snakemake.input)}, preset=snakemake.params.preset)
log.info("fig2c: %d records, %d downloads", len(records), len(downloads))
