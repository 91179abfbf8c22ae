"""Rule provenance_summary: one row per final result with the commit, versions and device, as
CSV and HTML (the form the HTML report shows inline)."""

from qtrain.run.job import job

with job(snakemake) as run:
    log = run.log
    import pandas as pd

    from qtrain.run.files import read_json, write_html_table, write_table
    from qtrain.run.provenance import provenance_path

    rows = []
    for result in snakemake.input:
        path = provenance_path(result)
        record = read_json(path) if path.exists() else {}
        packages = record.get("packages", {})
        rows.append(
            {
                "result": result,
                "created": record.get("created"),
                "git_commit": record.get("git_commit"),
                "config_digest": record.get("config_digest"),
                "device": record.get("device"),
                "wall_seconds": record.get("wall_seconds"),
                "torch": packages.get("torch"),
                "qiskit": packages.get("qiskit"),
                "qtrain": packages.get("qtrain"),
            }
        )
    table = pd.DataFrame(rows)
    write_table(table, snakemake.output.csv)
    write_html_table(
        table,
        snakemake.output.html,
        "Provenance of the final results",
        "Each result's full record (config, all package versions, platform) lies beside it as "
        "<file>.provenance.json.",
    )
    log.info("provenance of %d results", len(rows))
