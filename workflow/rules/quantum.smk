# The quantum track beyond Carleman (SPEC §1.5, 1.6, 1.8): HHL on block systems, tomography,
# upload, and a small model trained through the pipeline; their fits (read by figS4, figS5 and
# figS7 in figures.smk and by claims_quantum, claims C9, C10 and C12, below). The cost model
# (§1.7: figS6, figS9, figS10, claims C11 and C14) is costs.smk.
QUANTUM = config["quantum"]


rule hhl_sweep:
    output:
        table=f"{RESULTS}/quantum/hhl_sweep.csv",
    log:
        f"{LOGS}/hhl_sweep/hhl_sweep.log",
    benchmark:
        f"{LOGS}/hhl_sweep/hhl_sweep.benchmark.tsv"
    conda:
        "../../envs/quantum.yaml"
    params:
        hhl=QUANTUM["hhl"],
        seed=config["seed"],
    script:
        "../scripts/hhl_sweep.py"


rule tomography_sweep:
    output:
        table=f"{RESULTS}/quantum/tomography_sweep.csv",
    log:
        f"{LOGS}/tomography_sweep/tomography_sweep.log",
    conda:
        "../../envs/quantum.yaml"
    params:
        tomography=QUANTUM["tomography"],
        seed=config["seed"],
    script:
        "../scripts/tomography_sweep.py"


rule upload_sweep:
    output:
        table=f"{RESULTS}/quantum/upload_sweep.csv",
    log:
        f"{LOGS}/upload_sweep/upload_sweep.log",
    conda:
        "../../envs/quantum.yaml"
    params:
        upload=QUANTUM["upload"],
        seed=config["seed"],
    script:
        "../scripts/upload_sweep.py"


rule quantum_training:
    output:
        steps=f"{RESULTS}/quantum/training_steps.csv",
        windows=f"{RESULTS}/quantum/training_windows.csv",
    log:
        f"{LOGS}/quantum_training/quantum_training.log",
    benchmark:
        f"{LOGS}/quantum_training/quantum_training.benchmark.tsv"
    conda:
        "../../envs/quantum.yaml"
    params:
        training=QUANTUM["training"],
        seed=config["seed"],
        solver="classical",
    script:
        "../scripts/quantum_training.py"


rule quantum_training_hhl:
    output:
        steps=f"{RESULTS}/quantum/training_hhl_steps.csv",
        windows=f"{RESULTS}/quantum/training_hhl_windows.csv",
    log:
        f"{LOGS}/quantum_training_hhl/quantum_training_hhl.log",
    benchmark:
        f"{LOGS}/quantum_training_hhl/quantum_training_hhl.benchmark.tsv"
    conda:
        "../../envs/quantum.yaml"
    params:
        training=QUANTUM["training"],
        seed=config["seed"],
        solver="hhl",
    script:
        "../scripts/quantum_training.py"


# The fits and summaries that figS4, figS5 and figS7 draw and claims C9, C10 and C12 judge.
rule fit_hhl_sweep:
    input:
        raw=rules.hhl_sweep.output.table,
    output:
        table=f"{RESULTS}/quantum/hhl_fits.csv",
    log:
        f"{LOGS}/fit_hhl_sweep/fit_hhl_sweep.log",
    conda:
        "../../envs/quantum.yaml"
    params:
        function="qtrain.quantum.circuits.sweeps:hhl_fits",
        options={},
        empty_ok=False,
        preset=PRESET,
    script:
        "../scripts/fit_table.py"


rule fit_tomography_sweep:
    input:
        raw=rules.tomography_sweep.output.table,
    output:
        table=f"{RESULTS}/quantum/tomography_fits.csv",
    log:
        f"{LOGS}/fit_tomography_sweep/fit_tomography_sweep.log",
    conda:
        "../../envs/quantum.yaml"
    params:
        function="qtrain.quantum.circuits.sweeps:tomography_fits",
        options={
            "fit_min_ratio": QUANTUM["tomography"]["fit_min_ratio"],
            "seed": config["seed"],
        },
        empty_ok=False,
        preset=PRESET,
    script:
        "../scripts/fit_table.py"


rule summarize_quantum_training:
    input:
        steps=rules.quantum_training.output.steps,
        windows=rules.quantum_training.output.windows,
        hhl_steps=rules.quantum_training_hhl.output.steps,
        hhl_windows=rules.quantum_training_hhl.output.windows,
    output:
        table=f"{RESULTS}/quantum/training_summary.csv",
    log:
        f"{LOGS}/summarize_quantum_training/summarize_quantum_training.log",
    conda:
        "../../envs/quantum.yaml"
    params:
        function="qtrain.quantum.circuits.training_study:training_summary",
        options={},
        empty_ok=True,
        preset=PRESET,
    script:
        "../scripts/fit_table.py"


rule claims_quantum:
    input:
        hhl=rules.fit_hhl_sweep.output.table,
        tomography=rules.fit_tomography_sweep.output.table,
        training=rules.summarize_quantum_training.output.table,
    output:
        claims=f"{RESULTS}/claims/quantum.csv",
    log:
        f"{LOGS}/claims_quantum/claims_quantum.log",
    conda:
        "../../envs/plot.yaml"
    params:
        level=config["noise"]["level"],
    script:
        "../scripts/claims_quantum.py"
