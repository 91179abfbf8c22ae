"""Rule upload_sweep: measured gate cost of uploading s-sparse vectors of dimension n (figS5 c)."""

from qtrain.run.job import setup_logging

log = setup_logging(snakemake.log[0], job=snakemake)

import pandas as pd  # noqa: E402

from qtrain.quantum.circuits.upload import upload_sweep  # noqa: E402
from qtrain.run.files import write_table  # noqa: E402
from qtrain.run.provenance import write_provenance  # noqa: E402

cfg = snakemake.params.upload
sparse = upload_sweep(cfg["sparsity"], cfg["dimensions"], seed=snakemake.params.seed)
dense_dims = [n for n in cfg["dimensions"] if n <= cfg["dense_max_dimension"]]
dense = upload_sweep(cfg["sparsity"], dense_dims, seed=snakemake.params.seed, methods=("dense",))
table = pd.concat([sparse, dense], ignore_index=True)
write_table(table, snakemake.output.table)
write_provenance(
    snakemake.output.table,
    {"upload": cfg, "seed": snakemake.params.seed},
    note=sparse.attrs["note"],
)
for row in sparse.itertuples(index=False):
    log.info(
        "upload s = %d, n = %d: %d CX measured, model bound %d", row.s, row.n, row.cx, row.model_cx
    )
