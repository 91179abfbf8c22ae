"""Rule linearized_window: the N = 1 Carleman (linearized) map of one window beside the real run.

From the window's first checkpoint θ̄, the linearized iteration
θ(t+1) = θ(t) − η[∇L_B(θ̄) + H_B(θ̄)(θ(t) − θ̄)] and the real SGD step are advanced on the same
batch B of every step (the run's seeded draws) at η = lr_scale × sparse_train.lr; per step the
gap ‖θ_lin − θ‖ and the loss and accuracy of both on the fixed accuracy subset (BatchNorm
statistics recomputed on copies first, never stale) are recorded (claim C13). At lr_scale 1 the
replayed real run is checked against the run's saved checkpoints.
"""

from qtrain.io import setup_logging

log = setup_logging(snakemake.log[0])

import contextlib  # noqa: E402
import copy  # noqa: E402
import re  # noqa: E402
import time  # noqa: E402

import pandas as pd  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from qtrain.gpu import check_rule_fits  # noqa: E402
from qtrain.io import load_arrays, load_checkpoint, write_provenance, write_table  # noqa: E402
from qtrain.learning import batchnorm  # noqa: E402
from qtrain.learning.data import augment_batch, load_dataset  # noqa: E402
from qtrain.learning.models import load_model  # noqa: E402
from qtrain.learning.pruning import PruningMasks  # noqa: E402
from qtrain.learning.sparse_training import (  # noqa: E402
    SparseTrainSettings,
    schedule,
    step_batch_indices,
    step_generator,
)
from qtrain.learning.training import evaluate, select_device  # noqa: E402
from qtrain.progress import Progress  # noqa: E402
from qtrain.spectra.linearized import LinearizedGD  # noqa: E402

params = snakemake.params
lin_cfg = params.linearized
section = params.sparse_train
variant = lin_cfg["variant"]
window = int(snakemake.wildcards.window)
lr_scale = float(params.lr_scale)
torch.set_num_threads(snakemake.threads)
device = select_device(snakemake.resources.get("gpu", 0))
check_rule_fits(snakemake, device)  # fail before any work if the GPU is too small

settings = SparseTrainSettings.from_config(section, crop_padding=params.data["crop_padding"])
if settings.momentum != 0:
    raise ValueError("linearized windows need sparse_train.momentum = 0 (a GD map)")
start = window * settings.window_steps
plans = [p for p in schedule(variant, settings) if start < p.step <= start + settings.window_steps]
if not plans or any(p.phase != "quantum" or p.dense != plans[0].dense for p in plans):
    raise ValueError(f"window {window} of {variant} is not one quantum window: {plans[:3]}")

# the window's first checkpoint θ̄ (after the download that opened the window)
checkpoints = {
    int(re.search(r"step_(\d+)\.pt$", path).group(1)): path for path in snakemake.input.checkpoints
}
state = load_checkpoint(checkpoints[start])
model = load_model(snakemake.input.model)
model.load_state_dict(state["model"])
model.to(device)
masks = None if state["masks"] is None else PruningMasks.from_state_dict(state["masks"]).to(device)
train_mask = None if plans[0].dense else masks

data = load_dataset(params.data, seed=params.data_seed).to(device)
subsets = load_arrays(snakemake.input.subsets, keys=["accuracy_subset", "batchnorm_subset"])
acc_idx = torch.as_tensor(subsets["accuracy_subset"], device=device)
x_acc, y_acc = data.x_train[acc_idx], data.y_train[acc_idx]
x_bn = data.x_train[torch.as_tensor(subsets["batchnorm_subset"], device=device)]
n_train = len(data.y_train)
batch = min(settings.batch_size, n_train)

lr = settings.lr * lr_scale
lin = LinearizedGD(
    model,
    F.cross_entropy,
    lr,
    masks=None if train_mask is None else train_mask.masks,
    weight_decay=settings.weight_decay,
    bn_mode=lin_cfg["bn_mode"],
    micro_batch=lin_cfg["micro_batch"] or None,
    backend=lin_cfg.get("backend", "autograd"),
    dtype=getattr(torch, lin_cfg["dtype"]),
    device=device,
)
lin_model = copy.deepcopy(model)  # holds θ_lin for evaluation
optimizer = torch.optim.SGD(
    model.parameters(), lr=lr, momentum=0.0, weight_decay=settings.weight_decay
)
autocast = (
    torch.autocast("cuda", dtype=torch.bfloat16)
    if settings.precision == "bfloat16" and device.type == "cuda"
    else contextlib.nullcontext()
)


