"""The fit and summary rules of a stage (``fit_*``, ``summarize_*``): one library function,
named by ``params.function`` (``module:function``), turns the stage's raw tables (the rule's
named inputs, passed by name) and ``params.options`` into its tables (the rule's outputs, in
order). Figures and claims both read these tables."""

from qtrain.run.job import job

with job(snakemake) as run:
    log = run.log
    from importlib import import_module

    from qtrain.run.files import load_table, write_table
    from qtrain.run.provenance import write_provenance

    params = snakemake.params
    module, name = params.function.split(":")
    function = getattr(import_module(module), name)
    tables = {
        key: load_table(path, empty_ok=params.empty_ok) for key, path in snakemake.input.items()
    }
    result = function(**tables, **params.options)
    frames = result if isinstance(result, tuple) else (result,)
    record = {"function": params.function, "options": dict(params.options)}
    for frame, path in zip(frames, snakemake.output, strict=True):
        write_table(frame, path)
        write_provenance(path, record, preset=params.preset, inputs=list(snakemake.input))
        log.info("%s: %d rows -> %s", params.function, len(frame), path)
