# The paper regenerated and checked: Fig. 1, the claims table, the provenance summary.
# Included after every stage file, so CLAIM_SOURCES sees every stage's claim table.
CLAIM_SOURCES = [t for t in ALL_TARGETS if "/claims/" in t]


rule plot_fig1:
    output:
        pdf=f"{RESULTS}/figures/fig1.pdf",
        png=report(
            f"{RESULTS}/figures/fig1.png",
            caption="../report/fig1.rst",
            category="Figure 1",
        ),
    log:
        f"{LOGS}/plot_fig1/plot_fig1.log",
    conda:
        "../../envs/plot.yaml"
    script:
        "../scripts/plot_fig1.py"


rule claims:
    input:
        CLAIM_SOURCES,
    output:
        csv=report(
            f"{RESULTS}/claims.csv",
            caption="../report/claims.rst",
            category="Claims",
        ),
        md=f"{RESULTS}/claims.md",
        # the report shows HTML inline (CSV and Markdown only as download links)
        html=report(
            f"{RESULTS}/claims.html",
            caption="../report/claims.rst",
            category="Claims",
        ),
    log:
        f"{LOGS}/claims/claims.log",
    conda:
        "../../envs/plot.yaml"
    params:
        preset=PRESET,
    script:
        "../scripts/claims.py"


rule provenance_summary:
    input:
        [t for t in ALL_TARGETS if "/claims/" not in t],
    output:
        csv=report(
            f"{RESULTS}/provenance.csv",
            caption="../report/provenance.rst",
            category="Provenance",
        ),
        html=report(
            f"{RESULTS}/provenance.html",
            caption="../report/provenance.rst",
            category="Provenance",
        ),
    log:
        f"{LOGS}/provenance_summary/provenance_summary.log",
    conda:
        "../../envs/plot.yaml"
    script:
        "../scripts/provenance_summary.py"


register_targets(
    rules.plot_fig1.output.pdf,
    rules.claims.output.csv,
    rules.provenance_summary.output.csv,
)
