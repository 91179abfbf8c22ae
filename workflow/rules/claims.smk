# The paper checked: the claims table of every stage assembled into one (claim_tables() in
# common.smk lists them), and the provenance summary of every final result.


rule claims:
    input:
        lambda wc: claim_tables(),
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
        rehearsal=qtrain_config.rehearsal_label(config),
    script:
        "../scripts/claims.py"


rule provenance_summary:
    input:
        lambda wc: [*result_targets(), rules.claims.output.csv],
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
