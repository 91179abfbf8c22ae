"""Rule compare_proxy: true linearization errors beside the error proxy, rank correlations (C13).

Part 1: the exact Carleman error of the digits quadratic network (rule proxy_vs_carleman), across
learning-rate scales and windows, per Carleman order. Part 2: the N = 1 linearized windows of the
network (rule linearized_window) across windows × learning-rate scales, with E(t) from the
spectrum measured at the window's first checkpoint. Correlations across settings at the window
end carry a bootstrap noise and a p-value; correlations over t are reported.
"""

from qtrain.io import setup_logging

log = setup_logging(snakemake.log[0])

import re  # noqa: E402

import pandas as pd  # noqa: E402

from qtrain.io import load_table, write_provenance, write_table  # noqa: E402
from qtrain.spectra.analysis import (  # noqa: E402
    load_spectrum,
    network_proxy_table,
    rank_correlations,
    window_end_correlations,
)

params = snakemake.params
conventions = list(params.conventions)
windows = [load_table(p) for p in snakemake.input.windows]
spectra = {}
for path in snakemake.input.spectra:
    spec = load_spectrum(path)
    spectra[int(re.search(r"step_(\d+)\.npz$", path).group(1))] = (spec["nodes"], spec["weights"])
network = network_proxy_table(windows, spectra, params.cutoff, conventions)
poly = load_table(snakemake.input.polynomial)

frames, corr = [], []
if len(poly):
    p = poly.assign(measurement="polynomial", true_error=poly["error"])
    p["setting"] = [
        f"lr_scale={s:g}, window={w}, N={o}"
        for s, w, o in zip(p["lr_scale"], p["window"], p["order"], strict=True)
    ]
    frames.append(p)
    settings = ["lr_scale", "window", "order"]
    corr.append(rank_correlations(p, settings, "true_error", conventions, "polynomial"))
    corr.append(
        window_end_correlations(
            p,
            ["lr_scale", "window"],
            ["order"],
            "true_error",
            conventions,
            "polynomial",
            params.coverage,
        )
    )
if len(network):
    n = network.assign(measurement="network", true_error=network["gap"])
    n["setting"] = [
        f"window={w}, lr_scale={s:g}" for w, s in zip(n["window"], n["lr_scale"], strict=True)
    ]
    frames.append(n)
    keys = ["window", "lr_scale"]
    corr.append(rank_correlations(n, keys, "true_error", conventions, "network"))
    corr.append(
        window_end_correlations(n, keys, [], "true_error", conventions, "network", params.coverage)
    )
table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
correlations = pd.concat(corr, ignore_index=True) if corr else pd.DataFrame()
write_table(table, snakemake.output.table)
write_table(correlations, snakemake.output.correlations)
settings = {"cutoff": params.cutoff, "conventions": conventions, "coverage": params.coverage}
for path in snakemake.output:
    write_provenance(path, settings, inputs=list(snakemake.input))
log.info("rank correlations:\n%s", correlations.to_string())
