rule prune:
    input:
        model=rules.pretrain.output.model,
    output:
        masks=f"{RESULTS}/prune/masks.pt",
        model=f"{RESULTS}/prune/model.pt",
        sparsity=f"{RESULTS}/prune/sparsity.csv",
    log:
        f"{LOGS}/prune/prune.log",
    conda:
        "../../envs/torch.yaml"
    params:
        keep_fraction=config["prune"]["keep_fraction"],
    script:
        "../scripts/prune.py"


register_targets(rules.prune.output.sparsity)
