"""Rule claims_training: claims C1 (model sizes, 10% kept) and C5 (download dips, every seed)."""

from qtrain.io import setup_logging

log = setup_logging(snakemake.log[0])

import re  # noqa: E402

import pandas as pd  # noqa: E402

from qtrain.claims import claim_c1, claim_c5, download_dips, rows_to_frame  # noqa: E402
from qtrain.io import load_arrays, load_table, write_provenance, write_table  # noqa: E402
from qtrain.learning.models import cifar_resnet, count_parameters  # noqa: E402

counts = {
    f"ResNet-{d}-{w}": count_parameters(cifar_resnet(d, w, 100, 3, device="meta"))
    for d, w in ((32, 4), (56, 11))
}
sparsity = load_table(snakemake.input.sparsity[0])


def key(path: str) -> tuple[int, str]:
    """(seed, variant) of a sparse_train output path."""
    match = re.search(r"seed_(\d+)/sparse_train/(\w+)/", path)
    return int(match.group(1)), match.group(2)


records = {key(p): load_table(p) for p in snakemake.input.records}
downloads = {key(p): load_table(p) for p in snakemake.input.downloads}
dips = pd.concat(
    [
        download_dips(records[k], downloads[k], seed=k[0])
        for k in sorted(downloads)
        if k[1] in ("sparse", "qram")
    ]
    or [download_dips(pd.DataFrame({"step": []}), pd.DataFrame({"step": []}))],
    ignore_index=True,
)
accuracy_samples = int(load_arrays(snakemake.input.subsets)["accuracy_subset"].size)
write_table(dips, snakemake.output.dips)
rows = [
    claim_c1(counts, sparsity, snakemake.params.keep_fraction),
    claim_c5(dips, accuracy_samples, snakemake.params.coverage),
]
write_table(rows_to_frame(rows), snakemake.output.claims)
for path in snakemake.output:
    write_provenance(path, {"inputs": list(snakemake.input)})
for row in rows:
    log.info(
        "%s: %s (%s; margin %s; noise %s)",
        row.claim_id,
        row.verdict,
        row.value,
        row.margin,
        row.noise,
    )
