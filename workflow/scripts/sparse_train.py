"""Rule sparse_train: masked SGD in quantum windows with download / re-upload (SPEC §2.4).

Resumable from `checkpoints/last.pt` (bound to the config and the content of the inputs), which
is removed, with the kept step checkpoints under `checkpoints/resume/`, once the outputs are
written."""

from qtrain.io import setup_logging

log = setup_logging(snakemake.log[0])

import math  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402

from qtrain.gpu import check_rule_fits, job_usage  # noqa: E402
from qtrain.io import (  # noqa: E402
    config_digest,
    load_arrays,
    load_checkpoint,
    remove_resume_state,
    write_provenance,
    write_table,
)
from qtrain.learning.data import load_dataset  # noqa: E402
from qtrain.learning.models import load_model  # noqa: E402
from qtrain.learning.pruning import PruningMasks  # noqa: E402
from qtrain.learning.sparse_training import SparseTrainSettings, sparse_train  # noqa: E402
from qtrain.learning.training import seed_everything, select_device  # noqa: E402

params = snakemake.params
variant = snakemake.wildcards.variant
section = params.sparse_train
upstream = load_checkpoint(snakemake.input.model)["config_digest"]
stage_config = {
    "upstream": upstream,
    "seed": params.seed,
    "data_seed": params.data_seed,
    "variant": variant,
    "sparse_train": {k: v for k, v in section.items() if k != "variants"},
    "recompute_batchnorm": params.recompute_batchnorm,
    "data": params.data,
}
torch.set_num_threads(snakemake.threads)
device = select_device(snakemake.resources.get("gpu", 0))
check_rule_fits(snakemake, device)  # fail before any work if the GPU is too small
data = load_dataset(params.data, seed=params.data_seed, prepared=snakemake.input.get("dataset"))
subsets = load_arrays(snakemake.input.subsets, keys=["accuracy_subset", "batchnorm_subset"])
accuracy_indices = subsets["accuracy_subset"]
seed_everything(params.seed)
model = load_model(snakemake.input.model)
masks = PruningMasks.load(snakemake.input.masks)
settings = SparseTrainSettings.from_config(
    section,
    checkpoint_steps=params.checkpoint_steps,
    crop_padding=params.data["crop_padding"],
    refresh_batchnorm=params.recompute_batchnorm,
)

readout = None
epsilon = section["tomography_epsilon"]
if epsilon > 0:
    # Kerenidis-Prakash ℓ2 tomography: N = 36·d·ln d/δ² samples give ‖u − ũ‖ ≤ √7·δ w.h.p.;
    # δ = ε/√7 guarantees relative ℓ2 precision ε (qtrain.quantum.circuits.tomography simulates it).
    from qtrain.quantum.circuits.tomography import samples_for_precision, tomography

    def readout(vector, rng):
        samples = samples_for_precision(vector.size, epsilon / math.sqrt(7), "l2")
        return tomography(vector, samples, rng)


log.info("variant %s on %s; settings %s", variant, device, settings)
checkpoint_dir = snakemake.output.checkpoints[0].rsplit("/", 1)[0]
tic = time.perf_counter()
records, downloads = sparse_train(
    model,
    masks,
    data,
    settings,
    variant,
    seed=params.seed,
    accuracy_indices=accuracy_indices,
    checkpoint_dir=checkpoint_dir,
    config=stage_config,
    device=device,
    readout=readout,
    batchnorm_indices=subsets["batchnorm_subset"],
    inputs=snakemake.input,
)
seconds = time.perf_counter() - tic
write_table(records, snakemake.output.records)
write_table(downloads, snakemake.output.downloads)
for path in (snakemake.output.records, snakemake.output.downloads):
    write_provenance(
        path,
        stage_config,
        device=device,
        synthetic_data=data.synthetic,
        wall_seconds=seconds,
        stage_config_digest=config_digest(stage_config),
        resumed_from_step=records.attrs["resumed_from_step"],
        **job_usage(device),
    )
remove_resume_state(f"{checkpoint_dir}/last.pt", f"{checkpoint_dir}/resume")
log.info("%s: %d steps in %.1f s, %d downloads", variant, len(records), seconds, len(downloads))
