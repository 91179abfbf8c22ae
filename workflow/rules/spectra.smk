# Hessian spectra of the sparse-training checkpoints, the error proxy (SPEC §2.5, Fig. 2a-b),
# the large model of Fig. 3, the linearized windows and the proxy check (claim C13).
# Helpers (spectrum_steps, spectrum_file, linearized_start, ...) live in common.smk.

LARGE = f"{RUN}/large_model"
LIN_VARIANT = config["linearized"]["variant"]


rule spectrum:
    input:
        model=rules.prune.output.model,
        checkpoint=f"{RUN}/sparse_train/{{variant}}/checkpoints/step_{{step}}.pt",
        subsets=rules.prepare_data.output.subsets,
        dataset=prepared_dataset(),
    output:
        spectrum=f"{RUN}/spectra/{{variant}}/step_{{step}}.npz",
    log:
        f"{LOGS}/spectrum/seed_{{seed}}_{{variant}}_step_{{step}}.log",
    benchmark:
        f"{LOGS}/spectrum/seed_{{seed}}_{{variant}}_step_{{step}}.benchmark.tsv"
    wildcard_constraints:
        step=r"\d{5}",
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        gpu=1,
        mem_mb=host_mem_mb("spectrum"),
        gpu_mem_mb=gpu_mem_mb("spectrum"),
    params:
        seed=lambda wc: int(wc.seed),
        data_seed=SEED,
        data=config["data"],
        spectra=config["spectra"],
        sparse_train=config["sparse_train"],
        micro_batch=config["spectra"]["micro_batch"],
        state_dir=lambda wc: f"{run_dir(wc.seed)}/spectra/{wc.variant}/partial/step_{wc.step}",
        label=lambda wc: f"{wc.variant} step {int(wc.step)} (seed {wc.seed})",
    script:
        "../scripts/spectrum.py"


rule error_proxy:
    input:
        records=rules.sparse_train.output.records,
        spectra=lambda wc: variant_spectra(wc.variant, wc.seed),
    output:
        curve=f"{RUN}/spectra/{{variant}}/error_proxy.csv",
        probe_curves=f"{RUN}/spectra/{{variant}}/error_proxy_probes.csv",
        masses=f"{RUN}/spectra/{{variant}}/masses.csv",
    log:
        f"{LOGS}/error_proxy/seed_{{seed}}_{{variant}}.log",
    conda:
        "../../envs/plot.yaml"
    params:
        seed=lambda wc: int(wc.seed),
        lr=config["sparse_train"]["lr"],
        cutoff=config["spectra"]["cutoff"],
        conventions=config["spectra"]["conventions"],
    script:
        "../scripts/error_proxy.py"


rule pretrain_large:
    input:
        summary=rules.prepare_data.output.summary,
        subsets=rules.prepare_data.output.subsets,
        dataset=prepared_dataset(),
    output:
        model=f"{LARGE}/pretrain/model.pt",
        metrics=f"{LARGE}/pretrain/metrics.csv",
    log:
        f"{LOGS}/pretrain_large/seed_{{seed}}.log",
    benchmark:
        f"{LOGS}/pretrain_large/seed_{{seed}}.benchmark.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        gpu=1,
        mem_mb=host_mem_mb("pretrain_large"),
        gpu_mem_mb=gpu_mem_mb("pretrain_large"),
    params:
        checkpoint_dir=lambda wc: f"{run_dir(wc.seed)}/large_model/pretrain/checkpoints",
        seed=lambda wc: int(wc.seed),
        data_seed=SEED,
        data=config["data"],
        model={k: config["large_model"][k] for k in ("depth", "widen")},
        pretrain=pretrain_params(large=True),
    script:
        # the same script and recipe as the main model's pretraining
        "../scripts/pretrain.py"


