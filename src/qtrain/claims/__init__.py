"""All claims of SPEC §3 in one package: the shared table parts and one module per domain.

- :mod:`qtrain.claims.core`: verdicts (:func:`judge`, :func:`combine_verdicts`), the row
  (:class:`ClaimRow`), the list of claims (:data:`CLAIMS`), assembly and Markdown;
- :mod:`qtrain.claims.training`: C1, C5; :mod:`qtrain.claims.spectra`: C2-C4;
  :mod:`qtrain.claims.proxy`: C13; :mod:`qtrain.claims.carleman`: C6-C8;
  :mod:`qtrain.claims.quantum`: C9, C10, C12;
  :mod:`qtrain.claims.costs`: C11 (two rows) and C14, judged on the cost model.

Each stage's claim rule calls its domain module on the stage's own tables (never on a figure).
"""

from __future__ import annotations

from qtrain.claims import core
from qtrain.claims.core import *  # noqa: F403 (the shared parts: verdicts, rows, CLAIMS, assembly)

__all__ = list(core.__all__)
