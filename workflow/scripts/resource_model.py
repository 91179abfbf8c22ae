"""Rule resource_model: cost MODELS against n in both regimes and at the two ResNets (SPEC §1.7).

These are formulas with stated constants, not measurements; every table says so.
"""

from qtrain.io import setup_logging

log = setup_logging(snakemake.log[0])

import numpy as np  # noqa: E402

from qtrain.io import write_provenance, write_table  # noqa: E402
from qtrain.quantum.quantum_sweeps import resource_sweep  # noqa: E402
from qtrain.quantum.resources import MODEL_NOTE, CostAssumptions  # noqa: E402

cfg = snakemake.params.resources
assumptions = CostAssumptions(
    carleman_order=cfg["carleman_order"],
    degree=cfg["degree"],
    carleman_norm=cfg["carleman_norm"],
    final_block_weight=cfg["final_block_weight"],
    readout_fraction=cfg["readout_fraction"],
    upload_fraction=cfg["upload_fraction"],
    solver=cfg["solver"],
)
n_values = np.unique(
    np.round(np.logspace(np.log10(cfg["n_min"]), np.log10(cfg["n_max"]), cfg["points"]))
).astype(np.int64)
curves, resnets, crossovers = resource_sweep(
    [int(n) for n in n_values], steps=cfg["steps"], epsilon=cfg["epsilon"], assumptions=assumptions
)
for frame, path in (
    (curves, snakemake.output.curves),
    (resnets, snakemake.output.resnets),
    (crossovers, snakemake.output.crossovers),
):
    write_table(frame, path)
    write_provenance(path, {"resources": cfg}, kind="model", note=MODEL_NOTE)
for row in crossovers.itertuples(index=False):
    log.info(
        "%s dissipative, io=%s: quantum model below classical from n = %s",
        row.regime,
        row.include_io,
        row.crossover_n,
    )
