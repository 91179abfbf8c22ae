"""The study of quantum training (rules quantum_training and quantum_training_hhl, figS7, claim
C12): the grid of runs of :func:`~qtrain.quantum.circuits.quantum_training.quantum_train` over
Carleman orders, windows, precisions and expansions, the comparison of forward substitution with
the HHL circuit, replicate seeds, and the per-run summary the figure and the claim read.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from qtrain.quantum.carleman.digits import DigitsProblem, digits_problem, initial_weights
from qtrain.quantum.circuits.quantum_training import (
    SOLVERS,
    RunSpec,
    classical_gd,
    quantum_train,
)
from qtrain.run.config import from_section
from qtrain.run.progress import Progress

__all__ = [
    "REPLICATE_SEED_STRIDE",
    "SUMMARY_MAXIMA",
    "SUMMARY_SPREADS",
    "TrainingSettings",
    "replicate_seeds",
    "run_summary",
    "solver_comparison",
    "training_grid",
    "training_study",
    "training_summary",
]

log = logging.getLogger(__name__)


def training_grid(
    problem: DigitsProblem,
    theta0: np.ndarray,
    eta: float,
    steps: int,
    specs: Sequence[RunSpec],
    *,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`quantum_train` for every spec from the same start; concatenated step and window
    records. Each run's tomography generator is seeded from (``seed``, the run's position)."""
    reference = classical_gd(problem, theta0, eta, steps)
    steps_frames, window_frames = [], []
    for i, spec in enumerate(Progress(specs, desc="quantum training runs", unit="run")):
        t0 = time.perf_counter()
        run_seed = int(np.random.SeedSequence([seed, i]).generate_state(1)[0])
        s, w = quantum_train(problem, theta0, eta, steps, spec, seed=run_seed, reference=reference)
        steps_frames.append(s)
        window_frames.append(w)
        log.info(
            "%s: %d windows, max relative window error %.3e, final loss %.4f (classical %.4f), "
            "%.2fs",
            spec.run_id,
            len(w),
            w["relative_window_error"].max(),
            s["loss"].iloc[-1],
            s["classical_loss"].iloc[-1],
            time.perf_counter() - t0,
        )
    return pd.concat(steps_frames, ignore_index=True), pd.concat(window_frames, ignore_index=True)


