"""Rule variant_sweep: discrete against first-order Carleman as η shrinks (figS2, claim C7)."""

from qtrain.run.job import job

with job(snakemake) as run:
    log = run.log
    from qtrain.quantum.carleman.sweeps import (
        digits_maps,
        toy_maps,
        variant_difference_table,
    )
    from qtrain.run.files import write_table
    from qtrain.run.provenance import write_provenance

    maps_cfg, digits_cfg, sweep = (
        snakemake.params.maps,
        snakemake.params.digits,
        snakemake.params.sweep,
    )
    maps = toy_maps(
        sweep["kinds"], sweep["degrees"], **{**maps_cfg, "seeds": maps_cfg["seeds"][:1]}
    )
    if sweep["digits"]:
        maps += digits_maps(**digits_cfg, seed=snakemake.params.seed)[:1]
    table = variant_difference_table(maps, sweep["etas"], sweep["order"], sweep["steps"])
    write_table(table, snakemake.output.table)
    write_provenance(
        snakemake.output.table,
        {
            "maps": maps_cfg,
            "digits": digits_cfg,
            "variant_sweep": sweep,
            "seed": snakemake.params.seed,
        },
        maps={m.name: m.info for m in maps},
    )
    log.info("%d maps x %d learning rates", len(maps), len(sweep["etas"]))
