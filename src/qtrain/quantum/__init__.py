"""The quantum algorithm: polynomial GD maps, discrete Carleman linearization, block systems, HHL, upload/download, resource models."""
