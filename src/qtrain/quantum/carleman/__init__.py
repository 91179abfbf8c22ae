"""The Carleman stage (workflow/rules/carleman.smk): polynomial GD maps and where they come from,
their discrete and first-order Carleman linearization, the block system and its κ, and the
studies of the stage.

- :mod:`~qtrain.quantum.carleman.polymaps`: the :class:`PolyMap` interface every algorithm sees;
- :mod:`~qtrain.quantum.carleman.random_maps`, :mod:`~qtrain.quantum.carleman.taylor`,
  :mod:`~qtrain.quantum.carleman.digits`: toy, Taylor-expanded and digits-network maps (the
  digits problems live here because the Carleman studies, the proxy check and the
  quantum-trained model all read them as polynomial maps);
- :mod:`~qtrain.quantum.carleman.linearization`: the discrete and first-order Carleman matrices;
- :mod:`~qtrain.quantum.carleman.linear_system`: the block system over a window and its κ (here,
  not in circuits, since κ is a Carleman-stage result and HHL is only one solver of it);
- :mod:`~qtrain.quantum.carleman.sweeps`: the stage's sweeps and fits (figS1-figS4, C6-C8);
- :mod:`~qtrain.quantum.carleman.proxy_check`: the error proxy against true Carleman errors.
"""
