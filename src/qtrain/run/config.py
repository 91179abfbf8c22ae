"""Every cross-key check of the workflow configuration that the JSON schema cannot express.

Standard library only: ``workflow/rules/common.smk`` calls :func:`check_config` once, after the
schema's validation and before any job runs, and a failure names every key involved and what to
change. :func:`merge_config` merges config files as Snakemake does (a ``--configfile`` over the
workflow's ``config/config.yaml``, section by section). :func:`spectrum_points` says which
checkpoints get a Hessian spectrum, for the workflow's DAG and for the GPU-hour estimate alike.
:func:`coerce_config_types` turns the strings that ``--config`` and PyYAML leave where the
schema wants numbers or booleans into those types, before the Snakefile validates the config.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any, TypeVar

T = TypeVar("T")

__all__ = [
    "DIGITS_TRAIN_SIZE",
    "KEPT_FRACTION_KEYS",
    "MAX_STATEVECTOR_QUBITS",
    "REHEARSAL_LABEL",
    "ConfigError",
    "check_config",
    "check_hessian_operator",
    "check_kept_fraction",
    "check_linearized",
    "check_quantum_config",
    "check_rehearsal",
    "check_training",
    "claim_variants",
    "coerce_config_types",
    "from_section",
    "hessian_space_for",
    "hhl_qubits",
    "kept_fraction",
    "merge_config",
    "rehearsal_label",
    "seed_count",
    "spectrum_jobs",
    "spectrum_points",
    "spectrum_steps",
    "spectrum_variant",
    "synthetic_archive_files",
]

#: Images in the training split of sklearn's digits (the smoke preset's data set).
DIGITS_TRAIN_SIZE = 1437

#: A statevector run of the HHL circuit must stay within minutes on a few CPU cores.
MAX_STATEVECTOR_QUBITS = 20


#: What every output of a rehearsal (config/rehearsal.yaml) says it is: figures, captions, claims.
REHEARSAL_LABEL = "rehearsal: synthetic data, not a result"


class ConfigError(ValueError):
    """A configuration whose keys contradict each other."""


def hessian_space_for(window_space: str) -> tuple[str, ...]:
    """The Hessian spaces consistent with what a window trains (SPEC §2.5): ``all`` (dense
    windows) → the full Hessian ``dense``; ``support`` → ``restricted`` (or ``masked``)."""
    if window_space == "all":
        return ("dense",)
    if window_space == "support":
        return ("restricted", "masked")
    raise ConfigError(f"sparse_train.window_space must be 'all' or 'support', got {window_space!r}")


def check_hessian_operator(cfg: Mapping[str, Any]) -> None:
    """One operator (SPEC §2.5): the spectra's space follows what the windows train, and the
    linearized windows use the spectra's BatchNorm mode."""
    window_space = cfg["sparse_train"].get("window_space", "all")
    spectra = cfg.get("spectra", {})
    space = spectra.get("space", "dense")
    allowed = hessian_space_for(window_space)
    if space not in allowed:
        raise ConfigError(
            f"config keys sparse_train.window_space = {window_space!r} and spectra.space = "
            f"{space!r} disagree: windows that train "
            f"{'all weights' if window_space == 'all' else 'only the support'} need "
            f"spectra.space {' or '.join(repr(a) for a in allowed)}"
        )
    lin_mode = cfg.get("linearized", {}).get("bn_mode", "train")
    spec_mode = spectra.get("bn_mode", "train")
    if lin_mode != spec_mode:
        raise ConfigError(
            f"config keys linearized.bn_mode = {lin_mode!r} and spectra.bn_mode = {spec_mode!r} "
            "disagree: the linearized windows and the error proxy they test must use the same "
            "Hessian (set both to the same mode)"
        )


def check_conventions(cfg: Mapping[str, Any]) -> None:
    """The multiplier convention decides claims C2-C4 and C13 (SPEC §2.5): it comes first in
    ``spectra.conventions``; the others are shown for comparison."""
    conventions = list(cfg.get("spectra", {}).get("conventions", ["multiplier"]))
    if not conventions or conventions[0] != "multiplier":
        raise ConfigError(
            f"config key spectra.conventions = {conventions} must start with 'multiplier': "
            "the multiplier convention decides the claims (SPEC §2.5); list 'eigenvalue' and "
            "'lr_scaled' after it to show them for comparison"
        )


