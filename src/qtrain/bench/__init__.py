"""Every benchmark of the project (``make bench``, the rules of workflow/rules/bench.smk; unit
tests run them on tiny cases and check what they compute, never their times):
:mod:`~qtrain.bench.hessian` (HVP variants and the Hessian at scale),
:mod:`~qtrain.bench.hvp_tables` (the cases and tables of rules bench_hvp and
bench_hvp_variants), :mod:`~qtrain.bench.memory` (peak memory, the fit of the memory model),
:mod:`~qtrain.bench.sparse_step` (a masked SGD step), :mod:`~qtrain.bench.carleman` (building
the Carleman matrix, sparse against dense), :mod:`~qtrain.bench.quantum` (HHL solves on growing
systems, a quantum-training window), :mod:`~qtrain.bench.gpu` (the GPU script) and
:mod:`~qtrain.bench.report` (the summary of docs/benchmarks.md)."""
