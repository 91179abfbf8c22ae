"""Rule generate_synthetic_cifar100 (rehearsal only): a small archive in CIFAR-100's python
format with synthetic images, and the record of its digests that the loader verifies
(qtrain.learning.data.write_synthetic_cifar100)."""

from qtrain.run.job import job

with job(snakemake) as run:
    log = run.log
    from qtrain.learning.data import write_synthetic_cifar100
    from qtrain.run.provenance import write_provenance

    params = snakemake.params
    record = write_synthetic_cifar100(params.root, params.train_size, params.test_size, params.seed)
    for path in snakemake.output:
        write_provenance(path, dict(params.items()), note=record["note"])
    log.info("synthetic CIFAR-100 archive under %s: %s", params.root, record)
