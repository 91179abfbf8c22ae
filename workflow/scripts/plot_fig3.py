"""Rule plot_fig3: the large model's Hessian spectrum right after pruning (Fig. 3)."""

from qtrain.io import setup_logging

log = setup_logging(snakemake.log[0])

import pandas as pd  # noqa: E402

from qtrain.figures import save_figure  # noqa: E402
from qtrain.io import write_provenance, write_table  # noqa: E402
from qtrain.spectra.density import load_spectrum, mass_row  # noqa: E402
from qtrain.spectra.plots import plot_fig3  # noqa: E402

params = snakemake.params
conventions = list(params.conventions)
spec = load_spectrum(snakemake.input.spectrum)
masses = mass_row(spec["nodes"], spec["weights"], params.lr, params.cutoff, conventions)
write_table(
    pd.DataFrame({"lambda": spec["grid"], "density": spec["density"]}), snakemake.output.table
)
write_table(pd.DataFrame([{"model": params.label, **masses}]), snakemake.output.masses)
fig = plot_fig3(spec, masses, conventions, params.lr, cutoff=params.cutoff, title=params.title)
save_figure(fig, snakemake.output.pdf)
for path in snakemake.output:
    write_provenance(path, {"inputs": list(snakemake.input)}, preset=params.preset)
log.info("fig3: %s", masses)
