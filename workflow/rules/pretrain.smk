rule pretrain:
    input:
        summary=rules.prepare_data.output.summary,
        subsets=rules.prepare_data.output.subsets,
    output:
        model=f"{RESULTS}/pretrain/model.pt",
        metrics=f"{RESULTS}/pretrain/metrics.csv",
    log:
        f"{LOGS}/pretrain/pretrain.log",
    benchmark:
        f"{LOGS}/pretrain/pretrain.benchmark.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: 2
    resources:
        gpu=1,
        mem_mb=host_mem_mb("pretrain"),
        gpu_mem_mb=gpu_mem_mb("pretrain"),
    params:
        checkpoint_dir=f"{RESULTS}/pretrain/checkpoints",
        seed=config["seed"],
        data=config["data"],
        model=config["model"],
        pretrain=pretrain_params(),
    script:
        "../scripts/pretrain.py"


register_targets(rules.pretrain.output.metrics)
