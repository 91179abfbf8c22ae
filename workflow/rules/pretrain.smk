rule pretrain:
    input:
        summary=rules.prepare_data.output.summary,
        subsets=rules.prepare_data.output.subsets,
        dataset=prepared_dataset(),
    output:
        model=f"{RUN}/pretrain/model.pt",
        metrics=f"{RUN}/pretrain/metrics.csv",
    log:
        f"{LOGS}/pretrain/seed_{{seed}}.log",
    benchmark:
        f"{LOGS}/pretrain/seed_{{seed}}.benchmark.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: 1  # at smoke sizes a 2nd thread added ~0.2 cores (benchmark mean_load)
    resources:
        gpu=1,
        mem_mb=host_mem_mb("pretrain"),
        gpu_mem_mb=gpu_mem_mb("pretrain"),
    params:
        checkpoint_dir=lambda wc: f"{run_dir(wc.seed)}/pretrain/checkpoints",
        seed=lambda wc: int(wc.seed),
        data_seed=SEED,
        data=config["data"],
        model=config["model"],
        pretrain=pretrain_params(),
    script:
        "../scripts/pretrain.py"
