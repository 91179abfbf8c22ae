"""Rule error_proxy: E(t) of Eq. 7-8 along one variant's run and its spectra's mode masses."""

from qtrain.io import setup_logging

log = setup_logging(snakemake.log[0])

import re  # noqa: E402

import pandas as pd  # noqa: E402

from qtrain.io import load_table, write_provenance, write_table  # noqa: E402
from qtrain.spectra.analysis import load_spectrum, mass_row, proxy_curve  # noqa: E402

params = snakemake.params
variant = snakemake.wildcards.variant
records = load_table(snakemake.input.records)
spectra, masses = {}, []
for path in snakemake.input.spectra:
    step = int(re.search(r"step_(\d+)\.npz$", path).group(1))
    spec = load_spectrum(path)
    spectra[step] = (spec["nodes"], spec["weights"])
    masses.append(
        {
            "variant": variant,
            "step": step,
            "dim": spec["meta"].get("dim"),
            **mass_row(
                spec["nodes"], spec["weights"], params.lr, params.cutoff, params.conventions
            ),
        }
    )
curve = proxy_curve(records, spectra, params.lr, params.cutoff, params.conventions)
curve.insert(0, "variant", variant)
write_table(curve, snakemake.output.curve)
write_table(pd.DataFrame(masses), snakemake.output.masses)
settings = {"lr": params.lr, "cutoff": params.cutoff, "conventions": list(params.conventions)}
for path in snakemake.output:
    write_provenance(path, settings, inputs=list(snakemake.input))
for row in masses:
    log.info(
        "%s step %d: lambda in [%.4g, %.4g]; %s",
        variant,
        row["step"],
        row["lambda_min"],
        row["lambda_max"],
        ", ".join(
            f"{c}: dissipative {row[f'dissipative_{c}']:.4f} divergent {row[f'divergent_{c}']:.4f}"
            for c in params.conventions
        ),
    )
