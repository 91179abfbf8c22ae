# Benchmark rules (`make bench` = `snakemake bench`): CSV under results/bench/ (not per preset:
# benchmarks measure code, not science), summarized in docs/benchmarks.md.
# Each bench rule registers its CSV with register_bench().


rule bench_sparse_step:
    output:
        "results/bench/sparse_step.csv",
    log:
        "logs/bench/bench_sparse_step.log",
    conda:
        "../../envs/torch.yaml"
    threads: 2
    resources:
        gpu=1,
    params:
        # CPU: the paper model at a small batch (batch 2048 needs > 20 GiB of activations
        # and about two minutes per step on 2 cores); on a GPU add batch 2048.
        cases=[
            {"depth": 32, "widen": 4, "batch": 32, "repeats": 3},
            {"depth": 8, "widen": 2, "batch": 2048, "micro_batch": 512, "repeats": 3},
        ],
    script:
        "../scripts/bench_sparse_step.py"


register_bench(rules.bench_sparse_step.output)
