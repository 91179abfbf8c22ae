"""Rule error_proxy: E(t) of Eq. 7-8 along one variant's run and its spectra's mode masses.

``curve``: E(t) from each spectrum's density (all probes); ``probe_curves``: the same per Lanczos
probe (one replicate estimate each, for the noise of claims C3 and C4); ``masses``: per spectrum
and probe, the dissipative and divergent masses and N_c in each convention.
"""

from qtrain.io import setup_logging

log = setup_logging(snakemake.log[0])

import re  # noqa: E402

import pandas as pd  # noqa: E402

from qtrain.io import load_table, write_provenance, write_table  # noqa: E402
from qtrain.spectra.analysis import (  # noqa: E402
    load_spectrum,
    mass_row,
    probe_quadratures,
    proxy_curve,
)

params = snakemake.params
variant = snakemake.wildcards.variant
records = load_table(snakemake.input.records)
spectra, per_probe, masses = {}, {}, []
for path in snakemake.input.spectra:
    step = int(re.search(r"step_(\d+)\.npz$", path).group(1))
    spec = load_spectrum(path)
    spectra[step] = (spec["nodes"], spec["weights"])
    for probe, (nodes, weights) in enumerate(probe_quadratures(spec)):
        per_probe.setdefault(probe, {})[step] = (nodes, weights)
        masses.append(
            {
                "variant": variant,
                "step": step,
                "probe": probe,
                "dim": spec["meta"].get("dim"),
                **mass_row(nodes, weights, params.lr, params.cutoff, params.conventions),
            }
        )
curve = proxy_curve(records, spectra, params.lr, params.cutoff, params.conventions)
curve.insert(0, "variant", variant)
probe_curves = pd.concat(
    [
        proxy_curve(records, probe_spectra, params.lr, params.cutoff, params.conventions).assign(
            probe=probe
        )
        for probe, probe_spectra in sorted(per_probe.items())
    ],
    ignore_index=True,
)
probe_curves.insert(0, "variant", variant)
write_table(curve, snakemake.output.curve)
write_table(probe_curves, snakemake.output.probe_curves)
write_table(pd.DataFrame(masses), snakemake.output.masses)
settings = {"lr": params.lr, "cutoff": params.cutoff, "conventions": list(params.conventions)}
for path in snakemake.output:
    write_provenance(path, settings, inputs=list(snakemake.input))
for row in masses:
    log.info(
        "%s step %d probe %d: lambda in [%.4g, %.4g]; %s",
        variant,
        row["step"],
        row["probe"],
        row["lambda_min"],
        row["lambda_max"],
        ", ".join(
            f"{c}: dissipative {row[f'dissipative_{c}']:.4f} divergent {row[f'divergent_{c}']:.4f}"
            for c in params.conventions
        ),
    )
