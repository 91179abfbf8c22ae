"""Every figure rule ``plot_<id>`` (figures.smk): the figure ``params.figure`` drawn from its
inputs by the registry (qtrain.figures.registry: id → table builder and plot function), with
its CSV tables, PDF, PNG and provenance."""

from qtrain.run.job import setup_logging

log = setup_logging(snakemake.log[0], job=snakemake)

from qtrain.figures.registry import make_figure  # noqa: E402
from qtrain.run.config import rehearsal_label  # noqa: E402

summary = make_figure(
    snakemake.params.figure,
    dict(snakemake.input.items()),
    dict(snakemake.output.items()),
    dict(snakemake.params.options),
    preset=snakemake.params.preset,
    label=rehearsal_label(snakemake.config),  # a rehearsal's figures say so across them
)
log.info(summary)
