"""The sparse-training download readout (qtrain.quantum.circuits.readout): the sample count of the
Kerenidis-Prakash bound at δ = ε/√7, the same draws as tomography itself, and its precision."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qtrain.quantum.circuits.readout import tomography_readout
from qtrain.quantum.circuits.tomography import tomography


def test_zero_precision_is_the_exact_readout_and_negative_is_refused():
    assert tomography_readout(0.0) is None
    with pytest.raises(ValueError, match="precision"):
        tomography_readout(-0.1)


def test_readout_is_tomography_with_the_l2_sample_count():
    vector = np.random.default_rng(0).normal(size=50)
    epsilon = 0.3
    # hand count: N = ceil(36 · d · ln d / δ²) with δ = ε/√7
    samples = math.ceil(36 * 50 * math.log(50) / (epsilon / math.sqrt(7)) ** 2)
    got = tomography_readout(epsilon)(vector, np.random.default_rng(7))
    expected = tomography(vector, samples, np.random.default_rng(7))
    np.testing.assert_array_equal(got, expected)
    # the guarantee (with high probability): relative ℓ2 error at most ε
    assert np.linalg.norm(got - vector) <= epsilon * np.linalg.norm(vector)
