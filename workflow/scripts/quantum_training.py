"""Rules quantum_training / quantum_training_hhl: the digits model trained through the quantum
pipeline in windows against classical GD from the same start (SPEC §1.8).

``solver = "classical"``: the grid orders × windows × ε × expansions, block systems solved by
forward substitution. ``solver = "hhl"``: the tiniest instances (``hhl_runs``), each solved by
forward substitution and through the simulated HHL circuit with the same tomography seed.
"""

from qtrain.io import setup_logging

log = setup_logging(snakemake.log[0])

import time  # noqa: E402

import pandas as pd  # noqa: E402

from qtrain.io import write_provenance, write_table  # noqa: E402
from qtrain.progress import Progress  # noqa: E402
from qtrain.quantum.quantum_training import (  # noqa: E402
    RunSpec,
    digits_problem,
    initial_weights,
    solver_comparison,
    training_grid,
)

cfg = snakemake.params.training
seed = snakemake.params.seed
solver = snakemake.params.solver


def problem_for(features):
    return digits_problem(features, cfg["classes"], cfg["model"], cfg["test_fraction"], seed=seed)


tic = time.perf_counter()
if solver == "classical":
    problem = problem_for(cfg["features"])
    theta0 = initial_weights(problem, cfg["init_scale"], seed)
    specs = [
        RunSpec(order=o, window=w, epsilon=float(e), expansion=x, top_k=cfg["top_k"])
        for x in cfg["expansions"]
        for o in cfg["orders"]
        for w in cfg["windows"]
        for e in cfg["epsilons"]
    ]
    log.info(
        "%d runs, n = %d parameters, %d training samples",
        len(specs),
        problem.n,
        len(problem.y_train),
    )
    steps, windows = training_grid(problem, theta0, cfg["lr"], cfg["steps"], specs, seed=seed)
else:
    frames = []
    for i, run in enumerate(Progress(cfg["hhl_runs"], desc="HHL training runs", unit="run")):
        problem = problem_for(run["features"])
        theta0 = initial_weights(problem, cfg["init_scale"], seed)
        spec = RunSpec(
            order=run["order"],
            window=run["window"],
            epsilon=float(run["epsilon"]),
            clock_qubits=run["clock_qubits"],
            top_k=cfg["top_k"],
        )
        frames.append(
            solver_comparison(problem, theta0, cfg["lr"], run["steps"], spec, seed=seed + i)
        )
    if frames:
        steps = pd.concat([f[0] for f in frames], ignore_index=True)
        windows = pd.concat([f[1] for f in frames], ignore_index=True)
    else:
        steps, windows = pd.DataFrame(), pd.DataFrame()
wall = time.perf_counter() - tic
write_table(steps, snakemake.output.steps)
write_table(windows, snakemake.output.windows)
for path in snakemake.output:
    write_provenance(path, {"training": cfg, "seed": seed, "solver": solver}, wall_seconds=wall)
if len(windows):
    log.info(
        "%d windows in %.1fs; mean %.4fs per window (max %.4fs)",
        len(windows),
        wall,
        windows["seconds"].mean(),
        windows["seconds"].max(),
    )
