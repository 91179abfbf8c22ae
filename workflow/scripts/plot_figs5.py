"""Rule plot_figS5: tomography error against samples (log-log) with fitted slopes; upload cost."""

from qtrain.io import setup_logging

log = setup_logging(snakemake.log[0])

import logging  # noqa: E402

logging.getLogger("fontTools").setLevel(logging.WARNING)  # PDF font subsetting chatter

from qtrain.figures import save_figure  # noqa: E402
from qtrain.io import load_table, write_provenance, write_table  # noqa: E402
from qtrain.quantum.plots_quantum import plot_figS5  # noqa: E402
from qtrain.quantum.quantum_sweeps import figS5_table  # noqa: E402

table = figS5_table(
    load_table(snakemake.input.table), snakemake.params.fit_min_ratio, seed=snakemake.params.seed
)
write_table(table, snakemake.output.table)
upload = load_table(snakemake.input.upload)
save_figure(plot_figS5(table, upload), snakemake.output.pdf)
for path in snakemake.output:
    write_provenance(path, {"inputs": list(snakemake.input)}, preset=snakemake.params.preset)
for d, fit in table.groupby("d")[["slope", "slope_ci_low", "slope_ci_high"]].first().iterrows():
    log.info("figS5: d = %d, fitted slope %.4f [%.4f, %.4f]", d, *fit)