rule prune_large:
    input:
        model=rules.pretrain_large.output.model,
        subsets=rules.prepare_data.output.subsets,
        dataset=prepared_dataset(),
    output:
        masks=f"{LARGE}/prune/masks.pt",
        model=f"{LARGE}/prune/model.pt",
        sparsity=f"{LARGE}/prune/sparsity.csv",
        batchnorm=f"{LARGE}/prune/batchnorm.csv",
    log:
        f"{LOGS}/prune_large/seed_{{seed}}.log",
    benchmark:
        f"{LOGS}/prune_large/seed_{{seed}}.benchmark.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        gpu=1,
        mem_mb=host_mem_mb("prune_large"),
        gpu_mem_mb=gpu_mem_mb("prune_large"),
    params:
        keep_fraction=config["prune"]["keep_fraction"],
        recompute_batchnorm=config["batchnorm"]["recompute"],
        data=config["data"],
        data_seed=SEED,
    script:
        "../scripts/prune.py"


rule spectrum_large:
    input:
        model=rules.prune_large.output.model,
        masks=rules.prune_large.output.masks,
        subsets=rules.prepare_data.output.subsets,
        dataset=prepared_dataset(),
    output:
        spectrum=f"{LARGE}/spectrum.npz",
    log:
        f"{LOGS}/spectrum_large/seed_{{seed}}.log",
    benchmark:
        f"{LOGS}/spectrum_large/seed_{{seed}}.benchmark.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        gpu=1,
        mem_mb=host_mem_mb("spectrum_large"),
        gpu_mem_mb=gpu_mem_mb("spectrum_large"),
    params:
        seed=lambda wc: int(wc.seed),
        data_seed=SEED,
        data=config["data"],
        spectra=config["spectra"],
        micro_batch=config["large_model"]["micro_batch"],
        state_dir=lambda wc: f"{run_dir(wc.seed)}/large_model/partial",
        label=lambda wc: (
            f"ResNet-{config['large_model']['depth']}-{config['large_model']['widen']}"
            f" after pruning (seed {wc.seed})"
        ),
    script:
        "../scripts/spectrum.py"


# The densities and Ritz nodes Fig. 2a and Fig. 3 draw: the main model at every measured step of
# every variant (step 0 is shared by the variants: spectrum_file) and the large model after
# pruning, of the first training seed, as tables (figures read tables, never spectrum files).
SPECTRUM_KEYS = [
    (v, s) for v in config["sparse_train"]["variants"] for s in spectrum_steps()
]


rule spectrum_densities:
    input:
        main=[spectrum_file(v, s, SEED) for v, s in SPECTRUM_KEYS],
        large=expand(rules.spectrum_large.output.spectrum, seed=SEED),
    output:
        densities=f"{RESULTS}/spectra/densities.csv",
        nodes=f"{RESULTS}/spectra/ritz_nodes.csv",
    log:
        f"{LOGS}/spectrum_densities/spectrum_densities.log",
    conda:
        "../../envs/plot.yaml"
    params:
        spectrum_keys=SPECTRUM_KEYS,
        seed=SEED,
    script:
        "../scripts/spectrum_densities.py"


# The masses claim C2 and Fig. 3 read: the main model at step 0 and the large model after
# pruning, every training seed and Lanczos probe (one replicate estimate each), every convention.
rule spectrum_masses:
    input:
        main=[spectrum_file(config["sparse_train"]["variants"][0], 0, s) for s in SEEDS],
        large=expand(rules.spectrum_large.output.spectrum, seed=SEEDS),
    output:
        masses=f"{RESULTS}/spectra/masses.csv",
    log:
        f"{LOGS}/spectrum_masses/spectrum_masses.log",
    conda:
        "../../envs/plot.yaml"
    params:
        seeds=SEEDS,
        lr=config["sparse_train"]["lr"],
        cutoff=config["spectra"]["cutoff"],
        conventions=config["spectra"]["conventions"],
        main_variant=qtrain_config.spectrum_variant(
            config, config["sparse_train"]["variants"][0], 0
        ),
    script:
        "../scripts/spectrum_masses.py"


