"""Rule prepare_data: fetch/verify the dataset, record its summary, draw the fixed subsets (and,
for digits, write the prepared tensors the network rules read back)."""

from qtrain.run.files import write_json
from qtrain.run.job import job
from qtrain.run.provenance import write_provenance

with job(snakemake) as run:
    log = run.log
    import numpy as np

    from qtrain.learning.data import fixed_subsets, load_dataset, save_prepared
    from qtrain.run.files import atomic_write
    from qtrain.run.usage import job_usage

    cfg, seed = snakemake.params.data, snakemake.params.seed
    data = load_dataset(cfg, seed=seed)
    sizes = {
        "hessian_batch": cfg["hessian_batch"],
        "accuracy_subset": cfg["accuracy_subset"],
        "batchnorm_subset": cfg["batchnorm_subset"],
    }
    subsets = fixed_subsets(len(data.y_train), sizes, seed)
    with atomic_write(snakemake.output.subsets, "wb") as handle:
        np.savez(handle, **subsets)
    summary = data.summary() | {f"{k}_size": len(v) for k, v in subsets.items()}
    if snakemake.output.get(
        "dataset"
    ):  # digits: read back by the network rules (no sklearn import)
        save_prepared(data, snakemake.output.dataset, cfg, seed)
    write_json(summary, snakemake.output.summary)
    write_provenance(snakemake.output.summary, {"data": cfg, "seed": seed}, **job_usage())
    log.info("dataset %s: %s", cfg["dataset"], summary)
