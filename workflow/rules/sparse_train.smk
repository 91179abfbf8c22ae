rule sparse_train:
    input:
        model=rules.prune.output.model,
        masks=rules.prune.output.masks,
        subsets=rules.prepare_data.output.subsets,
        dataset=prepared_dataset(),
    output:
        records=f"{RUN}/sparse_train/{{variant}}/records.csv",
        downloads=f"{RUN}/sparse_train/{{variant}}/downloads.csv",
        checkpoints=sparse_checkpoints("{variant}"),
    log:
        f"{LOGS}/sparse_train/seed_{{seed}}_{{variant}}.log",
    benchmark:
        f"{LOGS}/sparse_train/seed_{{seed}}_{{variant}}.benchmark.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: 1  # at smoke sizes a 2nd thread added ~0.2 cores (benchmark mean_load)
    resources:
        gpu=1,
        mem_mb=host_mem_mb("sparse_train"),
        gpu_mem_mb=gpu_mem_mb("sparse_train"),
    params:
        seed=lambda wc: int(wc.seed),
        data_seed=SEED,
        data=config["data"],
        sparse_train=config["sparse_train"],
        recompute_batchnorm=config["batchnorm"]["recompute"],
        checkpoint_steps=sparse_checkpoint_steps(),
    script:
        "../scripts/sparse_train.py"


rule claims_training:
    input:
        sparsity=expand(rules.prune.output.sparsity, seed=SEED),
        records=expand(
            rules.sparse_train.output.records,
            variant=config["sparse_train"]["variants"],
            seed=SEEDS,
        ),
        downloads=expand(
            rules.sparse_train.output.downloads,
            variant=config["sparse_train"]["variants"],
            seed=SEEDS,
        ),
        # C1: the paper's ResNets as the costs stage counted them (costs.smk is included later)
        counts=lambda wc: rules.classical_flops.output.table,
    output:
        claims=f"{RESULTS}/claims/training.csv",
        dips=f"{RESULTS}/claims/download_dips.csv",
    log:
        f"{LOGS}/claims_training/claims_training.log",
    conda:
        "../../envs/plot.yaml"
    params:
        keep_fraction=config["prune"]["keep_fraction"],
        level=config["noise"]["level"],
        # (seed, variant) of each records and downloads input, in expand's order
        runs=[
            [seed, variant]
            for variant in config["sparse_train"]["variants"]
            for seed in SEEDS
        ],
    script:
        "../scripts/claims_training.py"
