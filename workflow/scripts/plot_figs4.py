"""Rule plot_figS4: HHL fidelity, success probability, qubits and depth against clock qubits."""

from qtrain.io import setup_logging

log = setup_logging(snakemake.log[0])

import logging  # noqa: E402

logging.getLogger("fontTools").setLevel(logging.WARNING)  # PDF font subsetting chatter

from qtrain.figures import save_figure  # noqa: E402
from qtrain.io import load_table, write_provenance, write_table  # noqa: E402
from qtrain.quantum.plots_quantum import plot_figS4  # noqa: E402
from qtrain.quantum.quantum_sweeps import figS4_table  # noqa: E402

table = figS4_table(load_table(snakemake.input.table))
write_table(table, snakemake.output.table)
save_figure(plot_figS4(table), snakemake.output.pdf)
for path in snakemake.output:
    write_provenance(path, {"inputs": list(snakemake.input)}, preset=snakemake.params.preset)
log.info(
    "figS4: %d systems x %d clock sizes", table["system"].nunique(), table["num_clock"].nunique()
)
