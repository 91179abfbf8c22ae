"""Rule plot_fig1: the pipeline figure (the paper's Fig. 1), with the rules of each step."""

from qtrain.io import setup_logging

log = setup_logging(snakemake.log[0])

from qtrain.figures import PIPELINE_STAGES, plot_fig1, save_figure  # noqa: E402
from qtrain.io import write_provenance  # noqa: E402

save_figure(plot_fig1(), snakemake.output.pdf)
for path in snakemake.output:
    write_provenance(path, {"stages": [list(stage) for stage in PIPELINE_STAGES]})
log.info("wrote %s", ", ".join(snakemake.output))
