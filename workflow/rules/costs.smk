# What quantum training of the paper's ResNets would cost (SPEC §1.7; docs/cost_model.md): the
# classical FLOP count, the measured inputs of the cost model, the ResNet cost table (base and
# favourable bound), break-even, sensitivity, n-scaling and the decomposition (cost MODELS,
# every table says so), read by figS6, figS9 and figS10 (figures.smk) and by claims_costs (C11,
# one row per premise, and C14) below. The rules mirror qtrain.quantum.costs: each runs the
# generic scripts/fit_table.py on one function of qtrain.quantum.costs.tables (or
# qtrain.learning.flops). The priced support follows sparse_train.window_space.
COSTS = config["quantum"]["resources"]
COST_TABLES = "qtrain.quantum.costs.tables"
COST_OPTIONS = {
    "resources": COSTS,
    "window_space": config["sparse_train"]["window_space"],
}


rule classical_flops:
    output:
        table=f"{RESULTS}/costs/classical_flops.csv",
    log:
        f"{LOGS}/classical_flops/classical_flops.log",
    conda:
        "../../envs/torch.yaml"
    params:
        function="qtrain.learning.flops:classical_flops_table",
        options={
            "batch": COSTS["classical_batch"],
            "keep_fraction": COSTS["support_fraction"],
            "sustained_tflops": COSTS["gpu_sustained_tflops"],
            "steps": [COSTS["steps_per_window"], COSTS["total_steps"]],
        },
        empty_ok=False,
        preset=PRESET,
    script:
        "../scripts/fit_table.py"


rule cost_measured_inputs:
    input:
        unpack(lambda wc: measured_spectra_input()),
        block_systems=rules.condition_sweep.output.table,
    output:
        table=f"{RESULTS}/costs/measured_inputs.csv",
        kappa_check=f"{RESULTS}/costs/kappa_check.csv",
    log:
        f"{LOGS}/cost_measured_inputs/cost_measured_inputs.log",
    conda:
        "../../envs/quantum.yaml"
    params:
        options=lambda wc: {**COST_OPTIONS, **measured_spectra_options()},
        preset=PRESET,
    script:
        "../scripts/cost_measured_inputs.py"


rule cost_resnets:
    input:
        classical=rules.classical_flops.output.table,
        measured=rules.cost_measured_inputs.output.table,
    output:
        table=f"{RESULTS}/costs/resnets.csv",
    log:
        f"{LOGS}/cost_resnets/cost_resnets.log",
    benchmark:
        f"{LOGS}/cost_resnets/cost_resnets.benchmark.tsv"
    conda:
        "../../envs/quantum.yaml"
    params:
        function=f"{COST_TABLES}:cost_resnets",
        options=COST_OPTIONS,
        empty_ok=True,
        preset=PRESET,
    script:
        "../scripts/fit_table.py"


rule cost_break_even:
    input:
        classical=rules.classical_flops.output.table,
        measured=rules.cost_measured_inputs.output.table,
    output:
        curves=f"{RESULTS}/costs/break_even.csv",
        summary=f"{RESULTS}/costs/break_even_summary.csv",
    log:
        f"{LOGS}/cost_break_even/cost_break_even.log",
    benchmark:
        f"{LOGS}/cost_break_even/cost_break_even.benchmark.tsv"
    conda:
        "../../envs/quantum.yaml"
    params:
        function=f"{COST_TABLES}:cost_break_even",
        options=COST_OPTIONS,
        empty_ok=True,
        preset=PRESET,
    script:
        "../scripts/fit_table.py"


rule cost_sensitivity:
    input:
        classical=rules.classical_flops.output.table,
        measured=rules.cost_measured_inputs.output.table,
    output:
        table=f"{RESULTS}/costs/sensitivity.csv",
    log:
        f"{LOGS}/cost_sensitivity/cost_sensitivity.log",
    benchmark:
        f"{LOGS}/cost_sensitivity/cost_sensitivity.benchmark.tsv"
    conda:
        "../../envs/quantum.yaml"
    params:
        function=f"{COST_TABLES}:cost_sensitivity",
        options=COST_OPTIONS,
        empty_ok=True,
        preset=PRESET,
    script:
        "../scripts/fit_table.py"


rule cost_scaling:
    input:
        classical=rules.classical_flops.output.table,
        measured=rules.cost_measured_inputs.output.table,
    output:
        table=f"{RESULTS}/costs/scaling.csv",
    log:
        f"{LOGS}/cost_scaling/cost_scaling.log",
    benchmark:
        f"{LOGS}/cost_scaling/cost_scaling.benchmark.tsv"
    conda:
        "../../envs/quantum.yaml"
    params:
        function=f"{COST_TABLES}:cost_scaling",
        options=COST_OPTIONS,
        empty_ok=True,
        preset=PRESET,
    script:
        "../scripts/fit_table.py"


rule cost_decomposition:
    input:
        classical=rules.classical_flops.output.table,
        measured=rules.cost_measured_inputs.output.table,
    output:
        decomposition=f"{RESULTS}/costs/decomposition.csv",
        waterfall=f"{RESULTS}/costs/waterfall.csv",
    log:
        f"{LOGS}/cost_decomposition/cost_decomposition.log",
    benchmark:
        f"{LOGS}/cost_decomposition/cost_decomposition.benchmark.tsv"
    conda:
        "../../envs/quantum.yaml"
    params:
        function=f"{COST_TABLES}:cost_decomposition",
        options=COST_OPTIONS,
        empty_ok=True,
        preset=PRESET,
    script:
        "../scripts/fit_table.py"


rule claims_costs:
    input:
        scaling=rules.cost_scaling.output.table,
        resnets=rules.cost_resnets.output.table,
        sensitivity=rules.cost_sensitivity.output.table,
        break_even=rules.cost_break_even.output.summary,
    output:
        claims=f"{RESULTS}/claims/costs.csv",
    log:
        f"{LOGS}/claims_costs/claims_costs.log",
    conda:
        "../../envs/plot.yaml"
    script:
        "../scripts/claims_costs.py"
