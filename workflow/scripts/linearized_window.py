"""Rule linearized_window: the N = 1 Carleman (linearized) map of one window beside the real run
(claim C13), from the window's first checkpoint at η = lr_scale × sparse_train.lr
(qtrain.learning.linearized_window)."""

from qtrain.run.job import setup_logging

log = setup_logging(snakemake.log[0], job=snakemake)

import torch  # noqa: E402

from qtrain.learning import linearized_window as lw  # noqa: E402
from qtrain.learning.data import load_dataset  # noqa: E402
from qtrain.learning.points import load_training_point  # noqa: E402
from qtrain.learning.sparse_training import SparseTrainSettings  # noqa: E402
from qtrain.run.devices import select_device  # noqa: E402
from qtrain.run.files import load_arrays, write_table  # noqa: E402
from qtrain.run.provenance import write_provenance  # noqa: E402
from qtrain.run.resources import check_rule_fits  # noqa: E402
from qtrain.run.usage import job_usage  # noqa: E402

inp, params = snakemake.input, snakemake.params
torch.set_num_threads(snakemake.threads)
device = select_device(snakemake.resources.get("gpu", 0))
check_rule_fits(snakemake, device)  # fail before any work if the GPU is too small
crop = {"crop_padding": params.data["crop_padding"]}
settings = SparseTrainSettings.from_config(params.sparse_train, **crop)
window = int(snakemake.wildcards.window)
checkpoints = lw.checkpoint_files(inp.checkpoints)
point = load_training_point(inp.model, checkpoint=checkpoints[window * settings.window_steps])
table, record = lw.linearized_window(
    point,
    load_dataset(params.data, seed=params.data_seed, prepared=snakemake.input.get("dataset")).to(
        device
    ),
    load_arrays(inp.subsets, keys=["accuracy_subset", "batchnorm_subset"]),
    settings,
    lw.LinearizedSettings(params.linearized),
    window=window,
    lr_scale=float(params.lr_scale),
    seed=params.seed,
    checkpoints=checkpoints,
    device=device,
)
write_table(table, snakemake.output.table)
config = {k: getattr(params, k) for k in ("linearized", "sparse_train", "seed", "lr_scale")}
config["window"] = window
record["upstream"] = point.upstream
write_provenance(snakemake.output.table, config, device=device, **record, **job_usage(device))
