"""Rule hhl_sweep: HHL on discrete-Carleman block systems for several clock sizes (SPEC §1.5)."""

from qtrain.run.job import setup_logging

log = setup_logging(snakemake.log[0], job=snakemake)

import time  # noqa: E402

from qtrain.quantum.quantum_sweeps import hhl_sweep  # noqa: E402
from qtrain.run.files import write_table  # noqa: E402
from qtrain.run.provenance import write_provenance  # noqa: E402

cfg = snakemake.params.hhl
tic = time.perf_counter()
table = hhl_sweep(
    cfg["systems"],
    cfg["clock_qubits"],
    eta=cfg["eta"],
    nonlinearity=cfg["nonlinearity"],
    u0_norm=cfg["u0_norm"],
    seed=snakemake.params.seed,
    count_max_system_qubits=cfg["count_max_system_qubits"],
)
write_table(table, snakemake.output.table)
largest = table.loc[table["num_qubits"].idxmax()]
write_provenance(
    snakemake.output.table,
    {"hhl": cfg, "seed": snakemake.params.seed},
    simulator="qiskit.quantum_info.Statevector",
    wall_seconds=time.perf_counter() - tic,
    largest_circuit_qubits=int(largest["num_qubits"]),
    largest_circuit_seconds=float(largest["seconds"]),
)
log.info(
    "%d HHL runs in %.1fs; largest circuit %d qubits (%s, %d clock) in %.2fs",
    len(table),
    time.perf_counter() - tic,
    largest["num_qubits"],
    largest["system"],
    largest["num_clock"],
    largest["seconds"],
)
