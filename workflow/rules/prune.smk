rule prune:
    input:
        model=rules.pretrain.output.model,
        subsets=rules.prepare_data.output.subsets,
        dataset=prepared_dataset(),
    output:
        masks=f"{RUN}/prune/masks.pt",
        model=f"{RUN}/prune/model.pt",
        sparsity=f"{RUN}/prune/sparsity.csv",
        batchnorm=f"{RUN}/prune/batchnorm.csv",
    log:
        f"{LOGS}/prune/seed_{{seed}}.log",
    benchmark:
        f"{LOGS}/prune/seed_{{seed}}.benchmark.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        gpu=1,
        mem_mb=host_mem_mb("prune"),
        gpu_mem_mb=gpu_mem_mb("prune"),
    params:
        keep_fraction=config["prune"]["keep_fraction"],
        recompute_batchnorm=config["batchnorm"]["recompute"],
        data=config["data"],
        data_seed=SEED,
    script:
        "../scripts/prune.py"
