"""Shared test settings: single-threaded torch for fast, reproducible unit tests."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def repo() -> Path:
    """The repository root."""
    return REPO
