# Figure rules: one rule plot_<id> per figure, all run by scripts/plot_figure.py through the
# registry qtrain.figures.registry (id -> table builder and plot function). Figures read the
# stages' small tables (never models) and nothing reads a figure: the claims read the same
# stage tables. figure_outputs(id) (common.smk) gives the PDF, the PNG of the report and the
# CSV tables; `options` reach the table builder and the plot function.

# Fig. 1: the rules that implement each box of the pipeline (drawn under the boxes).
PIPELINE_RULES = [
    ["pretrain"],
    ["prune"],
    ["sparse_train", "upload_sweep"],
    ["carleman_sweep", "hhl_sweep", "quantum_training"],
    ["sparse_train", "tomography_sweep"],
    ["spectrum", "error_proxy"],
]


rule plot_fig1:
    output:
        **figure_outputs("fig1", tables=()),
    log:
        figure_log("fig1"),
    conda:
        "../../envs/plot.yaml"
    params:
        figure="fig1",
        preset=PRESET,
        # checked against the workflow's rules when the job is built
        options=lambda wc: {
            "stage_rules": [rule_names(*s) for s in PIPELINE_RULES],
            "window_steps": config["sparse_train"]["window_steps"],
            "keep_fraction": config["prune"]["keep_fraction"],
            "download_fraction": config["sparse_train"]["keep_fraction"],
        },
    script:
        "../scripts/plot_figure.py"


# --- Training, Hessian spectra and the error proxy (Fig. 2a-c, 3) and claim C13 (figS8).
# Figures show the first training seed; step 0 is shared by the variants (spectrum_file).
# SPECTRUM_KEYS (spectra.smk): the (variant, step) of every ridge of Fig. 2a.


rule plot_fig2a:
    input:
        densities=rules.spectrum_densities.output.densities,
        nodes=rules.spectrum_densities.output.nodes,
        records=expand(
            rules.sparse_train.output.records,
            variant=config["sparse_train"]["variants"],
            seed=SEED,
        ),
    output:
        **figure_outputs("fig2a"),
    log:
        figure_log("fig2a"),
    conda:
        "../../envs/plot.yaml"
    params:
        figure="fig2a",
        preset=PRESET,
        options={
            "seed": SEED,
            "cutoff": config["spectra"]["cutoff"],
            "title": f"Fig. 2a: Hessian spectra during sparse training ({PRESET} preset)",
        },
    script:
        "../scripts/plot_figure.py"


rule plot_fig2b:
    input:
        curves=expand(
            rules.error_proxy.output.curve,
            variant=config["sparse_train"]["variants"],
            seed=SEED,
        ),
    output:
        **figure_outputs("fig2b"),
    log:
        figure_log("fig2b"),
    conda:
        "../../envs/plot.yaml"
    params:
        figure="fig2b",
        preset=PRESET,
        options={
            "lr": config["sparse_train"]["lr"],
            "cutoff": config["spectra"]["cutoff"],
            "conventions": config["spectra"]["conventions"],
            "title": f"Fig. 2b: error proxy during sparse training ({PRESET} preset)",
        },
    script:
        "../scripts/plot_figure.py"


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
        **figure_outputs("fig2c", tables=("table", "downloads")),
    log:
        figure_log("fig2c"),
    conda:
        "../../envs/plot.yaml"
    params:
        figure="fig2c",
        preset=PRESET,
        options={"title": f"Fig. 2c ({PRESET} preset)"},
    script:
        "../scripts/plot_figure.py"


LARGE_LABEL = (
    f"ResNet-{config['large_model']['depth']}-{config['large_model']['widen']}"
)


rule plot_fig3:
    input:
        densities=rules.spectrum_densities.output.densities,
        masses=rules.spectrum_masses.output.masses,
    output:
        **figure_outputs("fig3", tables=("table", "masses")),
    log:
        figure_log("fig3"),
    conda:
        "../../envs/plot.yaml"
    params:
        figure="fig3",
        preset=PRESET,
        options={
            "lr": config["sparse_train"]["lr"],
            "cutoff": config["spectra"]["cutoff"],
            "conventions": config["spectra"]["conventions"],
            "label": LARGE_LABEL,
            "seed": SEED,
            "title": f"Fig. 3: {LARGE_LABEL} right after pruning ({PRESET} preset)",
            # the box shows one seed; claim C2 judges all of them (its mean differs)
            "note": (
                f"training seed {SEED}; claim C2: mean over {len(SEEDS)} seeds"
                if len(SEEDS) > 1
                else f"training seed {SEED} (claim C2's only seed)"
            ),
        },
    script:
        "../scripts/plot_figure.py"


