"""Every benchmark of the project (``make bench``, the rules of workflow/rules/bench.smk; never
run by unit tests): :mod:`~qtrain.bench.hessian` (HVP variants and the Hessian at scale),
:mod:`~qtrain.bench.memory` (peak memory, the fit of the memory model),
:mod:`~qtrain.bench.sparse_step` (a masked SGD step), :mod:`~qtrain.bench.carleman` (building
the Carleman matrix, sparse against dense), :mod:`~qtrain.bench.quantum` (HHL solves on growing
systems), :mod:`~qtrain.bench.gpu` (the GPU script) and :mod:`~qtrain.bench.report` (the summary
of docs/benchmarks.md)."""
