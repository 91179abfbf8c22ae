"""Rule plot_figS7: quantum-trained against classical GD (loss, accuracy, error per download)."""

from qtrain.io import setup_logging

log = setup_logging(snakemake.log[0])

import logging  # noqa: E402

logging.getLogger("fontTools").setLevel(logging.WARNING)  # PDF font subsetting chatter

import pandas as pd  # noqa: E402

from qtrain.figures import save_figure  # noqa: E402
from qtrain.io import load_table, write_provenance, write_table  # noqa: E402
from qtrain.quantum.plots_quantum import plot_figS7  # noqa: E402
from qtrain.quantum.quantum_training import run_summary  # noqa: E402


def read(path):
    return load_table(path, empty_ok=True)  # empty when no hhl_runs are configured


steps, windows = read(snakemake.input.steps), read(snakemake.input.windows)
hhl_steps, hhl_windows = read(snakemake.input.hhl_steps), read(snakemake.input.hhl_windows)
grid = run_summary(windows, steps).assign(study="grid")
hhl = run_summary(hhl_windows, hhl_steps).assign(study="hhl") if len(hhl_windows) else None
table = pd.concat([grid, hhl], ignore_index=True) if hhl is not None else grid
write_table(table, snakemake.output.table)
save_figure(
    plot_figS7(
        steps,
        windows,
        grid,
        hhl_windows if hhl is not None else windows.iloc[:0],
        hhl if hhl is not None else grid.iloc[:0],
    ),
    snakemake.output.pdf,
)
for path in snakemake.output:
    write_provenance(path, {"inputs": list(snakemake.input)}, preset=snakemake.params.preset)
log.info("figS7: %d runs (%d through HHL)", len(table), 0 if hhl is None else len(hhl))
