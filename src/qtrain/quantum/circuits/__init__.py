"""The circuits stage (workflow/rules/quantum.smk): the quantum steps on simulated circuits.

- :mod:`~qtrain.quantum.circuits.hhl`: HHL on qiskit 2.x for the Carleman block systems;
- :mod:`~qtrain.quantum.circuits.upload`: uploading a sparse vector (state preparation);
- :mod:`~qtrain.quantum.circuits.tomography`: reading a state out (sample counts for precision ε);
- :mod:`~qtrain.quantum.circuits.sweeps`: the HHL, upload and tomography sweeps and fits;
- :mod:`~qtrain.quantum.circuits.quantum_training` and
  :mod:`~qtrain.quantum.circuits.training_study`: a small model trained through the pipeline,
  one run and the study over its grid (figS7, C12).
"""
