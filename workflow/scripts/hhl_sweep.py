"""Rule hhl_sweep: HHL on discrete-Carleman block systems for several clock sizes (SPEC §1.5)."""

from qtrain.run.job import job

with job(snakemake) as run:
    from qtrain.quantum.circuits.sweeps import hhl_sweep
    from qtrain.run.files import write_table

    cfg, seed = snakemake.params.hhl, snakemake.params.seed
    table = hhl_sweep(
        cfg["systems"],
        cfg["clock_qubits"],
        eta=cfg["eta"],
        nonlinearity=cfg["nonlinearity"],
        u0_norm=cfg["u0_norm"],
        seed=seed,
        count_max_system_qubits=cfg["count_max_system_qubits"],
    )
    write_table(table, snakemake.output.table)
    big = table.loc[table["num_qubits"].idxmax()]
    run.record(
        {"hhl": cfg, "seed": seed},
        timed=True,
        usage=False,
        simulator="qiskit.quantum_info.Statevector",
        largest_circuit_qubits=int(big["num_qubits"]),
        largest_circuit_seconds=float(big["seconds"]),
    )
    run.log.info(
        "%d HHL runs in %.1fs; largest circuit %d qubits (%s, %d clock) in %.2fs",
        *(len(table), run.seconds, big["num_qubits"], big["system"], big["num_clock"]),
        big["seconds"],
    )
