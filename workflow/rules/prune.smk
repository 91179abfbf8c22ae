rule prune:
    input:
        model=rules.pretrain.output.model,
        subsets=rules.prepare_data.output.subsets,
    output:
        masks=f"{RUN}/prune/masks.pt",
        model=f"{RUN}/prune/model.pt",
        sparsity=f"{RUN}/prune/sparsity.csv",
        batchnorm=f"{RUN}/prune/batchnorm.csv",
    log:
        f"{LOGS}/prune/seed_{{seed}}.log",
    conda:
        "../../envs/torch.yaml"
    params:
        keep_fraction=config["prune"]["keep_fraction"],
        recompute_batchnorm=config["batchnorm"]["recompute"],
        data=config["data"],
        data_seed=SEED,
    script:
        "../scripts/prune.py"


register_targets(*expand(rules.prune.output.sparsity, seed=SEEDS))
