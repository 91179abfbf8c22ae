# The quantum track beyond Carleman (SPEC §1.5-1.8): HHL on block systems, tomography, resource
# models, and a small model trained through the pipeline. Figures figS4-figS7 are in
# figures.smk; the claims C9-C12 of these tables are written by claims_quantum below.
from qtrain.quantum.config_checks import check_quantum_config

QUANTUM = config["quantum"]
check_quantum_config(QUANTUM)  # statevector sizes: fail before any job, naming the key


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


rule resource_model:
    output:
        curves=f"{RESULTS}/quantum/resources.csv",
        resnets=f"{RESULTS}/quantum/resources_resnets.csv",
        crossovers=f"{RESULTS}/quantum/resources_crossovers.csv",
    log:
        f"{LOGS}/resource_model/resource_model.log",
    conda:
        "../../envs/quantum.yaml"
    params:
        resources=QUANTUM["resources"],
    script:
        "../scripts/resource_model.py"


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


rule claims_quantum:
    input:
        figS4=f"{RESULTS}/figures/figS4.csv",
        figS5=f"{RESULTS}/figures/figS5.csv",
        figS6=f"{RESULTS}/figures/figS6.csv",
        figS6_resnets=f"{RESULTS}/figures/figS6_resnets.csv",
        figS7=f"{RESULTS}/figures/figS7.csv",
    output:
        f"{RESULTS}/claims/quantum.csv",
    log:
        f"{LOGS}/claims_quantum/claims_quantum.log",
    conda:
        "../../envs/plot.yaml"
    script:
        "../scripts/claims_quantum.py"


register_targets(rules.claims_quantum.output[0])
