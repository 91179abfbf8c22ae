"""Rule cost_measured_inputs: the settings of the cost model a measurement replaces (λ_min,
λ_max and λ_rms from the run's Hessian spectrum at step 0, when the run has it; otherwise the
config's assumptions, and why) and the κ model against the project's block systems."""

from qtrain.run.job import job

with job(snakemake) as run:
    log = run.log
    from qtrain.quantum.costs.tables import measured_inputs
    from qtrain.run.files import load_arrays, load_table, write_table
    from qtrain.run.provenance import write_provenance

    inp = snakemake.input
    spectrum = (
        load_arrays(inp.spectrum, keys=("nodes", "weights")) if "spectrum" in inp.keys() else None
    )
    measured, check = measured_inputs(
        load_table(inp.block_systems), spectrum, **snakemake.params.options
    )
    record = {"function": "qtrain.quantum.costs.tables:measured_inputs"}
    for frame, path in ((measured, snakemake.output.table), (check, snakemake.output.kappa_check)):
        write_table(frame, path)
        write_provenance(path, record, preset=snakemake.params.preset, inputs=list(inp))
    log.info("measured inputs:\n%s", measured.to_string())
