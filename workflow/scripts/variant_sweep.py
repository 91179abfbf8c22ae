"""Rule variant_sweep: discrete against first-order Carleman as η shrinks (figS2, claim C7)."""

from qtrain.run.job import setup_logging

log = setup_logging(snakemake.log[0], job=snakemake)

from qtrain.quantum.carleman.sweeps import (  # noqa: E402
    digits_maps,
    toy_maps,
    variant_difference_table,
)
from qtrain.run.files import write_table  # noqa: E402
from qtrain.run.provenance import write_provenance  # noqa: E402

maps_cfg, digits_cfg, sweep = snakemake.params.maps, snakemake.params.digits, snakemake.params.sweep
maps = toy_maps(sweep["kinds"], sweep["degrees"], **{**maps_cfg, "seeds": maps_cfg["seeds"][:1]})
if sweep["digits"]:
    maps += digits_maps(**digits_cfg, seed=snakemake.params.seed)[:1]
table = variant_difference_table(maps, sweep["etas"], sweep["order"], sweep["steps"])
write_table(table, snakemake.output.table)
write_provenance(
    snakemake.output.table,
    {"maps": maps_cfg, "digits": digits_cfg, "variant_sweep": sweep, "seed": snakemake.params.seed},
    maps={m.name: m.info for m in maps},
)
log.info("%d maps x %d learning rates", len(maps), len(sweep["etas"]))
