"""Rule error_proxy: E(t) of Eq. 7-8 along one variant's run and its spectra's mode masses.

``curve``: E(t) from each spectrum's density (all probes); ``probe_curves``: the same per Lanczos
probe (one replicate estimate each, for the noise of claims C3 and C4); ``masses``: per spectrum
and probe, the dissipative and divergent masses and N_c in each convention.
"""

from qtrain.run.job import job

with job(snakemake) as run:
    log = run.log
    from qtrain.run.files import load_table, write_table
    from qtrain.run.provenance import write_provenance
    from qtrain.spectra.proxy_curves import error_proxy_tables

    params = snakemake.params
    conventions = list(params.conventions)
    curve, probe_curves, masses = error_proxy_tables(
        load_table(snakemake.input.records),
        snakemake.input.spectra,
        snakemake.wildcards.variant,
        params.lr,
        params.cutoff,
        conventions,
        seed=params.seed,
    )
    write_table(curve, snakemake.output.curve)
    write_table(probe_curves, snakemake.output.probe_curves)
    write_table(masses, snakemake.output.masses)
    settings = {"seed": params.seed, "lr": params.lr, "cutoff": params.cutoff}
    settings["conventions"] = conventions
    for path in snakemake.output:
        write_provenance(path, settings, inputs=list(snakemake.input))
    log.info("masses per spectrum and probe:\n%s", masses.to_string())
