"""Rule carleman_sweep: discrete Carleman error at T against the order N (figS1, claim C6)."""

from qtrain.run.job import job

with job(snakemake) as run:
    log = run.log
    from qtrain.quantum.carleman.sweeps import digits_maps, error_vs_order_table, toy_maps
    from qtrain.run.files import write_table
    from qtrain.run.provenance import write_provenance

    maps_cfg, digits_cfg, sweep = (p := snakemake.params).maps, p.digits, p.sweep
    maps = toy_maps(sweep["kinds"], sweep["degrees"], **maps_cfg)
    learning = digits_maps(**digits_cfg, seed=snakemake.params.seed)
    orders = {m.name: sweep["orders"] for m in maps} | {
        m.name: sweep["digits_orders"] for m in learning
    }
    table = error_vs_order_table(maps + learning, sweep["steps"], orders)
    write_table(table, snakemake.output.table)
    write_provenance(
        snakemake.output.table,
        {
            "maps": maps_cfg,
            "digits": digits_cfg,
            "order_sweep": sweep,
            "seed": snakemake.params.seed,
        },
        maps={m.name: m.info for m in maps + learning},
    )
    log.info("%d maps, %d rows in %.1f s", len(maps) + len(learning), len(table), run.seconds)
