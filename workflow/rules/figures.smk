# Figure rules: one rule per figure; figures read small tables, never models.
# Each figure rule registers its outputs with register_targets().


rule plot_fig2c:
    input:
        records=expand(
            rules.sparse_train.output.records,
            variant=config["sparse_train"]["variants"],
            seed=SEED,
        ),
        downloads=expand(
            rules.sparse_train.output.downloads,
            variant=config["sparse_train"]["variants"],
            seed=SEED,
        ),
    output:
        pdf=f"{RESULTS}/figures/fig2c.pdf",
        png=report(
            f"{RESULTS}/figures/fig2c.png",
            caption="../report/fig2c.rst",
            category="Figure 2",
        ),
        table=f"{RESULTS}/figures/fig2c.csv",
        downloads=f"{RESULTS}/figures/fig2c_downloads.csv",
    log:
        f"{LOGS}/plot_fig2c/plot_fig2c.log",
    conda:
        "../../envs/plot.yaml"
    params:
        preset=PRESET,
        title=f"Fig. 2c ({PRESET} preset)",
    script:
        "../scripts/plot_fig2c.py"


register_targets(rules.plot_fig2c.output.pdf)


# figS4-figS7: HHL, tomography, resource models, the quantum-trained model (quantum.smk).
rule plot_figS4:
    input:
        table=rules.hhl_sweep.output.table,
    output:
        pdf=f"{RESULTS}/figures/figS4.pdf",
        png=report(
            f"{RESULTS}/figures/figS4.png",
            caption="../report/figS4.rst",
            category="Quantum algorithm",
        ),
        table=f"{RESULTS}/figures/figS4.csv",
    log:
        f"{LOGS}/plot_figS4/plot_figS4.log",
    conda:
        "../../envs/quantum.yaml"
    params:
        preset=PRESET,
    script:
        "../scripts/plot_figs4.py"


rule plot_figS5:
    input:
        table=rules.tomography_sweep.output.table,
        upload=rules.upload_sweep.output.table,
    output:
        pdf=f"{RESULTS}/figures/figS5.pdf",
        png=report(
            f"{RESULTS}/figures/figS5.png",
            caption="../report/figS5.rst",
            category="Quantum algorithm",
        ),
        table=f"{RESULTS}/figures/figS5.csv",
    log:
        f"{LOGS}/plot_figS5/plot_figS5.log",
    conda:
        "../../envs/quantum.yaml"
    params:
        preset=PRESET,
        fit_min_ratio=config["quantum"]["tomography"]["fit_min_ratio"],
        seed=config["seed"],
    script:
        "../scripts/plot_figs5.py"


rule plot_figS6:
    input:
        curves=rules.resource_model.output.curves,
        resnets=rules.resource_model.output.resnets,
        crossovers=rules.resource_model.output.crossovers,
    output:
        pdf=f"{RESULTS}/figures/figS6.pdf",
        png=report(
            f"{RESULTS}/figures/figS6.png",
            caption="../report/figS6.rst",
            category="Quantum algorithm",
        ),
        table=f"{RESULTS}/figures/figS6.csv",
        resnets=f"{RESULTS}/figures/figS6_resnets.csv",
    log:
        f"{LOGS}/plot_figS6/plot_figS6.log",
    conda:
        "../../envs/quantum.yaml"
    params:
        preset=PRESET,
        fit_min_n=config["quantum"]["resources"]["fit_min_n"],
    script:
        "../scripts/plot_figs6.py"


rule plot_figS7:
    input:
        steps=rules.quantum_training.output.steps,
        windows=rules.quantum_training.output.windows,
        hhl_steps=rules.quantum_training_hhl.output.steps,
        hhl_windows=rules.quantum_training_hhl.output.windows,
    output:
        pdf=f"{RESULTS}/figures/figS7.pdf",
        png=report(
            f"{RESULTS}/figures/figS7.png",
            caption="../report/figS7.rst",
            category="Quantum algorithm",
        ),
        table=f"{RESULTS}/figures/figS7.csv",
    log:
        f"{LOGS}/plot_figS7/plot_figS7.log",
    conda:
        "../../envs/quantum.yaml"
    params:
        preset=PRESET,
    script:
        "../scripts/plot_figs7.py"


register_targets(
    *(
        getattr(rules, f"plot_figS{i}").output[key]
        for i in (4, 5, 6, 7)
        for key in ("pdf", "png", "table")
    )
)


# --- Hessian spectra and the error proxy (Fig. 2a, 2b, 3) and claim C13 (figS8)
# Step 0 is shared by the variants (spectrum_file in common.smk).
SPECTRUM_KEYS = [
    (v, s) for v in config["sparse_train"]["variants"] for s in spectrum_steps()
]


rule plot_fig2a:
    input:
        spectra=[spectrum_file(v, s, SEED) for v, s in SPECTRUM_KEYS],
        records=expand(
            rules.sparse_train.output.records,
            variant=config["sparse_train"]["variants"],
            seed=SEED,
        ),
    output:
        pdf=f"{RESULTS}/figures/fig2a.pdf",
        png=report(
            f"{RESULTS}/figures/fig2a.png",
            caption="../report/fig2a.rst",
            category="Figure 2",
        ),
        table=f"{RESULTS}/figures/fig2a.csv",
    log:
        f"{LOGS}/plot_fig2a/plot_fig2a.log",
    conda:
        "../../envs/plot.yaml"
    params:
        spectrum_keys=SPECTRUM_KEYS,
        cutoff=config["spectra"]["cutoff"],
        preset=PRESET,
        title=f"Fig. 2a: Hessian spectra during sparse training ({PRESET} preset)",
    script:
        "../scripts/plot_fig2a.py"


