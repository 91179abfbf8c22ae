"""A small model trained end to end through the quantum pipeline (SPEC §1.8; the paper never ran
this): windows of W gradient-descent steps, each one lifted to the discrete Carleman system,
solved as the block system of Eq. 6 (classically, or through the simulated HHL circuit),
downloaded by simulated tomography at precision ε and re-uploaded for the next window; classical
GD from the same start runs beside it, step by step.

The model is a binary classifier on sklearn's digits (two digit classes, targets ±1, the first
``features`` PCA components of the training split, standardized), trained on the mean squared
error ``L = (1/2S) Σ_s (f(x_s) − y_s)²``, whose GD map is exactly polynomial:

- ``quadratic``: ``f(x) = vᵀx + c + (wᵀx)²``, θ = (v, c, w), n = 2p + 1, a degree-3 map
  (:func:`qtrain.quantum.digits.quadratic_network_map`);
- ``linear``: ``f(x) = vᵀx + c``, n = p + 1, an affine map (degree 1; Carleman order 1 is exact).

Expansion point θ̄ of the polynomial map u(t+1) = u(t) + Σ_l F_l u^{⊗l}, u = θ − θ̄ [decided,
both offered]:

- ``window``: θ̄ = the weights uploaded at the window start, so ŷ_in = 0 and F_0 = −η∇L(θ̄) drives
  the system; the download reads the window's increment u(W). With u_in = 0 the truncation at
  N ≥ degree is exact for W ≤ 2 steps (ŷ(1) = lift(F_0) exactly).
- ``initial``: θ̄ = θ(0) for the whole run: one map, and each window uploads ŷ_in = lift(θ − θ(0))
  and downloads u(W) = θ(W) − θ(0).

Download at precision ε > 0: Kerenidis-Prakash ℓ2 tomography of the n-vector u(W) (the final
time block, first Carleman level of the solution state) with ``36·n·ln n/δ²`` samples per stage
and δ = ε_r/√7, i.e. ``‖ũ − u‖ ≤ ε_r‖u‖`` with high probability (:mod:`qtrain.quantum.tomography`),
ε_r = (1 − solver_share)·ε the readout's share of ε (all of it for forward substitution; HHL runs
give ``solver_share``·ε to the solver, whose clock is budgeted from it: :func:`hhl_clock`);
its norm is estimated from the same number of Bernoulli trials of the post-selection that lands
on that block (probability ``q`` = its share of ‖Y‖²). ε = 0 reads u(W) exactly. An optional
top-k readout keeps the k largest entries of the downloaded vector. ε is the relative ℓ2
precision of one vector, the window's increment u(W) − u(0) = θ(end) − θ(start): the downloaded
vector u(W) = θ(end) − θ̄ itself for ``window`` (u(0) = 0); ``initial`` downloads the displacement
from θ(0) at the relative precision ε_r·‖u(W) − u(0)‖/‖u(W)‖ (more samples as the displacement
outgrows the increment). Every window records its errors relative to that increment, split into
truncation, HHL and readout (:func:`window_errors`).

A run whose weights turn non-finite or grow beyond ``DIVERGENCE_FACTOR`` times the classical ones
(a truncated Carleman system can blow up where the map is not dissipative enough) is recorded as
diverged at that download and stopped; the other runs go on.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from qtrain.quantum.carleman import carleman_matrix, lift
from qtrain.quantum.digits import DigitsProblem, digits_problem, initial_weights
from qtrain.quantum.linear_system import block_system, solve_block_system
from qtrain.quantum.polymaps import spectral_radius
from qtrain.quantum.tomography import samples_for_precision, tomography
from qtrain.run.config import from_section
from qtrain.run.progress import Progress

__all__ = [
    "DIVERGENCE_FACTOR",
    "EXPANSIONS",
    "REPLICATE_SEED_STRIDE",
    "SOLVERS",
    "SUMMARY_MAXIMA",
    "SUMMARY_SPREADS",
    "RunSpec",
    "TrainingSettings",
    "classical_gd",
    "hhl_clock",
    "quantum_train",
    "replicate_seeds",
    "run_summary",
    "sampling_scale",
    "solver_comparison",
    "training_grid",
    "training_study",
    "training_summary",
    "window_errors",
]

log = logging.getLogger(__name__)

EXPANSIONS = ("window", "initial")
SOLVERS = ("classical", "hhl")


def classical_gd(
    problem: DigitsProblem, theta0: np.ndarray, eta: float, steps: int, *, check: bool = True
) -> np.ndarray:
    """θ(t+1) = θ(t) − η∇L(θ(t)): array (steps+1, n). With ``check``, stops with the step if it
    diverges; without, non-finite rows are returned as they come."""
    out = np.empty((steps + 1, problem.n))
    out[0] = theta0
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(steps):
            out[t + 1] = out[t] - eta * problem.grad(out[t])
            if check and not np.all(np.isfinite(out[t + 1])):
                raise FloatingPointError(f"classical GD diverged at step {t + 1} (lr {eta})")
    return out


#: A quantum-trained run whose weights grow beyond this factor times the classical ones (or
#: turn non-finite) has diverged: it is recorded as such and stopped.
DIVERGENCE_FACTOR = 1e3


@dataclass(frozen=True)
class RunSpec:
    """One quantum-training configuration."""

    order: int  # Carleman truncation order N
    window: int  # steps per window W
    epsilon: float  # tomography precision ε (0 = exact readout)
    solver: str = "classical"  # "classical" (forward substitution) or "hhl" (simulated circuit)
    expansion: str = "window"  # "window" or "initial"
    top_k: int = 0  # keep the k largest downloaded entries (0 = all)
    clock_qubits: int = 0  # HHL clock register; 0 = budgeted from the solver's precision
    solver_share: float = 0.0  # share of ε given to the solver; the readout gets the rest
    hhl_backend: str = "eigenbasis"  # how the HHL circuit is simulated (qtrain.quantum.hhl)
    max_clock_qubits: int = 16  # a budgeted clock is capped here (recorded per window)

    def __post_init__(self) -> None:
        if self.order < 1 or self.window < 1 or self.epsilon < 0:
            raise ValueError(f"need order >= 1, window >= 1, epsilon >= 0: {self}")
        if not 0 <= self.solver_share < 1 or self.clock_qubits < 0:
            raise ValueError(f"need 0 <= solver_share < 1 and clock_qubits >= 0: {self}")
        if self.solver == "hhl" and not self.clock_qubits and not self.solver_precision > 0:
            raise ValueError(
                f"an HHL run needs clock_qubits or a solver precision (epsilon > 0 and "
                f"solver_share > 0) to budget its clock from: {self}"
            )
        if self.solver not in SOLVERS:
            raise ValueError(f"solver must be one of {SOLVERS}, got {self.solver!r}")
        if self.expansion not in EXPANSIONS:
            raise ValueError(f"expansion must be one of {EXPANSIONS}, got {self.expansion!r}")

    @property
    def solver_precision(self) -> float:
        """ε_solver = solver_share·ε: the relative precision the solver must reach on the
        downloaded vector (the HHL clock is budgeted from it)."""
        return self.solver_share * self.epsilon

    @property
    def readout_precision(self) -> float:
        """ε_readout = (1 − solver_share)·ε: the tomography's relative precision."""
        return (1.0 - self.solver_share) * self.epsilon

    @property
    def run_id(self) -> str:
        """A readable, unique name of the configuration."""
        name = f"{self.solver}_{self.expansion}_N{self.order}_W{self.window}_eps{self.epsilon:g}"
        return name + (f"_top{self.top_k}" if self.top_k else "")


