"""Rule plot_fig1: the pipeline figure (the paper's Fig. 1), with the rules of each step."""

from qtrain.io import setup_logging

log = setup_logging(snakemake.log[0])

from qtrain.figures import plot_fig1, save_figure  # noqa: E402

save_figure(plot_fig1(), snakemake.output.pdf)
log.info("wrote %s", snakemake.output.pdf)
