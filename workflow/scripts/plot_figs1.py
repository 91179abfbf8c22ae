"""Rule plot_figS1: the figure and its table (the raw sweep plus the fitted numbers)."""

from qtrain.io import setup_logging

log = setup_logging(snakemake.log[0])

from qtrain.figures import save_figure  # noqa: E402
from qtrain.io import load_table, write_provenance, write_table  # noqa: E402
from qtrain.quantum.carleman_sweeps import figS1_table  # noqa: E402
from qtrain.quantum.plots import plot_figS1  # noqa: E402

table = figS1_table(load_table(snakemake.input.table))
write_table(table, snakemake.output.table)
save_figure(plot_figS1(table, snakemake.params.max_factor), snakemake.output.pdf)
for path in snakemake.output:
    write_provenance(path, {"inputs": list(snakemake.input)}, preset=snakemake.params.preset)
log.info("figS1: %d rows, %d maps", len(table), table["map"].nunique())