#: The three keys that state the kept share of the prunable weights (the paper's 10%): the
#: prune, every download, and the support a support-only window prices.
KEPT_FRACTION_KEYS = (
    ("prune", "keep_fraction"),
    ("sparse_train", "keep_fraction"),
    ("quantum", "resources", "support_fraction"),
)


def kept_fraction(cfg: Mapping[str, Any]) -> float:
    """The kept share of the prunable weights: ``prune.keep_fraction`` (equal to the other keys
    of :data:`KEPT_FRACTION_KEYS` once :func:`check_kept_fraction` has passed)."""
    return float(cfg["prune"]["keep_fraction"])


def check_kept_fraction(cfg: Mapping[str, Any]) -> None:
    """One kept share: the prune, each download and the cost model's support keep the same
    fraction of the prunable weights (keys missing from ``cfg`` take their schema default)."""
    values = {}
    for path in KEPT_FRACTION_KEYS:
        node: Any = cfg
        for key in path:
            node = node.get(key, {}) if isinstance(node, Mapping) else {}
        if isinstance(node, (int, float)):
            values[".".join(path)] = float(node)
    if len(set(values.values())) > 1:
        listed = ", ".join(f"{k} = {v:g}" for k, v in values.items())
        raise ConfigError(
            f"config keys {listed} must be equal: the pruned support, each download's top-k "
            "and the support the cost model prices are one kept share (the paper's 10%)"
        )


def check_training(cfg: Mapping[str, Any]) -> None:
    """The data and training sections: crop padding below the image size, checkpoints within
    the run, a pretraining batch no larger than the digits training split."""
    data = cfg["data"]
    if data["dataset"] == "cifar100" and data.get("crop_padding", 4) >= 32:
        raise ConfigError("config key data.crop_padding must be smaller than the image size 32")
    st = cfg["sparse_train"]
    if st["checkpoint_every"] > st["steps"]:
        raise ConfigError(
            "config key sparse_train.checkpoint_every must not exceed sparse_train.steps"
        )
    batch = cfg["pretrain"]["batch_size"]
    if data["dataset"] == "digits" and batch > DIGITS_TRAIN_SIZE:
        raise ConfigError(
            f"config key pretrain.batch_size = {batch} exceeds the digits training split "
            f"({DIGITS_TRAIN_SIZE})"
        )


def check_linearized(cfg: Mapping[str, Any]) -> None:
    """The linearized windows: a variant that runs, a GD map (no momentum), windows that start
    at checkpoints inside the run."""
    st, lin = cfg["sparse_train"], cfg["linearized"]
    if lin["windows"] and lin["variant"] not in st["variants"]:
        raise ConfigError(
            f"config key linearized.variant = {lin['variant']} is not among "
            f"sparse_train.variants {st['variants']}"
        )
    if lin["windows"] and st.get("momentum", 0.0) != 0:
        raise ConfigError(
            "config key linearized.windows needs sparse_train.momentum = 0 (a GD map); "
            "set linearized.windows: [] to skip the linearized windows"
        )
    for window in lin["windows"]:
        start = window * st["window_steps"]
        if start >= st["steps"] or start % st["checkpoint_every"]:
            raise ConfigError(
                f"config key linearized.windows: window {window} starts at step {start}, "
                f"which is not a checkpoint step below sparse_train.steps = {st['steps']} "
                f"(checkpoints every {st['checkpoint_every']} steps)"
            )


def hhl_qubits(n: int, order: int, steps: int, clock: int) -> int:
    """Qubits of the HHL circuit on the block system of Eq. 6: the Hermitian dilation of the
    (T+1)·Σ_{j≤N} n^j-dimensional system, padded to a power of two, plus clock and flag."""
    dim = (steps + 1) * sum(n**j for j in range(1, order + 1))
    return math.ceil(math.log2(2 * dim)) + clock + 1


