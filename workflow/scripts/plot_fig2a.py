"""Rule plot_fig2a: Hessian spectra versus step for the variants (ridge plot, Fig. 2a)."""

from qtrain.io import setup_logging

log = setup_logging(snakemake.log[0])

from qtrain.figures import save_figure  # noqa: E402
from qtrain.io import load_table, write_provenance, write_table  # noqa: E402
from qtrain.spectra.density import load_spectrum  # noqa: E402
from qtrain.spectra.plots import plot_fig2a, ridge_table  # noqa: E402

params = snakemake.params
spectra = {
    (variant, int(step)): load_spectrum(path)
    for (variant, step), path in zip(params.spectrum_keys, snakemake.input.spectra, strict=True)
}
downloads = {}
for path in snakemake.input.records:
    rec = load_table(path)
    downloads[str(rec["variant"].iloc[0])] = rec.loc[rec["download"].astype(bool), "step"].tolist()
write_table(ridge_table(spectra), snakemake.output.table)
fig = plot_fig2a(spectra, downloads, cutoff=params.cutoff, title=params.title)
save_figure(fig, snakemake.output.pdf)
for path in snakemake.output:
    write_provenance(path, {"inputs": list(snakemake.input)}, preset=params.preset)
log.info("fig2a: %d spectra", len(spectra))
