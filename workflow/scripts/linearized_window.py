"""Rule linearized_window: the N = 1 Carleman (linearized) map of one window beside the real run
(claim C13), from the window's first checkpoint at η = lr_scale × sparse_train.lr
(qtrain.learning.linearized_window)."""

from qtrain.run.job import job

with job(snakemake, torch=True) as run:
    from qtrain.learning import linearized_window as lw
    from qtrain.learning.data import load_dataset
    from qtrain.learning.hessian_spectra import load_training_point
    from qtrain.learning.sparse_training import SparseTrainSettings
    from qtrain.run.files import load_arrays, write_table

    inp, params, window = snakemake.input, snakemake.params, int(snakemake.wildcards.window)
    settings = SparseTrainSettings.from_config(
        params.sparse_train, crop_padding=params.data["crop_padding"]
    )
    checkpoints = lw.checkpoint_files(inp.checkpoints)
    point = load_training_point(inp.model, checkpoint=checkpoints[window * settings.window_steps])
    data = load_dataset(params.data, seed=params.data_seed, prepared=inp.get("dataset"))
    table, record = lw.linearized_window(
        point,
        data.to(run.device),
        load_arrays(inp.subsets, keys=["accuracy_subset", "batchnorm_subset"]),
        settings,
        lw.LinearizedSettings(params.linearized),
        window=window,
        lr_scale=float(params.lr_scale),
        seed=params.seed,
        checkpoints=checkpoints,
        device=run.device,
    )
    write_table(table, snakemake.output.table)
    config = {k: getattr(params, k) for k in ("linearized", "sparse_train", "seed", "lr_scale")}
    run.record({**config, "window": window}, upstream=point.upstream, **record)
