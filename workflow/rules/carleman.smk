# Discrete Carleman linearization and the block system of Eq. 6 (SPEC §1.2-1.4): sweeps on random
# polynomial GD maps and the digits quadratic network; their fits (read by figS1-figS3 in
# figures.smk and by claims_carleman, claims C6-C8, below).
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


# The fits that figS1-figS3 draw and claims C6-C8 judge (qtrain.quantum.carleman.sweeps).
rule fit_error_vs_order:
    input:
        raw=rules.carleman_sweep.output.table,
    output:
        table=f"{RESULTS}/carleman/error_vs_order_fits.csv",
    log:
        f"{LOGS}/fit_error_vs_order/fit_error_vs_order.log",
    conda:
        "../../envs/plot.yaml"
    params:
        function="qtrain.quantum.carleman.sweeps:error_vs_order_fits",
        options={},
        empty_ok=False,
        preset=PRESET,
    script:
        "../scripts/fit_table.py"


rule fit_variant_difference:
    input:
        raw=rules.variant_sweep.output.table,
    output:
        table=f"{RESULTS}/carleman/variant_difference_fits.csv",
    log:
        f"{LOGS}/fit_variant_difference/fit_variant_difference.log",
    conda:
        "../../envs/plot.yaml"
    params:
        function="qtrain.quantum.carleman.sweeps:variant_difference_fits",
        options={},
        empty_ok=False,
        preset=PRESET,
    script:
        "../scripts/fit_table.py"


rule fit_condition:
    input:
        raw=rules.condition_sweep.output.table,
    output:
        table=f"{RESULTS}/carleman/condition_fits.csv",
    log:
        f"{LOGS}/fit_condition/fit_condition.log",
    conda:
        "../../envs/plot.yaml"
    params:
        function="qtrain.quantum.carleman.sweeps:condition_fits",
        options={},
        empty_ok=False,
        preset=PRESET,
    script:
        "../scripts/fit_table.py"


rule claims_carleman:
    input:
        error_vs_order=rules.fit_error_vs_order.output.table,
        variant_difference=rules.fit_variant_difference.output.table,
        condition=rules.fit_condition.output.table,
    output:
        claims=f"{RESULTS}/claims/carleman.csv",
    log:
        f"{LOGS}/claims_carleman/claims_carleman.log",
    conda:
        "../../envs/plot.yaml"
    params:
        thresholds=CARLEMAN["claims"],
    script:
        "../scripts/claims_carleman.py"
