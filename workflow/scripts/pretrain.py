"""Rule pretrain: dense SGD of the ResNet (SPEC §2.2), resumable from its last checkpoint.

The checkpoint is bound to the config and the content of the inputs, and removed once the
outputs are written (so `--forcerun pretrain` trains every epoch again)."""

from qtrain.io import setup_logging

log = setup_logging(snakemake.log[0])

import time  # noqa: E402

import torch  # noqa: E402

from qtrain.gpu import check_rule_fits, job_usage  # noqa: E402
from qtrain.io import (  # noqa: E402
    config_digest,
    load_arrays,
    remove_resume_state,
    save_checkpoint,
    write_provenance,
    write_table,
)
from qtrain.learning.data import load_dataset  # noqa: E402
from qtrain.learning.models import cifar_resnet, count_parameters, model_record  # noqa: E402
from qtrain.learning.training import (  # noqa: E402
    PretrainSettings,
    pretrain,
    seed_everything,
    select_device,
)

params = snakemake.params
stage_config = {
    "seed": params.seed,
    "data_seed": params.data_seed,
    "data": params.data,
    "model": params.model,
    "pretrain": params.pretrain,
}
torch.set_num_threads(snakemake.threads)
device = select_device(snakemake.resources.get("gpu", 0))
check_rule_fits(snakemake, device)  # fail before any work if the GPU is too small
log.info("device %s, %d threads", device, snakemake.threads)
data = load_dataset(params.data, seed=params.data_seed, prepared=snakemake.input.get("dataset"))
accuracy_indices = load_arrays(snakemake.input.subsets, keys=["accuracy_subset"])["accuracy_subset"]
seed_everything(params.seed)
model = cifar_resnet(
    params.model["depth"], params.model["widen"], data.num_classes, data.in_channels
)
log.info(
    "ResNet-%d-%d: %d parameters",
    params.model["depth"],
    params.model["widen"],
    count_parameters(model),
)
settings = PretrainSettings.from_config(
    params.pretrain, augment=params.data["augment"], crop_padding=params.data["crop_padding"]
)
checkpoint_path = f"{params.checkpoint_dir}/{config_digest(stage_config)}.pt"
tic = time.perf_counter()
metrics = pretrain(
    model,
    data,
    settings,
    seed=params.seed,
    accuracy_indices=accuracy_indices,
    checkpoint_path=checkpoint_path,
    config=stage_config,
    device=device,
    inputs=snakemake.input,
)
seconds = time.perf_counter() - tic
save_checkpoint(model_record(model, data.in_channels), snakemake.output.model, stage_config)
write_table(metrics, snakemake.output.metrics)
for path in snakemake.output:
    write_provenance(
        path,
        stage_config,
        device=device,
        parameters=count_parameters(model),
        synthetic_data=data.synthetic,
        wall_seconds=seconds,
        resumed_from_epoch=metrics.attrs["resumed_from_epoch"],
        **job_usage(device),
    )
remove_resume_state(checkpoint_path)
log.info("pretraining done in %.1f s: %s", seconds, metrics.iloc[-1].to_dict())
