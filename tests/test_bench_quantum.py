"""The circuits-stage benchmark of rule bench_quantum (qtrain.bench.quantum), on tiny systems."""

from __future__ import annotations

import pytest

from qtrain.bench.quantum import quantum_benchmark, training_window_times


def test_budget_stops_the_hhl_sweep_and_the_largest_solve_is_reported():
    # budget 0 s: the sweep stops after its first solve, whatever the sizes after it
    table, largest = quantum_benchmark(
        [(2, 2, 1), (2, 2, 3)], 4, 0.0, [(1, 2, 2, 0.01, "classical", 0)], repeats=2
    )
    assert table["benchmark"].tolist() == ["hhl_solve", "training_window_classical"]
    hhl = table.iloc[0]
    # Carleman vector of n = 2, N = 2: 2 + 2^2 = 6 entries, over T + 1 = 2 time blocks
    assert (hhl["carleman_dim"], hhl["system_dim"], hhl["repeats"]) == (6, 12, 1)
    # the non-Hermitian 12 x 12 system dilated to 24 x 24, padded to 32: 5 system qubits; with
    # the 4 clock qubits and the rotation's ancilla, 10 in all
    assert (hhl["num_system"], hhl["num_clock"], hhl["num_qubits"]) == (5, 4, 10)
    assert largest == {
        "largest_hhl_system": hhl["system"],
        "largest_hhl_qubits": hhl["num_qubits"],
        "largest_hhl_seconds": hhl["seconds"],
    }


def test_a_training_window_is_timed_per_solver():
    table = training_window_times(
        [(1, 2, 2, 0.01, "classical", 0), (1, 2, 2, 0.01, "hhl", 4)], repeats=1
    )
    # digits with p = 1 feature: n = 3 weights; N = 2: 3 + 9 = 12, over W + 1 = 3 blocks
    assert table["system"].tolist() == ["digits p=1 n=3 N=2 W=2 eps=0.01"] * 2
    assert table["system_dim"].tolist() == [36, 36]
    assert table["benchmark"].tolist() == ["training_window_classical", "training_window_hhl"]
    assert table["num_qubits"].isna().tolist() == [True, False]  # only HHL has qubits
    assert (table["seconds"] > 0).all() and (table["repeats"] == 1).all()


def test_repeats_must_be_positive():
    with pytest.raises(ValueError, match="repeats must be at least 1"):
        training_window_times([(1, 2, 2, 0.01, "classical", 0)], repeats=0)
