rule sparse_train:
    input:
        model=rules.prune.output.model,
        masks=rules.prune.output.masks,
        subsets=rules.prepare_data.output.subsets,
    output:
        records=f"{RESULTS}/sparse_train/{{variant}}/records.csv",
        downloads=f"{RESULTS}/sparse_train/{{variant}}/downloads.csv",
        checkpoints=sparse_checkpoints("{variant}"),
    log:
        f"{LOGS}/sparse_train/{{variant}}.log",
    benchmark:
        f"{LOGS}/sparse_train/{{variant}}.benchmark.tsv"
    wildcard_constraints:
        variant="continuous|sparse|qram",
    conda:
        "../../envs/torch.yaml"
    threads: 2
    resources:
        gpu=1,
        mem_mb=host_mem_mb("sparse_train"),
        gpu_mem_mb=gpu_mem_mb("sparse_train"),
    params:
        seed=config["seed"],
        data=config["data"],
        sparse_train=config["sparse_train"],
        checkpoint_steps=sparse_checkpoint_steps(),
    script:
        "../scripts/sparse_train.py"


register_targets(
    *expand(
        rules.sparse_train.output.records, variant=config["sparse_train"]["variants"]
    )
)


rule claims_training:
    input:
        sparsity=rules.prune.output.sparsity,
        records=expand(
            rules.sparse_train.output.records,
            variant=config["sparse_train"]["variants"],
        ),
        downloads=expand(
            rules.sparse_train.output.downloads,
            variant=config["sparse_train"]["variants"],
        ),
    output:
        claims=f"{RESULTS}/claims/training.csv",
        dips=f"{RESULTS}/sparse_train/download_dips.csv",
    log:
        f"{LOGS}/claims_training/claims_training.log",
    conda:
        "../../envs/torch.yaml"
    params:
        keep_fraction=config["prune"]["keep_fraction"],
    script:
        "../scripts/claims_training.py"


register_targets(rules.claims_training.output.claims)
