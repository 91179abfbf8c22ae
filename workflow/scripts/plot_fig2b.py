"""Rule plot_fig2b: the error proxy E(t) versus step for the variants (Fig. 2b)."""

from qtrain.io import setup_logging

log = setup_logging(snakemake.log[0])

import pandas as pd  # noqa: E402

from qtrain.figures import save_figure  # noqa: E402
from qtrain.io import load_table, write_provenance, write_table  # noqa: E402
from qtrain.spectra.plots import plot_fig2b  # noqa: E402

params = snakemake.params
curves = pd.concat([load_table(p) for p in snakemake.input.curves], ignore_index=True)
write_table(curves, snakemake.output.table)
fig = plot_fig2b(
    curves, list(params.conventions), params.lr, cutoff=params.cutoff, title=params.title
)
save_figure(fig, snakemake.output.pdf)
for path in snakemake.output:
    write_provenance(path, {"inputs": list(snakemake.input)}, preset=params.preset)
log.info("fig2b: %d rows", len(curves))
