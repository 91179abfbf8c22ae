"""What running a workflow job needs, and nothing else (no science here).

- :mod:`.job`: the job frame every rule script opens (``with job(snakemake) as run:``):
  logging to the rule's log, threads, device, the GPU fit check, timing, the writer lock,
  provenance of every output, resume cleanup, SIGTERM/SIGINT handling.
- :mod:`.files`: atomic writes and the readers that name a damaged file and what to do;
  :mod:`.checkpoints`: plain-data checkpoints (``weights_only=True``); :mod:`.rerun`: which rule
  to rerun for a file (the one place that reads Snakemake's metadata).
- :mod:`.provenance`: records beside results and their checks; :mod:`.startup`: those checks
  before any job; :mod:`.locks`: one live writer per job's outputs.
- :mod:`.resume`: resume state bound to the config and to the content of the inputs, and the
  :class:`~.resume.Checkpointer` the training loops take.
- :mod:`.devices`, :mod:`.resources` (memory model, fit check), :mod:`.usage` (measured peaks),
  :mod:`.hours` (GPU hours, the start-up report), :mod:`.estimate` (CPU time),
  :mod:`.cpu_probe`.
- :mod:`.config`, :mod:`.config_files`, :mod:`.profiles`, :mod:`.envs`, :mod:`.progress`.

Every module is stdlib-only at import (the workflow imports some at start-up); torch is
imported inside the functions that need it.
"""