def check_quantum_config(q: Mapping[str, Any]) -> None:
    """The ``quantum`` section: every HHL system and run within :data:`MAX_STATEVECTOR_QUBITS`
    (statevector sizes), a non-empty n range of the cost model's sweeps, its error shares
    summing to 1 and a run of at least one window."""
    clock = max(q["hhl"]["clock_qubits"])
    for i, s in enumerate(q["hhl"]["systems"]):
        qubits = hhl_qubits(s["n"], s["order"], s["steps"], clock)
        if qubits > MAX_STATEVECTOR_QUBITS:
            raise ConfigError(
                f"config key quantum.hhl.systems[{i}] needs {qubits} qubits with {clock} clock "
                f"qubits (> {MAX_STATEVECTOR_QUBITS}): lower n, order or steps"
            )
    tr = q["training"]
    for i, r in enumerate(tr["hhl_runs"]):
        clock = r.get("clock_qubits") or tr.get("hhl_max_clock_qubits", 16)
        if not r.get("clock_qubits") and not r["epsilon"] > 0:
            raise ConfigError(
                f"config key quantum.training.hhl_runs[{i}]: epsilon = 0 sets no precision to "
                "budget the HHL clock from; give clock_qubits"
            )
        if tr.get("hhl_backend", "statevector") != "statevector":
            continue  # the eigenbasis backend holds no 2^qubits state
        n = 2 * r["features"] + 1 if tr["model"] == "quadratic" else r["features"] + 1
        qubits = hhl_qubits(n, r["order"], r["window"], clock)
        if qubits > MAX_STATEVECTOR_QUBITS:
            raise ConfigError(
                f"config key quantum.training.hhl_runs[{i}] needs up to {qubits} qubits "
                f"(> {MAX_STATEVECTOR_QUBITS}) with the statevector backend: lower features, "
                "order, window, clock_qubits or quantum.training.hhl_max_clock_qubits, or use "
                "hhl_backend: eigenbasis"
            )
    res = q["resources"]
    if res["n_min"] >= res["n_max"]:
        raise ConfigError(
            "config key quantum.resources.n_min must be below quantum.resources.n_max"
        )
    parts = ("truncation", "solver", "tomography", "physical")
    shares = [res.get(f"error_share_{k}") for k in parts]
    if all(v is not None for v in shares) and abs(sum(shares) - 1) > 1e-9:
        raise ConfigError(
            "config keys quantum.resources.error_share_{truncation,solver,tomography,physical} "
            f"must sum to 1, got {sum(shares):g}"
        )
    if res.get("total_steps", 0) < res.get("steps_per_window", 0):
        raise ConfigError(
            "config key quantum.resources.total_steps must be at least "
            "quantum.resources.steps_per_window"
        )


def rehearsal_label(cfg: Mapping[str, Any]) -> str | None:
    """:data:`REHEARSAL_LABEL` for a rehearsal's config, else ``None``."""
    return REHEARSAL_LABEL if cfg.get("rehearsal", {}).get("enabled", False) else None


def synthetic_archive_files(root: str) -> list[str]:
    """The files of a generated CIFAR-100-format archive under ``root``: the ``train``, ``test``
    and ``meta`` pickles torchvision reads, then the generator's record of their digests."""
    root = str(root).rstrip("/")
    return [
        f"{root}/cifar-100-python/{name}" for name in ("train", "test", "meta", "synthetic.json")
    ]


