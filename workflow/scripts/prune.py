"""Rule prune: global magnitude masks (SPEC §2.3), the pruned model and a sparsity table."""

from qtrain.io import setup_logging

log = setup_logging(snakemake.log[0])

from qtrain.io import load_checkpoint, save_checkpoint, write_provenance, write_table  # noqa: E402
from qtrain.learning.models import load_model, model_record  # noqa: E402
from qtrain.learning.pruning import global_magnitude_masks  # noqa: E402

keep_fraction = snakemake.params.keep_fraction
state = load_checkpoint(snakemake.input.model)
model = load_model(snakemake.input.model)
masks = global_magnitude_masks(model, keep_fraction)
masks.apply(model)
report = masks.report(model)
if int(report["pruned_nonzero"].iloc[-1]) != 0:
    raise RuntimeError("pruned weights are not exactly zero after applying the masks")
stage_config = {"upstream": state["config_digest"], "prune": {"keep_fraction": keep_fraction}}
masks.save(snakemake.output.masks)
save_checkpoint(
    model_record(model, state["arch"]["in_channels"]), snakemake.output.model, stage_config
)
write_table(report, snakemake.output.sparsity)
for path in snakemake.output:
    write_provenance(
        path,
        stage_config,
        kept=masks.kept,
        prunable=masks.total,
        density=masks.density,
        never_pruned_parameters=report.attrs.get("never_pruned_parameters"),
        threshold=masks.threshold,
    )
log.info(
    "kept %d of %d prunable weights (density %.6f, |w| threshold %.4g)",
    masks.kept,
    masks.total,
    masks.density,
    masks.threshold,
)