rule plot_figS8:
    input:
        table=rules.compare_proxy.output.table,
        correlations=rules.compare_proxy.output.correlations,
    output:
        **figure_outputs("figS8"),
    log:
        figure_log("figS8"),
    conda:
        "../../envs/plot.yaml"
    params:
        figure="figS8",
        preset=PRESET,
        options={
            "conventions": config["spectra"]["conventions"],
            "title": (
                "figS8: does the error proxy predict the linearization error? "
                f"({PRESET} preset)"
            ),
        },
    script:
        "../scripts/plot_figure.py"


# --- figS1-figS3: discrete Carleman theory (the fits of carleman.smk): error against N,
# discrete against first-order as eta shrinks, kappa of the block system against T.
rule plot_figS1:
    input:
        table=rules.fit_error_vs_order.output.table,
    output:
        **figure_outputs("figS1"),
    log:
        figure_log("figS1"),
    conda:
        "../../envs/plot.yaml"
    params:
        figure="figS1",
        preset=PRESET,
        options={"max_factor": config["carleman"]["claims"]["max_decay_factor"]},
    script:
        "../scripts/plot_figure.py"


rule plot_figS2:
    input:
        table=rules.fit_variant_difference.output.table,
    output:
        **figure_outputs("figS2"),
    log:
        figure_log("figS2"),
    conda:
        "../../envs/plot.yaml"
    params:
        figure="figS2",
        preset=PRESET,
        options={},
    script:
        "../scripts/plot_figure.py"


rule plot_figS3:
    input:
        table=rules.fit_condition.output.table,
    output:
        **figure_outputs("figS3"),
    log:
        figure_log("figS3"),
    conda:
        "../../envs/plot.yaml"
    params:
        figure="figS3",
        preset=PRESET,
        options={},
    script:
        "../scripts/plot_figure.py"


# --- figS4-figS7: HHL, tomography, resource models, the quantum-trained model (the fits and
# summaries of quantum.smk).
rule plot_figS4:
    input:
        table=rules.fit_hhl_sweep.output.table,
    output:
        **figure_outputs("figS4"),
    log:
        figure_log("figS4"),
    conda:
        "../../envs/plot.yaml"
    params:
        figure="figS4",
        preset=PRESET,
        options={},
    script:
        "../scripts/plot_figure.py"


rule plot_figS5:
    input:
        table=rules.fit_tomography_sweep.output.table,
        upload=rules.upload_sweep.output.table,
    output:
        **figure_outputs("figS5"),
    log:
        figure_log("figS5"),
    conda:
        "../../envs/plot.yaml"
    params:
        figure="figS5",
        preset=PRESET,
        options={},
    script:
        "../scripts/plot_figure.py"


rule plot_figS6:
    input:
        table=rules.cost_break_even.output.curves,
        summary=rules.cost_break_even.output.summary,
    output:
        **figure_outputs("figS6", tables=("table", "summary")),
    log:
        figure_log("figS6"),
    conda:
        "../../envs/plot.yaml"
    params:
        figure="figS6",
        preset=PRESET,
        options={},
    script:
        "../scripts/plot_figure.py"


rule plot_figS9:
    input:
        table=rules.cost_sensitivity.output.table,
    output:
        **figure_outputs("figS9"),
    log:
        figure_log("figS9"),
    conda:
        "../../envs/plot.yaml"
    params:
        figure="figS9",
        preset=PRESET,
        options={},
    script:
        "../scripts/plot_figure.py"


rule plot_figS10:
    input:
        table=rules.cost_decomposition.output.waterfall,
        decomposition=rules.cost_decomposition.output.decomposition,
    output:
        **figure_outputs("figS10", tables=("table", "decomposition")),
    log:
        figure_log("figS10"),
    conda:
        "../../envs/plot.yaml"
    params:
        figure="figS10",
        preset=PRESET,
        options={},
    script:
        "../scripts/plot_figure.py"


rule plot_figS7:
    input:
        table=rules.summarize_quantum_training.output.table,
        steps=rules.quantum_training.output.steps,
        windows=rules.quantum_training.output.windows,
        hhl_windows=rules.quantum_training_hhl.output.windows,
    output:
        **figure_outputs("figS7"),
    log:
        figure_log("figS7"),
    conda:
        "../../envs/plot.yaml"
    params:
        figure="figS7",
        preset=PRESET,
        options={},
    script:
        "../scripts/plot_figure.py"


# --- Each figure with its full caption on a page of its own: the report shows a figure's caption
# only behind its (i) button (Snakemake 9), and does not load a page over 2 MB (all figures).
rule figure_page:
    input:
        png=f"{RESULTS}/figures/{{fig}}.png",
        caption=os.path.join(workflow.basedir, "workflow/report/{fig}.rst"),
    output:
        html=report(
            f"{RESULTS}/figures/{{fig}}.html",
            caption="../report/figure_page.rst",
            category="Figures with captions",
        ),
    log:
        f"{LOGS}/figure_page/{{fig}}.log",
    wildcard_constraints:
        fig="|".join(FIGURES),
    conda:
        "../../envs/plot.yaml"
    params:
        preset=PRESET,
    script:
        "../scripts/figure_page.py"
