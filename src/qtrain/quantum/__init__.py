"""The quantum algorithm, one sub-package per stage file: ``carleman`` (polynomial GD maps,
Carleman linearization, block systems, κ), ``circuits`` (HHL, upload, tomography, a network
trained through the pipeline) and ``costs`` (the costed algorithm)."""
