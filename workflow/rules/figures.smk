# Figure rules: one rule per figure; figures read small tables, never models.
# Each figure rule registers its outputs with register_targets().


rule plot_fig2c:
    input:
        records=expand(
            rules.sparse_train.output.records,
            variant=config["sparse_train"]["variants"],
        ),
        downloads=expand(
            rules.sparse_train.output.downloads,
            variant=config["sparse_train"]["variants"],
        ),
    output:
        pdf=report(
            f"{RESULTS}/figures/fig2c.pdf",
            caption="../report/fig2c.rst",
            category="Figure 2",
        ),
        png=f"{RESULTS}/figures/fig2c.png",
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
