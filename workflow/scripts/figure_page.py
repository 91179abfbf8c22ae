"""Rule figure_page: one figure with its full caption on an HTML page (figures/<id>.html; the
report shows a figure's caption only behind its (i) button)."""

from qtrain.run.job import job

with job(snakemake) as run:
    log = run.log
    from qtrain.figures.gallery import write_figure_page
    from qtrain.run.provenance import write_provenance

    fig = snakemake.wildcards.fig
    write_figure_page(
        fig,
        snakemake.input.png,
        snakemake.input.caption,
        snakemake.config,
        snakemake.output.html,
        f"{fig}, {snakemake.params.preset} preset",
    )
    write_provenance(snakemake.output.html, {"figure": fig}, preset=snakemake.params.preset)
    log.info("%s with its caption", fig)
