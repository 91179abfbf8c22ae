"""Rule plot_figS8: true linearization errors beside the error proxy (claim C13)."""

from qtrain.io import setup_logging

log = setup_logging(snakemake.log[0])

from qtrain.figures import save_figure  # noqa: E402
from qtrain.io import load_table, write_provenance, write_table  # noqa: E402
from qtrain.spectra.plots import plot_figS8  # noqa: E402

params = snakemake.params
table = load_table(snakemake.input.table)
correlations = load_table(snakemake.input.correlations)
write_table(table, snakemake.output.table)
fig = plot_figS8(table, correlations, list(params.conventions), title=params.title)
save_figure(fig, snakemake.output.pdf)
for path in snakemake.output:
    write_provenance(path, {"inputs": list(snakemake.input)}, preset=params.preset)
log.info("figS8: %d rows", len(table))
