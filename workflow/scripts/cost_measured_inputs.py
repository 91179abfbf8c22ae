"""Rule cost_measured_inputs: the settings of the cost model a measurement replaces (λ_min,
λ_max and λ_rms from the run's Hessian spectrum at step 0, when the run has it; otherwise the
config's assumptions, and why) and the κ model against the project's block systems."""

from qtrain.run.job import setup_logging

log = setup_logging(snakemake.log[0], job=snakemake)

from qtrain.quantum.costs.tables import measured_inputs  # noqa: E402
from qtrain.run.files import load_arrays, load_table, write_table  # noqa: E402
from qtrain.run.provenance import write_provenance  # noqa: E402

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
