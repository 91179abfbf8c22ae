"""Rule provenance_summary: one row per final result with the commit, versions and device."""

from qtrain.io import setup_logging

log = setup_logging(snakemake.log[0])

import pandas as pd  # noqa: E402

from qtrain.io import provenance_path, read_json, write_table  # noqa: E402

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
write_table(pd.DataFrame(rows), snakemake.output[0])
log.info("provenance of %d results", len(rows))
