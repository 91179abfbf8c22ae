"""Rules spectrum and spectrum_large: Papyan's Lanczos density of one checkpoint's Hessian.

The operator (SPEC §2.5): the coordinates the following window evolves (dense windows: the full
Hessian) and BatchNorm as configured (train: batch statistics, in fixed chunks when
micro-batched; eval: running statistics recomputed first). Resumable: every finished Lanczos run
(bounds run, each probe) is saved under ``params.state_dir`` and reused when the job is started
again, only if made under the same config and the same content of the input files; the folder
is removed once the spectrum is written.
"""

from qtrain.io import setup_logging

log = setup_logging(snakemake.log[0])

import hashlib  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from qtrain.gpu import check_rule_fits  # noqa: E402
from qtrain.io import (  # noqa: E402
    load_arrays,
    load_checkpoint,
    remove_resume_state,
    resume_key,
    write_provenance,
)
from qtrain.learning import batchnorm  # noqa: E402
from qtrain.learning.data import load_dataset  # noqa: E402
from qtrain.learning.models import count_parameters, load_model  # noqa: E402
from qtrain.learning.pruning import PruningMasks  # noqa: E402
from qtrain.learning.sparse_training import SparseTrainSettings, trains_all_weights  # noqa: E402
from qtrain.learning.training import select_device  # noqa: E402
from qtrain.spectra.hvp import HessianOperator  # noqa: E402
from qtrain.spectra.resumable import resumable_spectral_density  # noqa: E402

params = snakemake.params
cfg = params.spectra
torch.set_num_threads(snakemake.threads)
device = select_device(snakemake.resources.get("gpu", 0))
check_rule_fits(snakemake, device)  # fail before any work if the GPU is too small

# The point: a sparse-training checkpoint (model state + its current masks) on the
# architecture of the pruned model, or a pruned model with its masks (spectrum_large).
model = load_model(snakemake.input.model)
space = cfg["space"]
if hasattr(snakemake.input, "checkpoint"):
    state = load_checkpoint(snakemake.input.checkpoint)
    model.load_state_dict(state["model"])
    mask_state = state["masks"]
    masks = None if mask_state is None else PruningMasks.from_state_dict(mask_state).masks
    upstream = state["config_digest"]
    settings = SparseTrainSettings.from_config(params.sparse_train)
    if trains_all_weights(state["variant"], settings, int(state["step"])):
        space = "dense"  # this window evolves every coordinate (e.g. QRAM after a dense upload)
else:
    masks = PruningMasks.load(snakemake.input.masks).masks
    upstream = load_checkpoint(snakemake.input.model)["config_digest"]
model.to(device)

data = load_dataset(params.data, seed=params.data_seed)
subsets = load_arrays(snakemake.input.subsets, keys=["hessian_batch", "batchnorm_subset"])
indices = subsets["hessian_batch"]
x = data.x_train[torch.as_tensor(indices)]
y = data.y_train[torch.as_tensor(indices)]
if cfg["bn_mode"] == "eval":  # running statistics, recomputed so that they are never stale
    x_bn = data.x_train[torch.as_tensor(subsets["batchnorm_subset"])]
    batchnorm.refresh(model, x_bn.to(device))
dtype = getattr(torch, cfg["dtype"])
operator = HessianOperator(
    model,
    F.cross_entropy,
    x,
    y,
    space=space,
    masks=masks,
    bn_mode=cfg["bn_mode"],
    micro_batch=params.micro_batch or None,
    reuse_graph=cfg["reuse_graph"],
    dtype=dtype,
    device=device,
)
stage_config = {
    "upstream": upstream,
    "label": params.label,
    "seed": params.seed,
    "hessian_batch": hashlib.sha256(np.ascontiguousarray(indices).tobytes()).hexdigest()[:16],
    "spectra": {k: v for k, v in cfg.items() if k not in ("cutoff", "conventions", "every")},
    "space": space,
    "micro_batch": params.micro_batch,
}
log.info(
    "%s: %d parameters, %s space of dimension %d, %d Hessian samples, device %s",
    params.label,
    count_parameters(model),
    space,
    operator.dim,
    len(indices),
    device,
)
tic = time.perf_counter()
density = resumable_spectral_density(
    operator.matvec,
    operator.dim,
    cfg["lanczos_steps"],
    state_dir=params.state_dir,
    probes=cfg["probes"],
    seed=params.seed,
    bounds_steps=cfg["bounds_steps"],
    margin=cfg["margin"],
    kappa=cfg["kappa"],
    grid_points=cfg["grid_points"],
    device=device,
    progress=True,
    operator_id=resume_key(stage_config, snakemake.input),
)
seconds = time.perf_counter() - tic
density.meta.update(
    label=params.label,
    space=space,
    bn_mode=cfg["bn_mode"],
    micro_batch=params.micro_batch,
    hessian_samples=len(indices),
    parameters=count_parameters(model),
    precision=operator.precision,
    wall_seconds=seconds,
)
density.save(snakemake.output.spectrum)
write_provenance(
    snakemake.output.spectrum,
    stage_config,
    device=device,
    dim=operator.dim,
    wall_seconds=seconds,
    hvps=int(cfg["bounds_steps"] + cfg["probes"] * min(cfg["lanczos_steps"], operator.dim)),
    resumed_runs=density.meta["resumed_runs"],
)
remove_resume_state(params.state_dir)
log.info(
    "%s: Ritz values in [%.4g, %.4g], %.1f s",
    params.label,
    density.nodes.min(),
    density.nodes.max(),
    seconds,
)
