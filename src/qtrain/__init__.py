"""qtrain: reference reproduction of Liu et al., Nat. Commun. 15, 434 (2024).

Three parts mirror the paper's pipeline: :mod:`qtrain.learning` (data, models,
pruning, training), :mod:`qtrain.spectra` (Hessian-vector products, Lanczos
densities, the error proxy) and :mod:`qtrain.quantum` (polynomial GD maps,
discrete Carleman linearization, block systems, HHL, tomography, resources).
"""

__version__ = "0.1.0"
