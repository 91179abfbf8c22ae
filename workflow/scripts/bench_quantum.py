"""Rule bench_quantum: the largest HHL statevector solve within a time budget, and the time of
one quantum-training window (forward substitution and HHL)
(qtrain.bench.quantum.quantum_benchmark)."""

from qtrain.run.job import job

with job(snakemake) as run:
    from qtrain.bench.quantum import quantum_benchmark
    from qtrain.run.files import write_table

    p = snakemake.params
    table, largest = quantum_benchmark(
        p.hhl_sizes, p.hhl_clock_qubits, p.hhl_budget_s, p.windows, p.repeats
    )
    write_table(table, snakemake.output[0])
    run.record(
        {"hhl_sizes": p.hhl_sizes, "windows": p.windows, "hhl_budget_s": p.hhl_budget_s},
        timed=True,
        **largest,
    )
