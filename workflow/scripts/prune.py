"""Rule prune: global magnitude masks (SPEC §2.3), fresh BatchNorm statistics (§2.4), the pruned
model, a sparsity table and the accuracy of the pruned model under three BatchNorm statistics."""

from qtrain.run.job import job

with job(snakemake, torch=True) as run:
    from qtrain.learning.jobs import prune_job
    from qtrain.run.checkpoints import save_checkpoint
    from qtrain.run.files import write_table

    masks, model, sparsity, batchnorm, stage_config, facts = prune_job(
        snakemake.params, snakemake.input, run.device
    )
    masks.save(snakemake.output.masks)
    save_checkpoint(model, snakemake.output.model, stage_config)
    write_table(sparsity, snakemake.output.sparsity)
    write_table(batchnorm, snakemake.output.batchnorm)
    run.record(stage_config, **facts)
