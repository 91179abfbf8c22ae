rule prepare_data:
    input:
        archive=synthetic_archive(),
    output:
        summary=f"{RESULTS}/data/summary.json",
        subsets=f"{RESULTS}/data/subsets.npz",
        dataset=prepared_dataset(),
    log:
        f"{LOGS}/prepare_data/prepare_data.log",
    conda:
        "../../envs/torch.yaml"
    params:
        data=config["data"],
        seed=config["seed"],
    script:
        "../scripts/prepare_data.py"
