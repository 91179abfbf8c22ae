"""Rule spectrum_densities: the densities and Ritz nodes of the spectra the figures draw (the
main model at every measured step of every variant, the large model after pruning), as tables."""

from qtrain.run.job import job

with job(snakemake) as run:
    log = run.log
    from qtrain.run.files import write_table
    from qtrain.run.provenance import write_provenance
    from qtrain.spectra.density import densities_tables

    inp, params, out = snakemake.input, snakemake.params, snakemake.output
    densities, nodes = densities_tables(inp.main, params.spectrum_keys, inp.large, params.seed)
    for frame, path in ((densities, out.densities), (nodes, out.nodes)):
        write_table(frame, path)
        write_provenance(path, {"keys": [list(k) for k in params.spectrum_keys]}, inputs=list(inp))
    log.info("%d density and %d node rows", len(densities), len(nodes))
