"""Rule prune: global magnitude masks (SPEC §2.3), fresh BatchNorm statistics (§2.4), the pruned
model, a sparsity table and the accuracy of the pruned model under three BatchNorm statistics."""

from qtrain.io import setup_logging

log = setup_logging(snakemake.log[0])

import torch  # noqa: E402

from qtrain.gpu import check_rule_fits, job_usage  # noqa: E402
from qtrain.io import (  # noqa: E402
    load_arrays,
    load_checkpoint,
    save_checkpoint,
    write_provenance,
    write_table,
)
from qtrain.learning.data import load_dataset  # noqa: E402
from qtrain.learning.models import load_model, model_record  # noqa: E402
from qtrain.learning.pruning import prune_with_fresh_batchnorm  # noqa: E402
from qtrain.learning.training import select_device  # noqa: E402

params = snakemake.params
torch.set_num_threads(snakemake.threads)
device = select_device(snakemake.resources.get("gpu", 0))
check_rule_fits(snakemake, device)  # fail before any work if the GPU is too small
log.info("device %s, %d threads", device, snakemake.threads)
state = load_checkpoint(snakemake.input.model)
model = load_model(snakemake.input.model).to(device)
data = load_dataset(params.data, seed=params.data_seed, prepared=snakemake.input.get("dataset"))
subsets = load_arrays(snakemake.input.subsets, keys=["batchnorm_subset", "accuracy_subset"])
x_bn = data.x_train[torch.as_tensor(subsets["batchnorm_subset"])]
acc = torch.as_tensor(subsets["accuracy_subset"])
masks, batchnorm_table = prune_with_fresh_batchnorm(
    model,
    params.keep_fraction,
    x_bn,
    data.x_train[acc],
    data.y_train[acc],
    recompute=params.recompute_batchnorm,
)
report = masks.report(model)
if int(report["pruned_nonzero"].iloc[-1]) != 0:
    raise RuntimeError("pruned weights are not exactly zero after applying the masks")
stage_config = {
    "upstream": state["config_digest"],
    "prune": {"keep_fraction": params.keep_fraction},
    "recompute_batchnorm": params.recompute_batchnorm,
}
masks.save(snakemake.output.masks)
save_checkpoint(
    model_record(model, state["arch"]["in_channels"]), snakemake.output.model, stage_config
)
write_table(report, snakemake.output.sparsity)
write_table(batchnorm_table, snakemake.output.batchnorm)
for path in snakemake.output:
    write_provenance(
        path,
        stage_config,
        kept=masks.kept,
        prunable=masks.total,
        density=masks.density,
        never_pruned_parameters=report.attrs.get("never_pruned_parameters"),
        threshold=masks.threshold,
        device=device,
        **job_usage(device),
    )
log.info(
    "kept %d of %d prunable weights (density %.6f, |w| threshold %.4g)",
    masks.kept,
    masks.total,
    masks.density,
    masks.threshold,
)
log.info("accuracy of the pruned model by BatchNorm statistics:\n%s", batchnorm_table)