def hhl_clock(L, y_fs: np.ndarray, n: int, spec: RunSpec) -> tuple[int, dict[str, float | bool]]:
    """The HHL clock of one window and what it was chosen from.

    A fixed ``spec.clock_qubits`` is used as given. Otherwise the clock is budgeted
    (:func:`qtrain.quantum.hhl.clock_for_precision`): ε is defined on the window's increment
    u(W) − u(0) (u(W) the final block's first level of the solution Y; u(0) = 0 for the window
    expansion), whose norm² is a share q of ‖Y‖², so an error ε_solver relative to it is
    guaranteed by a relative error ε_solver·√q on Y (‖δu‖ ≤ ‖δY‖ ≤ ε_solver√q‖Y‖); κ is that
    of L (= of its Hermitian dilation, which needs a signed clock). A budget above
    ``spec.max_clock_qubits`` is capped there (``clock_capped``).
    """
    from qtrain.quantum.hhl import clock_for_precision

    singular = np.linalg.svd(L.toarray(), compute_uv=False)
    kappa = float(singular[0] / singular[-1])
    total = float(np.sum(y_fs**2))
    increment = y_fs[-1, :n] - y_fs[0, :n]  # u(W) − u(0): ε's vector
    q = float(np.sum(increment**2)) / total if total > 0 else math.nan
    info: dict[str, float | bool] = {"kappa_L": kappa, "budget_share": q}
    if spec.clock_qubits:
        info.update(clock_budget=math.nan, clock_capped=False)
        return spec.clock_qubits, info
    target = spec.solver_precision * math.sqrt(q) if q > 0 else spec.solver_precision
    budget = clock_for_precision(target, kappa, signed=True)
    info.update(clock_budget=budget, clock_capped=budget > spec.max_clock_qubits)
    if info["clock_capped"]:
        log.warning(
            "%s: the budgeted clock (%d qubits for %.3g on u, kappa %.3g) is capped at %d",
            spec.run_id,
            budget,
            spec.solver_precision,
            kappa,
            spec.max_clock_qubits,
        )
    return min(budget, spec.max_clock_qubits), info


