"""Rule pretrain: dense SGD of the ResNet (SPEC §2.2), resumable from its last checkpoint (bound
to the config and the content of the inputs; removed once the outputs are written)."""

from qtrain.run.job import job

with job(snakemake, torch=True) as run:
    from qtrain.learning.jobs import pretrain_job
    from qtrain.run.checkpoints import save_checkpoint
    from qtrain.run.files import write_table

    p = snakemake.params
    stage_config = {k: getattr(p, k) for k in ("seed", "data_seed", "data", "model", "pretrain")}
    model, metrics, checkpointer, facts = pretrain_job(
        stage_config, p.checkpoint_dir, snakemake.input, run.device
    )
    save_checkpoint(model, snakemake.output.model, stage_config)
    write_table(metrics, snakemake.output.metrics)
    run.record(stage_config, timed=True, **facts)
    run.remove_on_success(checkpointer.path)
    run.log.info("pretraining done in %.1f s: %s", run.seconds, metrics.iloc[-1].to_dict())