rule linearized_window:
    input:
        model=rules.prune.output.model,
        checkpoints=lambda wc: linearized_checkpoints(wc.window, wc.seed),
        subsets=rules.prepare_data.output.subsets,
        dataset=prepared_dataset(),
    output:
        table=f"{RUN}/linearized/{LIN_VARIANT}/window_{{window}}_lr_{{scale}}.csv",
    log:
        f"{LOGS}/linearized_window/seed_{{seed}}_{LIN_VARIANT}_window_{{window}}_lr_{{scale}}.log",
    benchmark:
        f"{LOGS}/linearized_window/seed_{{seed}}_{LIN_VARIANT}_window_{{window}}_lr_{{scale}}.benchmark.tsv"
    wildcard_constraints:
        window=r"\d{3}",
        scale=r"[0-9.]+",
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        gpu=1,
        mem_mb=host_mem_mb("linearized_window"),
        gpu_mem_mb=gpu_mem_mb("linearized_window"),
    params:
        seed=lambda wc: int(wc.seed),
        data_seed=SEED,
        data=config["data"],
        sparse_train=config["sparse_train"],
        linearized=config["linearized"],
        lr_scale=lambda wc: float(wc.scale),
    script:
        "../scripts/linearized_window.py"


rule proxy_vs_carleman:
    output:
        table=f"{RESULTS}/proxy_check/proxy_vs_carleman.csv",
    log:
        f"{LOGS}/proxy_vs_carleman/proxy_vs_carleman.log",
    conda:
        "../../envs/quantum.yaml"
    params:
        seed=config["seed"],
        proxy_check=config["proxy_check"],
        cutoff=config["spectra"]["cutoff"],
        conventions=config["spectra"]["conventions"],
    script:
        "../scripts/proxy_vs_carleman.py"


rule compare_proxy:
    input:
        polynomial=rules.proxy_vs_carleman.output.table,
        windows=[
            expand(
                rules.linearized_window.output.table,
                window=f"{w:03d}",
                scale=f"{s:g}",
                seed=SEED,
            )[0]
            for w, s in linearized_settings()
        ],
        spectra=variant_spectra(LIN_VARIANT, SEED),
    output:
        table=f"{RESULTS}/proxy_check/proxy_vs_true.csv",
        correlations=f"{RESULTS}/proxy_check/correlations.csv",
    log:
        f"{LOGS}/compare_proxy/compare_proxy.log",
    conda:
        "../../envs/plot.yaml"
    params:
        cutoff=config["spectra"]["cutoff"],
        conventions=config["spectra"]["conventions"],
        level=config["noise"]["level"],
    script:
        "../scripts/compare_proxy.py"


rule claims_proxy:
    input:
        correlations=rules.compare_proxy.output.correlations,
    output:
        claims=f"{RESULTS}/claims/proxy.csv",
    log:
        f"{LOGS}/claims_proxy/claims_proxy.log",
    conda:
        "../../envs/plot.yaml"
    params:
        # the keywords of qtrain.claims.proxy.claim_c13
        options={
            "conventions": config["spectra"]["conventions"],
            "min_partial": config["proxy_check"]["min_partial_correlation"],
        },
    script:
        "../scripts/claims_proxy.py"


rule claims_spectra:
    input:
        curves=expand(
            rules.error_proxy.output.curve,
            variant=claim_variants(),
            seed=SEEDS,
        ),
        masses=rules.spectrum_masses.output.masses,
    output:
        claims=f"{RESULTS}/claims/spectra.csv",
    log:
        f"{LOGS}/claims_spectra/claims_spectra.log",
    conda:
        "../../envs/plot.yaml"
    params:
        # the keywords of qtrain.claims.spectra.spectra_claims
        options={
            "conventions": config["spectra"]["conventions"],
            "level": config["noise"]["level"],
            "main_label": (
                f"ResNet-{config['model']['depth']}-{config['model']['widen']} step 0"
            ),
            "large_label": (
                f"ResNet-{config['large_model']['depth']}-{config['large_model']['widen']}"
                " after pruning"
            ),
        },
    script:
        "../scripts/claims_spectra.py"
