"""Rule spectrum_masses: the masses claim C2 and Fig. 3 read (main model at step 0, large model
after pruning), one row per model, training seed and Lanczos probe, in every convention."""

from qtrain.run.job import job

with job(snakemake) as run:
    log = run.log
    from qtrain.run.files import write_table
    from qtrain.run.provenance import write_provenance
    from qtrain.spectra.density import masses_table

    params = snakemake.params
    settings = {
        "lr": params.lr,
        "cutoff": params.cutoff,
        "conventions": list(params.conventions),
        "main_variant": params.main_variant,
    }
    masses = masses_table(snakemake.input.main, snakemake.input.large, params.seeds, **settings)
    write_table(masses, snakemake.output.masses)
    write_provenance(snakemake.output.masses, settings, inputs=list(snakemake.input))
    log.info("masses per model, seed and probe:\n%s", masses.to_string())
