"""Rules spectrum and spectrum_large: Papyan's Lanczos density of one checkpoint's Hessian.

The operator (SPEC §2.5): the coordinates the following window evolves (dense windows: the full
Hessian) and BatchNorm as configured. Resumable: every finished Lanczos run is kept under
``params.state_dir`` and reused under the same config and inputs; the folder is removed once the
spectrum is written (qtrain.learning.hessian_spectra.point_spectrum).
"""

from qtrain.run.job import job

with job(snakemake, torch=True) as run:
    from qtrain.learning.data import load_dataset
    from qtrain.learning.hessian_spectra import load_training_point, point_spectrum
    from qtrain.run.files import load_arrays

    inp, params = snakemake.input, snakemake.params
    point = load_training_point(inp.model, checkpoint=inp.get("checkpoint"), masks=inp.get("masks"))
    density, record = point_spectrum(
        point,
        load_dataset(params.data, seed=params.data_seed, prepared=inp.get("dataset")),
        load_arrays(inp.subsets, keys=["hessian_batch", "batchnorm_subset"]),
        params.spectra,
        sparse_train=params.get("sparse_train"),
        seed=params.seed,
        micro_batch=params.micro_batch,
        state_dir=params.state_dir,
        label=params.label,
        device=run.device,
        inputs=inp,
    )
    density.save(snakemake.output.spectrum)
    run.record(record.pop("config"), **record)
    run.remove_on_success(params.state_dir)
    nodes = density.nodes
    run.log.info("%s: Ritz values in [%.4g, %.4g]", params.label, nodes.min(), nodes.max())
