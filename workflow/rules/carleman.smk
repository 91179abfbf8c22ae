# Discrete Carleman linearization and the block system of Eq. 6 (SPEC §1.2-1.4): sweeps on random
# polynomial GD maps and the digits quadratic network. Figures figS1-figS3 are in figures.smk;
# the claims C6-C8 of their tables are written by claims_carleman below.
CARLEMAN = config["carleman"]


rule carleman_sweep:
    output:
        table=f"{RESULTS}/carleman/error_vs_order.csv",
    log:
        f"{LOGS}/carleman_sweep/carleman_sweep.log",
    benchmark:
        f"{LOGS}/carleman_sweep/carleman_sweep.benchmark.tsv"
    conda:
        "../../envs/quantum.yaml"
    params:
        maps=CARLEMAN["maps"],
        digits=CARLEMAN["digits"],
        sweep=CARLEMAN["order_sweep"],
        seed=config["seed"],
    script:
        "../scripts/carleman_sweep.py"


rule variant_sweep:
    output:
        table=f"{RESULTS}/carleman/variant_difference.csv",
    log:
        f"{LOGS}/variant_sweep/variant_sweep.log",
    conda:
        "../../envs/quantum.yaml"
    params:
        maps=CARLEMAN["maps"],
        digits=CARLEMAN["digits"],
        sweep=CARLEMAN["variant_sweep"],
        seed=config["seed"],
    script:
        "../scripts/variant_sweep.py"


rule condition_sweep:
    output:
        table=f"{RESULTS}/carleman/condition.csv",
    log:
        f"{LOGS}/condition_sweep/condition_sweep.log",
    benchmark:
        f"{LOGS}/condition_sweep/condition_sweep.benchmark.tsv"
    conda:
        "../../envs/quantum.yaml"
    params:
        maps=CARLEMAN["maps"],
        sweep=CARLEMAN["condition"],
    script:
        "../scripts/condition_sweep.py"


rule claims_carleman:
    input:
        figS1=f"{RESULTS}/figures/figS1.csv",
        figS2=f"{RESULTS}/figures/figS2.csv",
        figS3=f"{RESULTS}/figures/figS3.csv",
    output:
        f"{RESULTS}/claims/carleman.csv",
    log:
        f"{LOGS}/claims_carleman/claims_carleman.log",
    conda:
        "../../envs/plot.yaml"
    params:
        thresholds=CARLEMAN["claims"],
    script:
        "../scripts/claims_carleman.py"


register_targets(rules.claims_carleman.output[0])
