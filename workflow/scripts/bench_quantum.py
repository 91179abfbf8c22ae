"""Rule bench_quantum: the largest HHL statevector solve within a time budget, and the time of
one quantum-training window (forward substitution and HHL)."""

from qtrain.run.job import setup_logging

log = setup_logging(snakemake.log[0], job=snakemake)

import statistics  # noqa: E402
import time  # noqa: E402

import pandas as pd  # noqa: E402

from qtrain.bench.quantum import hhl_scaling  # noqa: E402
from qtrain.quantum.carleman.digits import digits_problem, initial_weights  # noqa: E402
from qtrain.quantum.circuits.quantum_training import RunSpec, quantum_train  # noqa: E402
from qtrain.run.files import write_table  # noqa: E402
from qtrain.run.provenance import write_provenance  # noqa: E402

p = snakemake.params
tic = time.perf_counter()
systems = [
    {"kind": "dissipative", "n": n, "degree": 2, "order": order, "steps": steps}
    for n, order, steps in p.hhl_sizes
]
scaling = hhl_scaling(systems, p.hhl_clock_qubits, p.hhl_budget_s).assign(
    benchmark="hhl_solve", repeats=1
)
rows = []
for features, order, window, eps, solver, clock in p.windows:
    problem = digits_problem(features, seed=0)
    theta0 = initial_weights(problem, 0.5, seed=0)
    # gate-level statevector HHL, as docs/benchmarks.md reports it (the training runs default
    # to the eigenbasis backend)
    spec = RunSpec(
        order, window, eps, solver=solver, clock_qubits=clock or 7, hhl_backend="statevector"
    )
    times = []
    for _ in range(p.repeats):
        _, windows = quantum_train(problem, theta0, 0.05, window, spec, seed=0)
        times.append(float(windows["seconds"].iloc[0]))
    rows.append(
        {
            "benchmark": f"training_window_{solver}",
            "system": f"digits p={features} n={problem.n} N={order} W={window} eps={eps:g}",
            "system_dim": int(windows["system_dim"].iloc[0]),
            "num_qubits": windows.get("hhl_qubits", pd.Series([None])).iloc[0],
            "seconds": statistics.median(times),
            "repeats": p.repeats,
        }
    )
    log.info(
        "%s: median %.4fs per window over %d repeats",
        rows[-1]["system"],
        rows[-1]["seconds"],
        p.repeats,
    )
table = pd.concat([scaling, pd.DataFrame(rows)], ignore_index=True)
write_table(table, snakemake.output[0])
largest = scaling.iloc[-1]
write_provenance(
    snakemake.output[0],
    {"hhl_sizes": p.hhl_sizes, "windows": p.windows, "hhl_budget_s": p.hhl_budget_s},
    wall_seconds=time.perf_counter() - tic,
    largest_hhl_system=largest["system"],
    largest_hhl_qubits=int(largest["num_qubits"]),
    largest_hhl_seconds=float(largest["seconds"]),
)
log.info(
    "largest HHL solve: %s, %d qubits, %.1fs",
    largest["system"],
    largest["num_qubits"],
    largest["seconds"],
)
