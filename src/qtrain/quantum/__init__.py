"""The quantum algorithm: polynomial GD maps, discrete Carleman linearization, block systems,
HHL, upload and download, resource models, and a network trained through the pipeline."""
