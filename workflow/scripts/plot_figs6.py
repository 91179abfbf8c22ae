"""Rule plot_figS6: resource MODELS against n (both regimes) and a table at the two ResNets."""

from qtrain.io import setup_logging

log = setup_logging(snakemake.log[0])

import logging  # noqa: E402

logging.getLogger("fontTools").setLevel(logging.WARNING)  # PDF font subsetting chatter

from qtrain.figures import save_figure  # noqa: E402
from qtrain.io import load_table, write_provenance, write_table  # noqa: E402
from qtrain.quantum.plots_quantum import plot_figS6  # noqa: E402
from qtrain.quantum.quantum_sweeps import figS6_tables  # noqa: E402
from qtrain.quantum.resources import MODEL_NOTE  # noqa: E402

curves, resnets = figS6_tables(
    load_table(snakemake.input.curves),
    load_table(snakemake.input.resnets),
    snakemake.params.fit_min_n,
)
crossovers = load_table(snakemake.input.crossovers)
write_table(curves, snakemake.output.table)
write_table(resnets, snakemake.output.resnets)
save_figure(plot_figS6(curves, resnets, crossovers), snakemake.output.pdf)
for path in snakemake.output:
    write_provenance(
        path, {"inputs": list(snakemake.input)}, preset=snakemake.params.preset, note=MODEL_NOTE
    )
for regime, g in curves.groupby("regime", sort=False):
    log.info(
        "figS6 %s: slopes classical %.3f, solver %.3f, end to end %.3f",
        regime,
        g["slope_classical"].iloc[0],
        g["slope_solver"].iloc[0],
        g["slope_quantum_total"].iloc[0],
    )