def _solve_window(
    L, rhs: np.ndarray, block: int, n: int, spec: RunSpec
) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """(Y of the solver, Y of forward substitution, HHL numbers) of one block system: Y (blocks
    × Δ) by forward substitution, or by the HHL circuit with the clock of :func:`hhl_clock`."""
    y_fs = solve_block_system(L, rhs, block, "forward")
    if spec.solver == "classical":
        return y_fs, y_fs, {}
    from qtrain.quantum.hhl import solve

    clock, info = hhl_clock(L, y_fs, n, spec)
    res = solve(L.toarray(), rhs, clock, backend=spec.hhl_backend, count_gates=False)
    info = {
        **info,
        "hhl_clock_qubits": clock,
        "hhl_fidelity": res.fidelity,
        "hhl_success_probability": res.success_probability,
        "hhl_qubits": res.num_qubits,
        "hhl_kappa": res.condition_number,
        "hhl_norm_relative_error": res.norm_relative_error,
    }
    return np.asarray(res.solution, dtype=float).reshape(-1, block), y_fs, info


def quantum_train(
    problem: DigitsProblem,
    theta0: np.ndarray,
    eta: float,
    steps: int,
    spec: RunSpec,
    *,
    seed: int = 0,
    reference: np.ndarray | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train ``steps`` GD steps in windows of ``spec.window`` through the quantum pipeline.

    Returns (per-step records, per-window records). Per step: the quantum-trained weights (at a
    window end the downloaded ones, inside a window the first Carleman level of the solution
    state, ``downloaded`` False) and classical GD from the same start (``reference``, computed
    if not given): loss, train and test accuracy, the parameter gap ‖θ_q − θ_c‖ and
    ``gap_over_theta_c`` = gap/‖θ_c‖. Per window (:func:`window_errors` for the error columns):
    sizes, post-selection shares, samples, the errors of the downloaded vector split into
    truncation, HHL and tomography, the tomography bound ε‖u(W)‖, the readout's sampling scale,
    ρ(I + F_1) and the Hessian's extreme eigenvalues at θ̄, HHL numbers (HHL runs) and seconds.
    """
    theta0 = np.asarray(theta0, dtype=float)
    if reference is None:
        reference = classical_gd(problem, theta0, eta, steps)
    n = problem.n
    rng = np.random.default_rng(seed)
    fixed_map = None
    if spec.expansion == "initial":
        F = problem.gd_map(theta0, eta)
        fixed_map = (F, *carleman_matrix(F, spec.order))
    theta = theta0.copy()
    base = {
        "run_id": spec.run_id,
        **asdict(spec),
        "model": problem.model,
        "features": problem.p,
        "degree": problem.degree,
    }
    step_rows = [_step_row(problem, base, 0, 0, theta, reference[0], True)]
    window_rows = []
    start, k = 0, 0
    # a diverging run overflows on its way out: record it, do not warn
    with np.errstate(over="ignore", invalid="ignore"):
        while start < steps:
            length = min(spec.window, steps - start)
            t0 = time.perf_counter()
            if fixed_map is None:
                theta_bar = theta
                F = problem.gd_map(theta_bar, eta)
                C, b = carleman_matrix(F, spec.order)
            else:
                theta_bar = theta0
                F, C, b = fixed_map
            block = C.shape[0]
            L, rhs = block_system(C, b, lift(theta - theta_bar, spec.order), length)
            # the same truncated system by forward substitution separates HHL from truncation
            Y, y_fs, hhl_info = _solve_window(L, rhs, block, n, spec)
            u, u_fs = Y[-1, :n], y_fs[-1, :n]
            total = float(np.sum(Y**2))
            share = float(np.sum(u**2)) / total if total > 0 else math.nan
            # ε is defined on the window's increment u(W) − u(0) (u(0) = 0 for the window
            # expansion): the readout of u(W) gets the relative precision that is on u(W)
            u_in = y_fs[0, :n]
            precision = spec.readout_precision * _increment_ratio(u_fs, u_in)
            samples = 0
            if spec.epsilon > 0 and np.any(u):
                samples = samples_for_precision(n, precision / math.sqrt(7))
                u_read = tomography(
                    u,
                    samples,
                    rng,
                    success_probability=min(share, 1.0),
                    norm_samples=samples,
                    top_k=spec.top_k or None,
                )
            else:
                u_read = u if not spec.top_k else _top_k(u, spec.top_k)
            seconds = time.perf_counter() - t0
            exact = classical_gd(problem, theta, eta, length, check=False)
            for j in range(1, length):
                step_rows.append(
                    _step_row(
                        problem,
                        base,
                        start + j,
                        k,
                        theta_bar + Y[j, :n],
                        reference[start + j],
                        False,
                    )
                )
            theta = theta_bar + u_read
            scale = DIVERGENCE_FACTOR * max(1.0, float(np.linalg.norm(reference[start + length])))
            diverged = not (np.all(np.isfinite(theta)) and np.linalg.norm(theta) <= scale)
            step_rows.append(
                _step_row(problem, base, start + length, k, theta, reference[start + length], True)
            )
            hess = np.linalg.eigvalsh(problem.hessian(theta_bar))
            window_rows.append(
                {
                    **base,
                    "diverged": diverged,
                    "window_index": k,
                    "start_step": start,
                    "end_step": start + length,
                    "steps_in_window": length,
                    "n": n,
                    "carleman_dim": block,
                    "system_dim": L.shape[0],
                    "nnz": int(L.nnz),
                    "final_level1_share": share,
                    "samples": samples,
                    # magnitude + sign + norm stages, each post-selected on the final block's
                    # first level (and, through HHL, on the solver's success flag)
                    "state_preparations": 3
                    * samples
                    / (share * hhl_info.get("hhl_success_probability", 1.0))
                    if samples
                    else 0.0,
                    **window_errors(u_read, u, u_fs, exact[-1] - theta_bar, spec.solver, u_in),
                    "readout_precision": precision if samples else 0.0,
                    "tomography_bound": precision * float(np.linalg.norm(u)) if samples else 0.0,
                    "sampling_scale": sampling_scale(n, samples, share) / _increment_ratio(u, u_in),
                    "gap": float(np.linalg.norm(theta - reference[start + length])),
                    "gap_over_theta_c": float(
                        np.linalg.norm(theta - reference[start + length])
                        / np.linalg.norm(reference[start + length])
                    ),
                    "spectral_radius": spectral_radius(F),
                    "hessian_min": float(hess[0]),
                    "hessian_max": float(hess[-1]),
                    "seconds": seconds,
                    **hhl_info,
                }
            )
            start += length
            k += 1
            if diverged:
                log.warning(
                    "%s diverged in window %d (steps %d-%d): ||theta|| = %.3g; stopped",
                    spec.run_id,
                    k - 1,
                    start - length,
                    start,
                    np.linalg.norm(theta),
                )
                break
    return pd.DataFrame(step_rows), pd.DataFrame(window_rows)


def _increment_ratio(u: np.ndarray, u_in: np.ndarray) -> float:
    """‖u − u_in‖/‖u‖: a relative precision on the increment u − u_in as one on u (1 when
    u_in = 0, the window expansion)."""
    norm = float(np.linalg.norm(u))
    if not np.any(u_in) or norm == 0:
        return 1.0
    return float(np.linalg.norm(u - u_in)) / norm


def window_errors(
    u_read: np.ndarray,
    u: np.ndarray,
    u_fs: np.ndarray,
    u_exact: np.ndarray,
    solver: str,
    u_in: np.ndarray | None = None,
) -> dict[str, float]:
    """The errors of one window's download, each in its own column.

    ``u_read``: the downloaded vector; ``u``: the solver's output (the first Carleman level of
    the final block); ``u_fs``: the forward-substitution solution of the same truncated system;
    ``u_exact``: the exact GD map over the window from the same start, minus θ̄; ``u_in``: the
    uploaded u(0) = θ(start) − θ̄ (0 for the window expansion, the default). ε is the relative
    ℓ2 precision of the window's increment u(W) − u(0), so every relative column is taken on
    an increment (for the window expansion: on u(W) itself):

    - ``truncation_error`` ‖u_fs − u_exact‖ (the Carleman truncation alone),
    - ``hhl_error`` ‖u − u_fs‖ (HHL runs; nan for forward substitution),
    - ``tomography_error`` ‖u_read − u‖ (the readout),
    - ``pipeline_error`` ‖u_read − u_fs‖ (solver + readout against the truncated system),
    - ``window_error`` ‖u_read − u_exact‖ = ‖θ_q(end) − GD_W(θ_q(start))‖ (everything),
    - ``downloaded_norm`` ‖u‖, ``exact_download_norm`` ‖u_exact‖, ``exact_increment_norm``
      ‖u_exact − u_in‖, and the relative ones: ``relative_truncation_error``,
      ``relative_window_error`` (over ‖u_exact − u_in‖), ``relative_hhl_error``,
      ``relative_pipeline_error`` (over ‖u_fs − u_in‖), ``relative_tomography_error`` (over
      ‖u − u_in‖).
    """
    u_in = np.zeros_like(u) if u_in is None else np.asarray(u_in, dtype=float)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        norm_u, norm_fs, norm_exact = (float(np.linalg.norm(v - u_in)) for v in (u, u_fs, u_exact))
        errors = {
            "truncation_error": float(np.linalg.norm(u_fs - u_exact)),
            "hhl_error": float(np.linalg.norm(u - u_fs)) if solver == "hhl" else math.nan,
            "tomography_error": float(np.linalg.norm(u_read - u)),
            "pipeline_error": float(np.linalg.norm(u_read - u_fs)),
            "window_error": float(np.linalg.norm(u_read - u_exact)),
        }
        return {
            **errors,
            "downloaded_norm": float(np.linalg.norm(u)),
            "exact_download_norm": float(np.linalg.norm(u_exact)),
            "exact_increment_norm": norm_exact,
            "relative_truncation_error": errors["truncation_error"] / norm_exact,
            "relative_hhl_error": errors["hhl_error"] / norm_fs,
            "relative_tomography_error": errors["tomography_error"] / norm_u,
            "relative_pipeline_error": errors["pipeline_error"] / norm_fs,
            "relative_window_error": errors["window_error"] / norm_exact,
        }


def sampling_scale(d: int, samples: int, share: float) -> float:
    """The readout's relative sampling error scale: √(d/(4N) + (1 − q)/(4qN)) for N samples per
    stage of a d-vector whose post-selection share is q (magnitudes: Σ_i Var √(n_i/N) ≈ d/(4N);
    norm from N Bernoulli trials: Var √(q̂/q) ≈ (1 − q)/(4qN)); 0 for an exact readout."""
    if samples <= 0:
        return 0.0
    q = min(max(share, 1e-300), 1.0) if share == share else 1.0
    return math.sqrt(d / (4 * samples) + (1 - q) / (4 * q * samples))


def _top_k(x: np.ndarray, k: int) -> np.ndarray:
    from qtrain.quantum.tomography import keep_top_k

    return keep_top_k(x, k)


def _step_row(
    problem: DigitsProblem,
    base: dict,
    step: int,
    window_index: int,
    theta: np.ndarray,
    theta_c: np.ndarray,
    downloaded: bool,
) -> dict:
    """One step record: the quantum-trained and the classical weights side by side (overflow in
    a diverging run gives inf/nan values, recorded as they are)."""
    with np.errstate(over="ignore", invalid="ignore"):
        gap = float(np.linalg.norm(theta - theta_c))
        return {
            **base,
            "step": step,
            "window_index": window_index,
            "downloaded": downloaded,
            "loss": problem.loss(theta),
            "train_accuracy": problem.accuracy(theta),
            "test_accuracy": problem.accuracy(theta, "test"),
            "classical_loss": problem.loss(theta_c),
            "classical_train_accuracy": problem.accuracy(theta_c),
            "classical_test_accuracy": problem.accuracy(theta_c, "test"),
            "gap": gap,
            "gap_over_theta_c": gap / float(np.linalg.norm(theta_c)),
        }


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
