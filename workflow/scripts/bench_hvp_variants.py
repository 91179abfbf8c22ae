"""Rule bench_hvp_variants: every HVP variant beside a gradient on one batch, side by side, with
its error against the reference HVP (qtrain.bench.hvp_tables.variants_table)."""

from qtrain.run.job import job

with job(snakemake, torch=True) as run:
    from qtrain.bench.hvp_tables import variants_table
    from qtrain.run.devices import machine_description
    from qtrain.run.files import write_table

    case = snakemake.params.case["gpu" if run.device.type == "cuda" else "cpu"]
    machine = machine_description(run.device)
    run.log.info("case %s on %s (%s)", case, run.device, machine)
    table = variants_table(case, snakemake.params.keep_fraction, run.device, machine)
    run.log.info("\n%s", table[["variant", "seconds", "ratio_to_gradient", "relative_error"]])
    write_table(table, snakemake.output[0])
    run.record({"case": case})