def check_rehearsal(cfg: Mapping[str, Any]) -> None:
    """A rehearsal and its synthetic data go together, and never into the paper's result tree:
    ``rehearsal.enabled`` and ``data.synthetic`` agree; the generated archive is CIFAR-100's
    format under ``results/<preset>/`` (never beside real data)."""
    data, preset = cfg["data"], cfg["preset"]
    enabled = bool(cfg.get("rehearsal", {}).get("enabled", False))
    synthetic = bool(data.get("synthetic", False))
    if enabled != synthetic:
        raise ConfigError(
            f"config keys rehearsal.enabled = {str(enabled).lower()} and data.synthetic = "
            f"{str(synthetic).lower()} disagree: a rehearsal runs on the generated archive, and "
            "synthetic data is never a result (set both, as config/rehearsal.yaml does)"
        )
    if not enabled:
        return
    if preset == "paper":
        raise ConfigError(
            "config key preset = 'paper' with rehearsal.enabled: a rehearsal writes its own "
            "result tree (preset: rehearsal), never results/paper/"
        )
    if data["dataset"] != "cifar100":
        raise ConfigError(
            f"config key data.synthetic needs data.dataset = 'cifar100' (CIFAR-100's file "
            f"format), got {data['dataset']!r}"
        )
    root = str(data.get("root", "")).rstrip("/")
    if not root.startswith(f"results/{preset}/"):
        raise ConfigError(
            f"config key data.root = {root!r} with data.synthetic: the generated archive goes "
            f"under results/{preset}/ (e.g. results/{preset}/data/synthetic), never beside real "
            "CIFAR-100"
        )


def spectrum_steps(cfg: Mapping[str, Any]) -> list[int]:
    """Checkpoint steps with a Hessian spectrum: every ``spectra.every``-th checkpoint of sparse
    training (step 0, the pruned start, always)."""
    st = cfg["sparse_train"]
    checkpoints = range(0, st["steps"] + 1, st["checkpoint_every"])
    return list(checkpoints)[:: cfg["spectra"]["every"]]


def spectrum_variant(cfg: Mapping[str, Any], variant: str, step: int) -> str:
    """The variant under which the spectrum of ``variant``'s checkpoint at ``step`` is computed.

    Every variant trains the same way on the same batches until the first download (after step
    ``sparse_train.window_steps``), so the checkpoints before it are one model: their spectrum
    is computed once, under the first variant."""
    st = cfg["sparse_train"]
    return st["variants"][0] if int(step) < st["window_steps"] else variant


def spectrum_points(
    cfg: Mapping[str, Any], variants: Sequence[str] | None = None
) -> list[tuple[str, int]]:
    """The distinct ``(variant, step)`` spectra of one training seed, in variant then step order
    (of ``variants``; every variant by default)."""
    points = [
        (spectrum_variant(cfg, variant, step), step)
        for variant in (cfg["sparse_train"]["variants"] if variants is None else variants)
        for step in spectrum_steps(cfg)
    ]
    return list(dict.fromkeys(points))


def claim_variants(cfg: Mapping[str, Any]) -> list[str]:
    """The variants whose spectra and error proxy every training seed computes: those claims C3
    and C4 read, ``continuous`` and ``sparse`` (every variant when neither runs). The first seed
    computes every variant's (Fig. 2a-b draw them), the extra seeds only these."""
    variants = list(cfg["sparse_train"]["variants"])
    return [v for v in variants if v in ("continuous", "sparse")] or variants


def seed_count(cfg: Mapping[str, Any]) -> int:
    """Training seeds of the network pipeline: 1 + ``noise.extra_seeds``."""
    return 1 + int(cfg.get("noise", {}).get("extra_seeds", 0))


def spectrum_jobs(cfg: Mapping[str, Any]) -> int:
    """Spectra of the main model over every training seed: every variant's distinct spectra
    for the first seed, the :func:`claim_variants`' for each extra seed."""
    extra = seed_count(cfg) - 1
    return len(spectrum_points(cfg)) + extra * len(spectrum_points(cfg, claim_variants(cfg)))


def check_config(cfg: Mapping[str, Any]) -> None:
    """Every cross-key check, in the order of the pipeline; the first failure is raised."""
    check_training(cfg)
    check_kept_fraction(cfg)
    check_rehearsal(cfg)
    check_linearized(cfg)
    check_hessian_operator(cfg)
    check_conventions(cfg)
    check_quantum_config(cfg["quantum"])


