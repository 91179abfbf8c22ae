"""Rules spectrum and spectrum_large: Papyan's Lanczos density of one checkpoint's Hessian.

The operator (SPEC §2.5): the coordinates the following window evolves (dense windows: the full
Hessian) and BatchNorm as configured. Resumable: every finished Lanczos run is kept under
``params.state_dir`` and reused under the same config and inputs; the folder is removed once the
spectrum is written (qtrain.learning.points.point_spectrum).
"""

from qtrain.run.job import setup_logging

log = setup_logging(snakemake.log[0], job=snakemake)

import torch  # noqa: E402

from qtrain.learning.data import load_dataset  # noqa: E402
from qtrain.learning.points import load_training_point, point_spectrum  # noqa: E402
from qtrain.run.devices import select_device  # noqa: E402
from qtrain.run.files import load_arrays  # noqa: E402
from qtrain.run.provenance import write_provenance  # noqa: E402
from qtrain.run.resources import check_rule_fits  # noqa: E402
from qtrain.run.resume import remove_resume_state  # noqa: E402
from qtrain.run.usage import job_usage  # noqa: E402

inp, params = snakemake.input, snakemake.params
torch.set_num_threads(snakemake.threads)
device = select_device(snakemake.resources.get("gpu", 0))
check_rule_fits(snakemake, device)  # fail before any work if the GPU is too small
point = load_training_point(inp.model, checkpoint=inp.get("checkpoint"), masks=inp.get("masks"))
density, record = point_spectrum(
    point,
    load_dataset(params.data, seed=params.data_seed, prepared=snakemake.input.get("dataset")),
    load_arrays(inp.subsets, keys=["hessian_batch", "batchnorm_subset"]),
    params.spectra,
    sparse_train=params.get("sparse_train"),
    seed=params.seed,
    micro_batch=params.micro_batch,
    state_dir=params.state_dir,
    label=params.label,
    device=device,
    inputs=inp,
)
density.save(snakemake.output.spectrum)
record.update(job_usage(device))
write_provenance(snakemake.output.spectrum, record.pop("config"), device=device, **record)
remove_resume_state(params.state_dir)
log.info("%s: Ritz values in [%.4g, %.4g]", params.label, density.nodes.min(), density.nodes.max())
