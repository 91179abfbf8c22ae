"""The cost of quantum training (SPEC §1.7; docs/cost_model.md), mirroring workflow/rules/costs.smk.

- :mod:`~qtrain.quantum.costs.settings`: the assumptions, the base and favourable scenarios,
  the theorem's premise, measured overrides;
- :mod:`~qtrain.quantum.costs.primitives`: QROM / QRAM / state preparation / block encodings,
  the coherent oracle, solver query counts, amplification, read-out options, κ of the slowest
  mode;
- :mod:`~qtrain.quantum.costs.window`: one window's costed algorithm and its decomposition;
- :mod:`~qtrain.quantum.costs.physical`: the physical layer through qdk's resource estimator;
- :mod:`~qtrain.quantum.costs.break_even`: quantum against classical wall-clock, the ResNet
  table and the break-even curves;
- :mod:`~qtrain.quantum.costs.analysis`: decomposition, waterfall, sensitivity, n-scaling;
- :mod:`~qtrain.quantum.costs.tables`: what each rule of costs.smk calls;
- :mod:`~qtrain.quantum.costs.calculator`: pricing any model (the ``qtrain-cost`` command).

Everything here is a MODEL: logical counts from stated formulas, physical counts from qdk.
"""
