"""Rule sparse_train: masked SGD in quantum windows with download / re-upload (SPEC §2.4).

Resumable from `checkpoints/last.pt` (bound to the config and the content of the inputs), which
is removed, with the kept step checkpoints under `checkpoints/resume/`, once the outputs are
written."""

from qtrain.run.job import job

with job(snakemake, torch=True) as run:
    from qtrain.learning.jobs import sparse_train_job
    from qtrain.quantum.circuits.readout import tomography_readout
    from qtrain.run.files import write_table

    out = snakemake.output
    checkpoint_dir = out.checkpoints[0].rsplit("/", 1)[0]
    readout = tomography_readout(snakemake.params.sparse_train["tomography_epsilon"])
    records, downloads, checkpointer, stage_config, facts = sparse_train_job(
        snakemake.params, snakemake.wildcards.variant, snakemake.input, checkpoint_dir,
        run.device, readout,
    )  # fmt: skip
    write_table(records, out.records)
    write_table(downloads, out.downloads)
    run.record(stage_config, outputs=[out.records, out.downloads], timed=True, **facts)
    run.remove_on_success(checkpointer.path, f"{checkpoint_dir}/resume")
    run.log.info("%d steps in %.1f s, %d downloads", len(records), run.seconds, len(downloads))
