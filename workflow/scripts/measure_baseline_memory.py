"""Rule measure_baseline_memory (rehearsal): the resident memory of a network job before its
model exists (the imports and the dataset), what a job's peak RSS on the CPU holds beyond the
memory model (qtrain.run.usage.baseline_memory)."""

from qtrain.run.job import job

with job(snakemake) as run:
    log = run.log
    import torch

    from qtrain.run.files import write_json
    from qtrain.run.provenance import write_provenance
    from qtrain.run.usage import baseline_memory

    torch.set_num_threads(snakemake.threads)
    record = baseline_memory(snakemake.params.data, seed=snakemake.params.seed)
    write_json(record, snakemake.output.record)
    write_provenance(snakemake.output.record, {"data": snakemake.params.data})
    log.info("baseline: %s", record)