def solver_comparison(
    problem: DigitsProblem,
    theta0: np.ndarray,
    eta: float,
    steps: int,
    spec: RunSpec,
    *,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The same configuration solved by forward substitution and by the HHL circuit, with the
    same tomography seed: concatenated step and window records (column ``solver``)."""
    reference = classical_gd(problem, theta0, eta, steps)
    frames = [
        quantum_train(
            problem,
            theta0,
            eta,
            steps,
            replace(spec, solver=solver),
            seed=seed,
            reference=reference,
        )
        for solver in SOLVERS
    ]
    for _, w in frames:
        log.info(
            "%s: max relative window error %.3e, %.3fs per window",
            w["run_id"].iloc[0],
            w["relative_window_error"].max(),
            w["seconds"].mean(),
        )
    return (
        pd.concat([f[0] for f in frames], ignore_index=True),
        pd.concat([f[1] for f in frames], ignore_index=True),
    )


#: Window columns whose largest value over a run enters the run summary as ``max_<column>``.
SUMMARY_MAXIMA = (
    "relative_window_error",
    "relative_pipeline_error",
    "relative_truncation_error",
    "relative_hhl_error",
    "relative_tomography_error",
    "sampling_scale",
    "window_error",
    "truncation_error",
    "hhl_error",
    "tomography_error",
    "gap_over_theta_c",
)


#: Window columns whose spread over a run (sample standard deviation) enters the summary as
#: ``std_<column>``: each window solves a new linear system, so the spread of its error over the
#: windows is the variation a rerun on other data would see (part of claim C12's noise).
SUMMARY_SPREADS = ("relative_window_error", "relative_pipeline_error")


def _spread(values: pd.Series) -> float:
    """Sample standard deviation over a run's windows (0 for a single window: no spread seen)."""
    return float(values.astype(float).std(ddof=1)) if len(values) > 1 else 0.0


def _max(values: pd.Series) -> float:
    """The largest value over a run's windows: nan if any window is nan (a broken window must
    show, not be skipped), so also for an all-nan column (``hhl_error`` without HHL)."""
    return float(values.astype(float).max(skipna=False))


def _clock_summary(w: pd.DataFrame) -> dict[str, Any]:
    """The HHL clocks of a run's windows (nan/False for forward substitution)."""
    if "hhl_clock_qubits" not in w or w["hhl_clock_qubits"].isna().all():
        return {"min_clock_qubits": math.nan, "max_clock_qubits": math.nan, "clock_capped": False}
    return {
        "min_clock_qubits": float(w["hhl_clock_qubits"].min()),
        "max_clock_qubits": float(w["hhl_clock_qubits"].max()),
        "clock_capped": bool(w["clock_capped"].fillna(False).astype(bool).any()),
    }


def run_summary(windows: pd.DataFrame, steps: pd.DataFrame) -> pd.DataFrame:
    """One row per run and replicate: the largest errors over its downloads (``max_<column>``
    for :data:`SUMMARY_MAXIMA`; relative errors are taken on the downloaded vector, the one ε
    is defined on), their spread over the windows (``std_<column>`` for
    :data:`SUMMARY_SPREADS`), the HHL clocks and the final numbers."""
    rows = []
    if "replicate" not in windows:
        windows = windows.assign(replicate=0, seed=0)
        steps = steps.assign(replicate=0, seed=0)
    for (run_id, replicate), w in windows.groupby(["run_id", "replicate"], sort=False):
        s = steps[(steps["run_id"] == run_id) & (steps["replicate"] == replicate)]
        last = s.iloc[-1]
        rows.append(
            {
                "run_id": run_id,
                "replicate": int(replicate),
                "seed": int(w["seed"].iloc[0]),
                **{
                    k: w[k].iloc[0]
                    for k in (
                        "solver",
                        "expansion",
                        "model",
                        "features",
                        "degree",
                        "order",
                        "window",
                        "epsilon",
                        "top_k",
                    )
                },
                "diverged": bool(w["diverged"].any()),
                "diverged_at_step": int(w.loc[w["diverged"], "end_step"].min())
                if w["diverged"].any()
                else -1,
                "windows": len(w),
                "steps": int(last["step"]),
                **{f"max_{c}": _max(w[c]) for c in SUMMARY_MAXIMA},
                **{f"std_{c}": _spread(w[c]) for c in SUMMARY_SPREADS},
                "final_gap_over_theta_c": float(w["gap_over_theta_c"].iloc[-1]),
                "sum_tomography_bound": float(w["tomography_bound"].sum()),
                "final_loss": float(last["loss"]),
                "final_classical_loss": float(last["classical_loss"]),
                "final_test_accuracy": float(last["test_accuracy"]),
                "final_classical_test_accuracy": float(last["classical_test_accuracy"]),
                "seconds_per_window": float(w["seconds"].mean()),
                "min_hhl_fidelity": float(w["hhl_fidelity"].min())
                if "hhl_fidelity" in w
                else math.nan,
                **_clock_summary(w),
            }
        )
    return pd.DataFrame(rows)


def training_summary(
    steps: pd.DataFrame,
    windows: pd.DataFrame,
    hhl_steps: pd.DataFrame,
    hhl_windows: pd.DataFrame,
) -> pd.DataFrame:
    """One :func:`run_summary` row per run of the grid (``study`` = ``grid``) and of the HHL
    runs (``study`` = ``hhl``; none when no ``hhl_runs`` are configured): the table figS7
    draws and claim C12 judges."""
    grid = run_summary(windows, steps).assign(study="grid")
    if not len(hhl_windows):
        return grid
    hhl = run_summary(hhl_windows, hhl_steps).assign(study="hhl")
    return pd.concat([grid, hhl], ignore_index=True)


@dataclass(frozen=True)
class TrainingSettings:
    """The ``quantum.training`` config section."""

    model: str
    features: int
    classes: tuple[int, int]
    test_fraction: float
    init_scale: float
    lr: float
    steps: int
    orders: tuple[int, ...]
    windows: tuple[int, ...]
    epsilons: tuple[float, ...]
    expansions: tuple[str, ...]
    top_k: int
    hhl_runs: tuple[dict, ...]
    replicates: int = 1
    hhl_solver_share: float = 0.5
    hhl_backend: str = "eigenbasis"
    hhl_max_clock_qubits: int = 16

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> TrainingSettings:
        """The settings of a config section (lists become tuples)."""
        return from_section(cls, section)

    def problem(self, features: int, seed: int) -> DigitsProblem:
        """The digits task with ``features`` PCA features."""
        return digits_problem(features, self.classes, self.model, self.test_fraction, seed=seed)

    def grid(self) -> list[RunSpec]:
        """The grid expansions × orders × windows × ε (classical solver)."""
        return [
            RunSpec(order=o, window=w, epsilon=float(e), expansion=x, top_k=self.top_k)
            for x in self.expansions
            for o in self.orders
            for w in self.windows
            for e in self.epsilons
        ]


#: Replicate r of a study runs with seed ``seed + REPLICATE_SEED_STRIDE·r`` (data split,
#: initial weights and tomography all change: what a rerun with another seed changes).
REPLICATE_SEED_STRIDE = 1000


def replicate_seeds(seed: int, replicates: int) -> list[int]:
    """The seeds of the replicates of a study: ``seed``, ``seed + 1000``, …"""
    return [seed + REPLICATE_SEED_STRIDE * r for r in range(max(int(replicates), 1))]


def _study_once(
    settings: TrainingSettings, solver: str, seed: int, replicate: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One replicate of :func:`training_study` (replicate 0 runs every spec; the others only
    the specs with ε > 0, the ones claim C12 judges)."""
    if solver == "classical":
        problem = settings.problem(settings.features, seed)
        theta0 = initial_weights(problem, settings.init_scale, seed)
        specs = [s for s in settings.grid() if replicate == 0 or s.epsilon > 0]
        log.info(
            "replicate %d (seed %d): %d runs, n = %d parameters, %d training samples",
            replicate,
            seed,
            len(specs),
            problem.n,
            len(problem.y_train),
        )
        return training_grid(problem, theta0, settings.lr, settings.steps, specs, seed=seed)
    frames = []
    for i, run in enumerate(settings.hhl_runs):
        if replicate and not float(run["epsilon"]) > 0:
            continue
        problem = settings.problem(run["features"], seed)
        theta0 = initial_weights(problem, settings.init_scale, seed)
        spec = RunSpec(
            order=run["order"],
            window=run["window"],
            epsilon=float(run["epsilon"]),
            clock_qubits=int(run.get("clock_qubits", 0) or 0),
            solver_share=settings.hhl_solver_share,
            hhl_backend=settings.hhl_backend,
            max_clock_qubits=settings.hhl_max_clock_qubits,
            top_k=settings.top_k,
        )
        frames.append(
            solver_comparison(problem, theta0, settings.lr, run["steps"], spec, seed=seed + i)
        )
    if not frames:
        return pd.DataFrame(), pd.DataFrame()
    return (
        pd.concat([f[0] for f in frames], ignore_index=True),
        pd.concat([f[1] for f in frames], ignore_index=True),
    )


def training_study(
    settings: TrainingSettings, solver: str, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(step records, window records) of the rules quantum_training (``solver`` classical: the
    grid of :meth:`TrainingSettings.grid` by forward substitution, :func:`training_grid`) and
    quantum_training_hhl (``hhl``: each of ``hhl_runs`` solved by forward substitution and by
    the HHL circuit with the same tomography seed, :func:`solver_comparison`; the HHL clock
    budgeted from ``hhl_solver_share``·ε unless a run fixes ``clock_qubits``; empty tables when
    none are configured), each for ``settings.replicates`` seeds (:func:`replicate_seeds`;
    columns ``replicate`` and ``seed``): replicate 0 is the run the figures show, the others
    rerun the runs with ε > 0 so that claim C12 has the noise of a rerun."""
    steps_frames, window_frames = [], []
    for r, s in enumerate(
        Progress(replicate_seeds(seed, settings.replicates), desc="replicates", unit="seed")
    ):
        steps, windows = _study_once(settings, solver, s, r)
        if len(windows):
            steps_frames.append(steps.assign(replicate=r, seed=s))
            window_frames.append(windows.assign(replicate=r, seed=s))
    if not window_frames:
        return pd.DataFrame(), pd.DataFrame()
    return (
        pd.concat(steps_frames, ignore_index=True),
        pd.concat(window_frames, ignore_index=True),
    )
