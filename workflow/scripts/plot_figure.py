"""Every figure rule ``plot_<id>`` (figures.smk): the figure ``params.figure`` drawn from its
inputs by the registry (qtrain.figures.registry: id → table builder and plot function), with
its CSV tables, PDF, PNG and provenance."""

from qtrain.run.job import job

with job(snakemake) as run:
    log = run.log
    from qtrain.figures.registry import make_figure
    from qtrain.run.config import rehearsal_label

    summary = make_figure(
        snakemake.params.figure,
        dict(snakemake.input.items()),
        dict(snakemake.output.items()),
        dict(snakemake.params.options),
        preset=snakemake.params.preset,
        label=rehearsal_label(snakemake.config),  # a rehearsal's figures say so across them
    )
    log.info(summary)