def evaluate_fresh(source: torch.nn.Module) -> tuple[float, float]:
    """Loss and accuracy of a copy of ``source`` with recomputed BatchNorm statistics."""
    fresh = copy.deepcopy(source)
    batchnorm.refresh(fresh, x_bn)
    return evaluate(fresh, x_acc, y_acc)


loss0, acc0 = evaluate_fresh(model)
rows = [
    {
        "t": 0,
        "step": start,
        "gap": 0.0,
        "displacement": 0.0,
        "loss_real": loss0,
        "loss_lin": loss0,
        "accuracy_real": acc0,
        "accuracy_lin": acc0,
    }
]
replay = {}
tic = time.perf_counter()
for t, plan in enumerate(Progress(plans, desc=f"window {window}"), start=1):
    gen = step_generator(params.seed, plan.step)
    idx = step_batch_indices(params.seed, plan.step, n_train, batch, generator=gen).to(device)
    xb, yb = data.x_train[idx], data.y_train[idx]
    if settings.augment:
        xb = augment_batch(xb, data.pad_value, settings.crop_padding, gen)
    stats = lin.step(xb, yb)
    # the real step, as in qtrain.learning.sparse_training.sparse_train
    model.train()
    with autocast:
        logits = model(xb).float()
    loss = F.cross_entropy(logits, yb)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if train_mask is not None:
        train_mask.mask_gradients(model)
    optimizer.step()
    if train_mask is not None:
        train_mask.apply(model)
    row = {
        "t": t,
        "step": plan.step,
        "gap": lin.gap(model),
        "displacement": lin.displacement(model),
        "batch_loss_real": float(loss.detach()),
        **stats,
    }
    if t % lin_cfg["eval_every"] == 0 or t == len(plans):
        lin.load_into(lin_model)
        row["loss_real"], row["accuracy_real"] = evaluate_fresh(model)
        row["loss_lin"], row["accuracy_lin"] = evaluate_fresh(lin_model)
    replayable = lr_scale == 1.0 and not plan.download_after
    if plan.step in checkpoints and plan.step != start and replayable:
        saved = load_checkpoint(checkpoints[plan.step], map_location=device)["model"]
        current = model.state_dict()
        replay[plan.step] = max(
            float((current[k].float() - v.to(device).float()).abs().max()) for k, v in saved.items()
        )
        row["replay_error"] = replay[plan.step]
    rows.append(row)
    log.info(
        "window %d t=%d (step %d): gap %.4g, |theta - theta_bar| %.4g%s",
        window,
        t,
        plan.step,
        row["gap"],
        row["displacement"],
        f", accuracy real {row['accuracy_real']:.4f} lin {row['accuracy_lin']:.4f}"
        if "accuracy_real" in row
        else "",
    )
seconds = time.perf_counter() - tic
table = pd.DataFrame(rows)
table.insert(0, "lr", lr)
table.insert(0, "lr_scale", lr_scale)
table.insert(0, "start_step", start)
table.insert(0, "window", window)
table.insert(0, "variant", variant)
table["relative_gap"] = table["gap"] / table["displacement"].where(table["displacement"] > 0)
write_table(table, snakemake.output.table)
write_provenance(
    snakemake.output.table,
    {
        "linearized": lin_cfg,
        "sparse_train": section,
        "seed": params.seed,
        "window": window,
        "lr_scale": lr_scale,
    },
    device=device,
    upstream=state["config_digest"],
    space=lin.space,
    dim=lin.dim,
    replay_max_abs_error=replay,
    wall_seconds=seconds,
)
if replay and max(replay.values()) > 1e-4:
    log.warning("the replayed run departs from the saved checkpoints: %s", replay)
log.info("window %d: %d steps in %.1f s; replay check %s", window, len(plans), seconds, replay)
