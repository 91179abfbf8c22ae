"""Rules quantum_training / quantum_training_hhl: the digits model trained through the quantum
pipeline in windows against classical GD from the same start (SPEC §1.8).

``solver = "classical"``: the grid orders × windows × ε × expansions, block systems solved by
forward substitution. ``solver = "hhl"``: the tiniest instances (``hhl_runs``), each solved by
forward substitution and through the simulated HHL circuit with the same tomography seed.
"""

from qtrain.run.job import job

with job(snakemake) as run:
    log = run.log
    import time

    from qtrain.quantum.circuits.training_study import TrainingSettings, training_study
    from qtrain.run.files import write_table
    from qtrain.run.provenance import write_provenance

    params = snakemake.params
    settings = TrainingSettings.from_config(params.training)
    tic = time.perf_counter()
    steps, windows = training_study(settings, params.solver, params.seed)
    wall = time.perf_counter() - tic
    write_table(steps, snakemake.output.steps)
    write_table(windows, snakemake.output.windows)
    record = {"training": params.training, "seed": params.seed, "solver": params.solver}
    for path in snakemake.output:
        write_provenance(path, record, wall_seconds=wall)
    if len(windows):
        log.info(
            "%d windows in %.1fs; mean %.4fs per window (max %.4fs)",
            len(windows),
            wall,
            windows["seconds"].mean(),
            windows["seconds"].max(),
        )
