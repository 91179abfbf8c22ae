"""Rule upload_sweep: measured gate cost of uploading s-sparse vectors of dimension n (figS5 c)."""

from qtrain.run.job import job

with job(snakemake) as run:
    log = run.log
    import pandas as pd

    from qtrain.quantum.circuits.upload import upload_sweep
    from qtrain.run.files import write_table
    from qtrain.run.provenance import write_provenance

    cfg = snakemake.params.upload
    sparse = upload_sweep(cfg["sparsity"], cfg["dimensions"], seed=snakemake.params.seed)
    dense_dims = [n for n in cfg["dimensions"] if n <= cfg["dense_max_dimension"]]
    dense = upload_sweep(
        cfg["sparsity"], dense_dims, seed=snakemake.params.seed, methods=("dense",)
    )
    table = pd.concat([sparse, dense], ignore_index=True)
    write_table(table, snakemake.output.table)
    write_provenance(
        snakemake.output.table,
        {"upload": cfg, "seed": snakemake.params.seed},
        note=sparse.attrs["note"],
    )
    for row in sparse.itertuples(index=False):
        log.info(
            "upload s = %d, n = %d: %d CX measured, model bound %d",
            row.s,
            row.n,
            row.cx,
            row.model_cx,
        )