def merge_config(base: Mapping[str, Any], *overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with each of ``overrides`` merged in, as Snakemake merges config files: mappings
    key by key (recursively), anything else (numbers, lists) replaced whole."""
    out = copy.deepcopy(dict(base))
    for override in overrides:
        for key, value in override.items():
            if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
                out[key] = merge_config(out[key], value)
            else:
                out[key] = copy.deepcopy(value)
    return out


def from_section(cls: type[T], section: Mapping[str, Any]) -> T:
    """A typed settings record (a dataclass ``cls``) from a config section: the section's keys
    that are fields of ``cls``, lists as tuples."""
    names = {f.name for f in dataclasses.fields(cls)}
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in section.items() if k in names}
    return cls(**values)


# ---------------------------------------------------------------- strings where numbers belong
#: PyYAML's booleans (YAML 1.1), as Snakemake's nested ``--config`` values leave them: strings.
_BOOLEANS = {
    **dict.fromkeys(("true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"), True),
    **dict.fromkeys(("false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"), False),
}


def _types(schema: Mapping[str, Any]) -> set[str]:
    kind = schema.get("type", ())
    return {kind} if isinstance(kind, str) else set(kind)


def _number_hint(key: str, value: str, kind: str) -> str:
    """Why ``value`` is refused at ``key`` and how to write a number there."""
    example = "100" if kind == "integer" else "0.01"
    parts = (key.rsplit("[", 1)[0] if key.endswith("]") else key).split(".")
    name = parts[-1]
    shown = f"[{example}]" if key.endswith("]") else example
    nested = shown
    for part in reversed(parts[1:]):
        nested = f"{{{part}: {nested}}}"
    where = f"--config '{parts[0]}={nested}'" if len(parts) > 1 else f"--config {name}={shown}"
    words = "a whole number, e.g. 100" if kind == "integer" else "a number, e.g. 0.01 or 1.0e-2"
    return (
        f"config key {key} = {value!r} is not {'an' if kind == 'integer' else 'a'} {kind}: "
        f"write {words} (YAML: `{name}: {shown}`; command line: {where})"
    )


def _coerce_scalar(value: str, schema: Mapping[str, Any], key: str) -> Any:
    """``value`` as the schema's number, integer or boolean (unchanged when the schema allows a
    string, or wants none of these); :class:`ConfigError` when it cannot be one."""
    types = _types(schema)
    if "string" in types:
        return value
    text = value.strip()
    if "null" in types and text in ("", "~", "null", "Null", "NULL"):
        return None
    if types & {"number", "integer"}:
        kind = "number" if "number" in types else "integer"
        try:
            return int(text)
        except ValueError:
            pass
        try:
            number = float(text)
        except ValueError:
            raise ConfigError(_number_hint(key, value, kind)) from None
        if not math.isfinite(number):
            raise ConfigError(_number_hint(key, value, kind) + "; it must be finite")
        if kind == "integer":
            if not number.is_integer():
                raise ConfigError(_number_hint(key, value, kind))
            return int(number)
        return number
    if "boolean" in types and text in _BOOLEANS:
        return _BOOLEANS[text]
    return value


def _coerce(value: Any, schema: Mapping[str, Any], key: str, changed: list[str]) -> Any:
    if isinstance(value, str):
        new = _coerce_scalar(value, schema, key)
        if new is not value:
            changed.append(key)
        return new
    if isinstance(value, MutableMapping):
        for name, sub in schema.get("properties", {}).items():
            if name in value:
                value[name] = _coerce(value[name], sub, f"{key}.{name}" if key else name, changed)
        return value
    if isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        return [_coerce(v, schema["items"], f"{key}[{i}]", changed) for i, v in enumerate(value)]
    return value


def coerce_config_types(cfg: MutableMapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    """Turn strings into the numbers, integers and booleans ``schema`` (the workflow's JSON
    schema) asks for, in place, and return the dotted keys changed.

    Snakemake passes nested ``--config`` values as strings (``--config 'prune={keep_fraction:
    0.2}'`` gives ``'0.2'``) and PyYAML reads ``1e-2`` (no dot) as a string. A string that parses
    as a finite number where the schema says ``number`` (or as a whole number where it says
    ``integer``) becomes that number; ``true``/``false`` (YAML 1.1 spellings) become booleans
    where it says ``boolean``. A string where a number belongs that is not one raises
    :class:`ConfigError` naming the key and how to write it; anything else is left as it is for
    the schema's validation.
    """
    changed: list[str] = []
    _coerce(cfg, schema, "", changed)
    return changed
