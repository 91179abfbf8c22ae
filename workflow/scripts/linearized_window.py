"""Rule linearized_window: the N = 1 Carleman (linearized) map of one window beside the real run
(claim C13), from the window's first checkpoint at η = lr_scale × sparse_train.lr
(qtrain.learning.linearized_window)."""

from qtrain.io import setup_logging

log = setup_logging(snakemake.log[0])

import re  # noqa: E402

import torch  # noqa: E402

from qtrain.io import load_arrays, write_provenance, write_table  # noqa: E402
from qtrain.learning.data import load_dataset  # noqa: E402
from qtrain.learning.linearized_window import LinearizedSettings, linearized_window  # noqa: E402
from qtrain.learning.points import load_training_point  # noqa: E402
from qtrain.learning.sparse_training import SparseTrainSettings  # noqa: E402
from qtrain.learning.training import select_device  # noqa: E402

params = snakemake.params
torch.set_num_threads(snakemake.threads)
device = select_device(snakemake.resources.get("gpu", 0))
settings = SparseTrainSettings.from_config(
    params.sparse_train, crop_padding=params.data["crop_padding"]
)
window = int(snakemake.wildcards.window)
checkpoints = {
    int(re.search(r"step_(\d+)\.pt$", path).group(1)): path for path in snakemake.input.checkpoints
}
start = checkpoints[window * settings.window_steps]
point = load_training_point(snakemake.input.model, checkpoint=start)
table, record = linearized_window(
    point,
    load_dataset(params.data, seed=params.data_seed).to(device),
    load_arrays(snakemake.input.subsets, keys=["accuracy_subset", "batchnorm_subset"]),
    settings,
    LinearizedSettings(params.linearized),
    window=window,
    lr_scale=float(params.lr_scale),
    seed=params.seed,
    checkpoints=checkpoints,
    device=device,
)
write_table(table, snakemake.output.table)
config = {k: getattr(params, k) for k in ("linearized", "sparse_train", "seed", "lr_scale")}
config["window"] = window
write_provenance(snakemake.output.table, config, device=device, upstream=point.upstream, **record)
