# The rehearsal of the paper preset (config/rehearsal.yaml, rehearsal.enabled): the paper's
# models in full on a generated archive in CIFAR-100's own file format, tiny counts. These rules
# exist only in a rehearsal; every other rule is the paper preset's (tests/test_rehearsal.py
# compares the two rule sets). Outputs under results/<preset>/: the synthetic archive, the
# GPU-hour estimate the workflow printed when it started, and each network job's measured
# peak memory against the memory model (qtrain.run.resources; docs/benchmarks.md, "The rehearsal").
REHEARSAL = config["rehearsal"]

if REHEARSAL["enabled"]:
    # Peak memory is measured as the peak of live memory, as the memory model was fitted
    # (rule bench_memory): glibc gives freed blocks back at once instead of keeping them
    # (without this a job's resident peak also holds freed, retained blocks). Inherited by jobs.
    os.environ.setdefault("MALLOC_MMAP_THRESHOLD_", "65536")
    os.environ.setdefault("MALLOC_TRIM_THRESHOLD_", "0")

    rule generate_synthetic_cifar100:
        output:
            files=synthetic_archive(),
        log:
            f"{LOGS}/generate_synthetic_cifar100/generate_synthetic_cifar100.log",
        conda:
            "../../envs/torch.yaml"
        params:
            root=lambda wc, output: output.files[0].rsplit("/cifar-100-python/", 1)[0],
            train_size=config["data"]["synthetic_train_size"],
            test_size=config["data"]["synthetic_test_size"],
            seed=config["seed"],
        script:
            "../scripts/generate_synthetic_cifar100.py"

    rule estimate_gpu_hours:
        input:
            paper="config/config.yaml",
        output:
            table=f"{RESULTS}/estimate/gpu_hours.csv",
            text=f"{RESULTS}/estimate/gpu_hours.txt",
        log:
            f"{LOGS}/estimate_gpu_hours/estimate_gpu_hours.log",
        conda:
            "../../envs/plot.yaml"
        params:
            config=config,
        script:
            "../scripts/estimate_gpu_hours.py"

    rule measure_baseline_memory:
        input:
            summary=rules.prepare_data.output.summary,
        output:
            record=f"{RESULTS}/memory/baseline.json",
        log:
            f"{LOGS}/measure_baseline_memory/measure_baseline_memory.log",
        conda:
            "../../envs/torch.yaml"
        threads: 1
        params:
            data=config["data"],
            seed=SEED,
        script:
            "../scripts/measure_baseline_memory.py"

    rule compare_memory:
        input:
            baseline=rules.measure_baseline_memory.output.record,
            prepare_data=rules.prepare_data.output.summary,
            pretrain=expand(rules.pretrain.output.metrics, seed=SEEDS),
            prune=expand(rules.prune.output.sparsity, seed=SEEDS),
            sparse_train=expand(
                rules.sparse_train.output.records,
                variant=config["sparse_train"]["variants"],
                seed=SEEDS,
            ),
            spectrum=[
                spectrum_file(v, step, seed)
                for seed in SEEDS
                for v, step in qtrain_config.spectrum_points(config)
            ],
            linearized_window=[
                expand(
                    rules.linearized_window.output.table,
                    window=f"{w:03d}",
                    scale=f"{s:g}",
                    seed=seed,
                )[0]
                for seed in SEEDS
                for w, s in linearized_settings()
            ],
            pretrain_large=expand(rules.pretrain_large.output.metrics, seed=SEEDS),
            prune_large=expand(rules.prune_large.output.sparsity, seed=SEEDS),
            spectrum_large=expand(rules.spectrum_large.output.spectrum, seed=SEEDS),
        output:
            table=f"{RESULTS}/memory/memory.csv",
        log:
            f"{LOGS}/compare_memory/compare_memory.log",
        conda:
            "../../envs/plot.yaml"
        params:
            margin=REHEARSAL["memory_margin"],
            config=config,
        script:
            "../scripts/compare_memory.py"
