"""Rule claims_training: claims C1 (model sizes, 10% kept) and C5 (download dips)."""

from qtrain.io import setup_logging

log = setup_logging(snakemake.log[0])

import pandas as pd  # noqa: E402

from qtrain.claims import claim_c1, claim_c5, download_dips, rows_to_frame  # noqa: E402
from qtrain.io import load_table, write_provenance, write_table  # noqa: E402
from qtrain.learning.models import cifar_resnet, count_parameters  # noqa: E402

counts = {
    f"ResNet-{d}-{w}": count_parameters(cifar_resnet(d, w, 100, 3, device="meta"))
    for d, w in ((32, 4), (56, 11))
}
sparsity = load_table(snakemake.input.sparsity)
records = {p.split("/")[-2]: load_table(p) for p in snakemake.input.records}
downloads = {p.split("/")[-2]: load_table(p) for p in snakemake.input.downloads}
dips = pd.concat(
    [download_dips(records[v], downloads[v]) for v in downloads if v in ("sparse", "qram")]
    or [download_dips(pd.DataFrame({"step": []}), pd.DataFrame({"step": []}))],
    ignore_index=True,
)
write_table(dips, snakemake.output.dips)
rows = [claim_c1(counts, sparsity, snakemake.params.keep_fraction), claim_c5(dips)]
table = rows_to_frame(rows)
write_table(table, snakemake.output.claims)
for path in snakemake.output:
    write_provenance(path, {"inputs": list(snakemake.input)})
for row in rows:
    log.info("%s: %s (%s)", row.claim_id, row.verdict, row.value)
