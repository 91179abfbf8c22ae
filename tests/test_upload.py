"""Sparse state preparation: exact states, transpositions, gate cost vs the O(s log n) model."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit.quantum_info import Statevector

from qtrain.quantum.circuits.upload import (
    basis_permutation_transpositions,
    sparse_state_preparation,
    sparse_vector,
    upload_cost,
    upload_cost_model,
    upload_sweep,
)


def _prepared(values: np.ndarray, indices: np.ndarray, n: int) -> np.ndarray:
    qc = sparse_state_preparation(values, indices, n)
    state = Statevector(qc).data
    q = qc.num_qubits - 1  # last qubit: clean ancilla
    assert np.allclose(state[1 << q :], 0, atol=1e-9)  # ancilla returned to |0>
    return state[: 1 << q]


@pytest.mark.parametrize(
    ("s", "n", "seed"), [(1, 1, 0), (1, 13, 1), (3, 5, 2), (5, 16, 3), (7, 40, 4), (16, 16, 5)]
)
def test_prepares_the_sparse_state_exactly(s: int, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    vals, idx = sparse_vector(s, n, rng)
    idx = rng.permutation(idx)  # unsorted supports too
    target = np.zeros(1 << max(1, int(np.ceil(np.log2(n)))))
    target[idx] = vals
    assert np.allclose(_prepared(vals, idx, n), target, atol=1e-9)


def test_negative_single_entry_keeps_its_sign() -> None:
    state = _prepared(np.array([-2.0]), np.array([5]), 8)
    assert np.isclose(state[5], -1.0)


def test_transpositions_move_every_support_entry() -> None:
    rng = np.random.default_rng(6)
    for _ in range(50):
        idx = rng.choice(64, size=int(rng.integers(1, 20)), replace=False)
        swaps = basis_permutation_transpositions(idx, 64)
        assert len(swaps) <= len(idx)
        where = list(range(64))  # basis state -> content
        for a, c in swaps:
            where[a], where[c] = where[c], where[a]
        assert all(where[i] == j for j, i in enumerate(idx))


def test_measured_cost_within_model_and_grows_like_s_log_n() -> None:
    cx = {(s, n): upload_cost(s, n, seed=1)["cx"] for s in (2, 8) for n in (16, 256)}
    for (s, n), c in cx.items():
        assert 0 < c <= upload_cost_model(s, n)
    # linear in s at fixed n, roughly linear in log n at fixed s
    assert 2.5 < cx[(8, 256)] / cx[(2, 256)] < 5.5
    assert 1.2 < cx[(8, 256)] / cx[(8, 16)] < 4.0


def test_sparse_beats_dense_at_large_n() -> None:
    sparse = upload_cost(2, 2048, method="sparse")
    dense = upload_cost(2, 2048, method="dense")
    assert sparse["qubits"] == dense["qubits"] == 11
    assert sparse["cx"] < dense["cx"] / 3


def test_sweep_frame() -> None:
    df = upload_sweep([1, 4], [8, 32])
    assert len(df) == 4
    assert {"s", "n", "qubits", "cx", "u", "gates", "depth", "model_cx", "kind"} <= set(df)
    assert (df["gates"] == df["cx"] + df["u"]).all()
    assert "model" in df.attrs["note"]


def test_figS5_upload_panel_draws_every_sparsity_and_the_dense_reference() -> None:
    import pandas as pd

    from qtrain.figures.quantum import plot_figS5
    from qtrain.quantum.circuits.sweeps import tomography_fits, tomography_sweep

    tomography = tomography_fits(tomography_sweep([8], [100, 1000, 10000], repeats=3, seed=0), 10)
    upload = pd.concat(
        [
            upload_sweep([1, 4], [16, 256]),
            upload_sweep([1, 4], [16, 256], methods=("dense",)),
        ],
        ignore_index=True,
    )
    fig = plot_figS5(tomography, upload)
    panel = fig.axes[2]
    labels = [line.get_label() for line in panel.get_lines()]
    assert "s = 1" in labels and "s = 4" in labels and "dense StatePreparation" in labels
    measured = upload[upload["method"] == "sparse"]
    assert (measured["cx"] <= measured["model_cx"]).all()
