"""Rule claims_spectra: claims C2, C3, C4 (spectra and error proxy) and C13 (proxy vs truth),
each judged per a-convention against the spread of its replicate estimates (seeds × probes)."""

from qtrain.io import setup_logging

log = setup_logging(snakemake.log[0])

import re  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from qtrain.claims import rows_to_frame  # noqa: E402
from qtrain.io import load_table, write_provenance, write_table  # noqa: E402
from qtrain.spectra.analysis import (  # noqa: E402
    claim_c2,
    claim_c3,
    claim_c4,
    claim_c13,
    load_spectrum,
    mass_row,
    probe_quadratures,
)

params = snakemake.params
conventions = list(params.conventions)


def seed_of(path: str) -> int:
    return int(re.search(r"seed_(\d+)/", path).group(1))


def mass_estimates(paths) -> list[dict]:
    """One mass row per (seed, probe) of the spectra in ``paths``."""
    return [
        mass_row(nodes, weights, params.lr, params.cutoff, conventions)
        for path in paths
        for nodes, weights in probe_quadratures(load_spectrum(path))
    ]


curves: dict[tuple[int, int], dict[str, pd.DataFrame]] = {}
for path in snakemake.input.curves:
    table = load_table(path)
    for probe, rows in table.groupby("probe"):
        curves.setdefault((seed_of(path), int(probe)), {})[str(rows["variant"].iloc[0])] = rows
estimates = [curves[key] for key in sorted(curves)]
main = mass_estimates(snakemake.input.main)
large = mass_estimates(snakemake.input.large)
probes = len({probe for _, probe in curves})
source = f"{len(params.seeds)} seed(s) x {probes} probe(s)"
n_c = {c: float(np.mean([m[f"n_c_{c}"] for m in main])) for c in conventions}
rows = [
    *claim_c2(
        main, large, conventions, params.main_label, params.large_label, params.coverage, source
    ),
    *claim_c3(estimates, conventions, params.coverage, n_c, source),
    *claim_c4(estimates, conventions, params.coverage, source, n_c),
    *claim_c13(load_table(snakemake.input.correlations), conventions, n_c=n_c),
]
write_table(rows_to_frame(rows), snakemake.output.claims)
write_provenance(
    snakemake.output.claims,
    {
        "lr": params.lr,
        "cutoff": params.cutoff,
        "conventions": conventions,
        "coverage": params.coverage,
        "seeds": list(params.seeds),
    },
    inputs=list(snakemake.input),
)
for row in rows:
    log.info(
        "%s %s: %s (margin %s; noise %s)",
        row.claim_id,
        row.claim,
        row.verdict,
        row.margin,
        row.noise,
    )