rule plot_fig2b:
    input:
        curves=expand(
            rules.error_proxy.output.curve,
            variant=config["sparse_train"]["variants"],
            seed=SEED,
        ),
    output:
        pdf=f"{RESULTS}/figures/fig2b.pdf",
        png=report(
            f"{RESULTS}/figures/fig2b.png",
            caption="../report/fig2b.rst",
            category="Figure 2",
        ),
        table=f"{RESULTS}/figures/fig2b.csv",
    log:
        f"{LOGS}/plot_fig2b/plot_fig2b.log",
    conda:
        "../../envs/plot.yaml"
    params:
        lr=config["sparse_train"]["lr"],
        cutoff=config["spectra"]["cutoff"],
        conventions=config["spectra"]["conventions"],
        preset=PRESET,
        title=f"Fig. 2b: error proxy during sparse training ({PRESET} preset)",
    script:
        "../scripts/plot_fig2b.py"


rule plot_fig3:
    input:
        spectrum=expand(rules.spectrum_large.output.spectrum, seed=SEED)[0],
    output:
        pdf=f"{RESULTS}/figures/fig3.pdf",
        png=report(
            f"{RESULTS}/figures/fig3.png",
            caption="../report/fig3.rst",
            category="Figure 3",
        ),
        table=f"{RESULTS}/figures/fig3.csv",
        masses=f"{RESULTS}/figures/fig3_masses.csv",
    log:
        f"{LOGS}/plot_fig3/plot_fig3.log",
    conda:
        "../../envs/plot.yaml"
    params:
        lr=config["sparse_train"]["lr"],
        cutoff=config["spectra"]["cutoff"],
        conventions=config["spectra"]["conventions"],
        label=f"ResNet-{config['large_model']['depth']}-{config['large_model']['widen']}",
        preset=PRESET,
        title=(
            f"Fig. 3: ResNet-{config['large_model']['depth']}-"
            f"{config['large_model']['widen']} right after pruning ({PRESET} preset)"
        ),
    script:
        "../scripts/plot_fig3.py"


rule plot_figS8:
    input:
        table=rules.compare_proxy.output.table,
        correlations=rules.compare_proxy.output.correlations,
    output:
        pdf=f"{RESULTS}/figures/figS8.pdf",
        png=report(
            f"{RESULTS}/figures/figS8.png",
            caption="../report/figS8.rst",
            category="Error proxy check",
        ),
        table=f"{RESULTS}/figures/figS8.csv",
    log:
        f"{LOGS}/plot_figS8/plot_figS8.log",
    conda:
        "../../envs/plot.yaml"
    params:
        conventions=config["spectra"]["conventions"],
        preset=PRESET,
        title=f"figS8: does the error proxy predict the linearization error? ({PRESET} preset)",
    script:
        "../scripts/plot_figS8.py"


register_targets(
    rules.plot_fig2a.output.pdf,
    rules.plot_fig2b.output.pdf,
    rules.plot_fig3.output.pdf,
    rules.plot_figS8.output.pdf,
)


# figS1-figS3: discrete Carleman theory (carleman.smk): error against N, discrete against
# first-order as eta shrinks, kappa of the block system against T.
rule plot_figS1:
    input:
        table=rules.carleman_sweep.output.table,
    output:
        pdf=f"{RESULTS}/figures/figS1.pdf",
        png=report(
            f"{RESULTS}/figures/figS1.png",
            caption="../report/figS1.rst",
            category="Carleman linearization",
        ),
        table=f"{RESULTS}/figures/figS1.csv",
    log:
        f"{LOGS}/plot_figS1/plot_figS1.log",
    conda:
        "../../envs/plot.yaml"
    params:
        preset=PRESET,
        max_factor=config["carleman"]["claims"]["max_decay_factor"],
    script:
        "../scripts/plot_figs1.py"


rule plot_figS2:
    input:
        table=rules.variant_sweep.output.table,
    output:
        pdf=f"{RESULTS}/figures/figS2.pdf",
        png=report(
            f"{RESULTS}/figures/figS2.png",
            caption="../report/figS2.rst",
            category="Carleman linearization",
        ),
        table=f"{RESULTS}/figures/figS2.csv",
    log:
        f"{LOGS}/plot_figS2/plot_figS2.log",
    conda:
        "../../envs/plot.yaml"
    params:
        preset=PRESET,
    script:
        "../scripts/plot_figs2.py"


rule plot_figS3:
    input:
        table=rules.condition_sweep.output.table,
    output:
        pdf=f"{RESULTS}/figures/figS3.pdf",
        png=report(
            f"{RESULTS}/figures/figS3.png",
            caption="../report/figS3.rst",
            category="Carleman linearization",
        ),
        table=f"{RESULTS}/figures/figS3.csv",
    log:
        f"{LOGS}/plot_figS3/plot_figS3.log",
    conda:
        "../../envs/plot.yaml"
    params:
        preset=PRESET,
    script:
        "../scripts/plot_figs3.py"


register_targets(
    rules.plot_figS1.output.pdf,
    rules.plot_figS2.output.pdf,
    rules.plot_figS3.output.pdf,
)
