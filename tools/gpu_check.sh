#!/usr/bin/env bash
# The prepared GPU check (issue 23), for the day a GPU is lent: one command, one GPU, about ten
# minutes, measured rows ready to commit. It never waits for a GPU: without one it stops at once.
#
#   1. `make bench-gpu`'s measurements (python -m qtrain.bench.gpu --skip-compile): the paper's
#      models at batch 2048 (HVP variants, memory-model constants on this GPU, SGD steps, the
#      Hessian at scale); they rewrite the GPU rows of src/qtrain/run/gpu_costs.csv (the start-up
#      estimate then uses them) and the gpu-* sections of docs/benchmarks.md.
#   2. The rehearsal's network rules on the GPU (config/rehearsal.yaml: ResNet-32-4 and
#      ResNet-56-11 in full, synthetic CIFAR-100-format data, tiny counts): every job's peak GPU
#      memory (torch's peak reserved) against the memory model of qtrain.run.resources, in
#      results/rehearsal/memory/memory.csv and the gpu-rehearsal-memory section of
#      docs/benchmarks.md; the start-up estimate in results/rehearsal/estimate/gpu_hours.csv.
#
# The GPU machine of this project has python3 with torch and torchvision but no snakemake and
# no package index. Snakemake comes from, in order: this tree's .venv, the PATH, or the wheels
# in .whl/ (made here beforehand with --wheels, about 26 MB, carried with the tree) installed
# into a venv that sees the system's torch.
#
# Usage:
#   tools/gpu_check.sh --wheels       here: fill .whl/ (git-ignored) with snakemake's wheels for
#                                     the GPU machine's Python (PY_VERSION, default 3.12)
#   tools/gpu_check.sh [STAGE]        on the GPU machine, from the repository root: STAGE is
#                                     rehearsal, bench or all (default: the rehearsal first,
#                                     then bench-gpu); with $OUT set (the device tool) the
#                                     results are copied there too (at most 8 files)
#   tools/gpu_check.sh --collect DIR  here: put the files a GPU run returned (DIR) in place,
#                                     ready for `git add` (gpu_costs.csv, docs/benchmarks.md,
#                                     docs/results/rehearsal_gpu/)
# Time limits (seconds, environment): REHEARSAL_LIMIT (default 240), BENCH_LIMIT (default 300):
# with the start-up both fit one 10-minute command of the device tool. bench-gpu writes each
# step's CSV as it goes; cut off, the finished steps come back (--collect renders them).
# With the device tool: run(command="tools/gpu_check.sh", carry=[".whl"], timeout_s=600).
set -euo pipefail

cd "$(dirname "$0")/.."
SNAKEMAKE_VERSION=9.27.1
PY_VERSION=${PY_VERSION:-3.12}
WHEELS=${WHEELS:-.whl}

wheels() {
    # snakemake and every package it needs, at the versions this tree's .venv resolved (tested
    # together): pure-Python ones as wheels built here, compiled ones downloaded for the GPU
    # machine's Python. There, pip takes what the system already has where it fits.
    local pip=${PIP:-.venv/bin/pip}
    mkdir -p "$WHEELS"
    local listing
    listing=$(.venv/bin/python - "$PY_VERSION" <<'PYEOF'
import sys
from importlib.metadata import distribution

from packaging.requirements import Requirement

# the GPU machine's Python (its platform is this one's: Linux, x86_64)
env = {"python_version": sys.argv[1], "python_full_version": sys.argv[1] + ".0", "extra": ""}
seen, todo = {}, ["snakemake"]
while todo:
    dist = distribution(todo.pop())
    key = dist.metadata["Name"].lower()
    if key in seen:
        continue
    pure = "Root-Is-Purelib: true" in (dist.read_text("WHEEL") or "")
    seen[key] = (f"{dist.metadata['Name']}=={dist.version}", pure)
    for text in dist.requires or []:
        req = Requirement(text)
        if req.marker is None or req.marker.evaluate(env):
            todo.append(req.name)
for spec, pure in sorted(seen.values()):
    print(("pure " if pure else "binary ") + spec)
PYEOF
)
    local pure binary
    pure=$(awk '$1 == "pure" {print $2}' <<<"$listing")
    binary=$(awk '$1 == "binary" {print $2}' <<<"$listing")
    # shellcheck disable=SC2086
    "$pip" wheel --quiet --no-deps -w "$WHEELS" $pure
    local platforms=(--platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64
                     --platform manylinux_2_28_x86_64 --platform manylinux_2_5_x86_64)
    # shellcheck disable=SC2086
    "$pip" download --quiet --no-deps --only-binary=:all: --implementation cp \
        --python-version "$PY_VERSION" "${platforms[@]}" -d "$WHEELS" $binary
    echo "$(wc -l <<<"$listing") packages:" $binary "(compiled)"
    du -sh "$WHEELS"
}

collect() {
    local dir=$1
    test -f "$dir/memory.csv" || { echo "no memory.csv in $dir" >&2; exit 1; }
    mkdir -p docs/results/rehearsal_gpu
    cp "$dir/memory.csv" "$dir/gpu_hours.csv" docs/results/rehearsal_gpu/
    [ -f "$dir/gpu_costs.csv" ] && cp "$dir/gpu_costs.csv" src/qtrain/run/gpu_costs.csv
    [ -f "$dir/benchmarks.md" ] && cp "$dir/benchmarks.md" docs/benchmarks.md
    [ -f "$dir/bench_gpu.tar.gz" ] && tar -xzf "$dir/bench_gpu.tar.gz"
    # the tables of whatever came back (a bench-gpu cut off by its limit rendered nothing)
    local py=.venv/bin/python csv kind
    PYTHONPATH=src "$py" -m qtrain.bench.report --section gpu-rehearsal-memory \
        --kind rehearsal-memory docs/results/rehearsal_gpu/memory.csv
    for csv in hvp_variants:hvp-variants memory:memory-model sparse_step:sparse-step \
        hessian_scale:hessian-scale; do
        kind=${csv#*:} csv=results/bench/gpu/${csv%%:*}.csv
        [ -f "$csv" ] && PYTHONPATH=src "$py" -m qtrain.bench.report --section "gpu-${kind/memory-model/memory}" \
            --kind "$kind" "$csv"
    done
    git status --short src/qtrain/run/gpu_costs.csv docs/benchmarks.md docs/results/rehearsal_gpu
}

find_snakemake() {
    # a python that runs snakemake with torch importable (printed); installs the wheels of .whl/
    # into a folder on PYTHONPATH if needed (a venv made from the GPU machine's python3, itself
    # a venv, would not see its torch)
    local candidate
    for candidate in .venv/bin/python python3; do
        if command -v "$candidate" >/dev/null &&
            "$candidate" -c "import snakemake, torch" 2>/dev/null; then
            echo "$candidate"
            return
        fi
    done
    test -d "$WHEELS" || { echo "no snakemake and no $WHEELS/ (run --wheels first)" >&2; return 1; }
    local target=${TMPDIR:-/tmp}/qtrain-snakemake
    python3 -m pip install --quiet --no-index --find-links "$WHEELS" --target "$target" \
        "snakemake==$SNAKEMAKE_VERSION" >&2
    export PYTHONPATH=$target:$PYTHONPATH
    python3 -c "import snakemake, torch" >&2
    echo python3
}

STAGE=all
case "${1:-}" in
    --wheels) wheels; exit 0 ;;
    --collect) collect "${2:?directory}"; exit 0 ;;
    ""|all) ;;
    rehearsal|bench) STAGE=$1 ;;
    *) sed -n '2,36p' "$0"; exit 2 ;;
esac

export PYTHONPATH=$PWD/src${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
PY=python3
[ -x .venv/bin/python ] && .venv/bin/python -c "import torch" 2>/dev/null && PY=.venv/bin/python
if ! "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    echo "gpu_check: no CUDA device visible to $PY: nothing measured (this script never waits)"
    exit 3
fi
nvidia-smi -L || true
mkdir -p logs/gpu_check
status=0

# 1. the rehearsal's network rules on the GPU, their memory against the model
if [ "$STAGE" != bench ]; then
    echo "== rehearsal $(date -u +%T)"
    find_snakemake >/tmp/qtrain-smk-python
    SMK_PY=$(cat /tmp/qtrain-smk-python)
    targets=(results/rehearsal/memory/memory.csv results/rehearsal/estimate/gpu_hours.csv)
    timeout "${REHEARSAL_LIMIT:-240}" "$SMK_PY" -m snakemake "${targets[@]}" --cores 8 \
        --resources gpu=2 --configfile config/rehearsal.yaml 2>&1 |
        tee logs/gpu_check/rehearsal.log || status=$?
    if [ -f results/rehearsal/memory/memory.csv ]; then
        "$PY" -m qtrain.bench.report --section gpu-rehearsal-memory --kind rehearsal-memory \
            results/rehearsal/memory/memory.csv
        "$PY" - <<'PYEOF'
import csv
rows = list(csv.DictReader(open("results/rehearsal/memory/memory.csv")))
for r in rows:
    print(f"{r['rule']:<18} {r['model']:<13} measured {r['measured_mb']:>9} MB "
          f"predicted {r['predicted_mb']:>9} MB ({r['measured']}, {r['device']})")
over = [r for r in rows if r["within"] == "False"]
print(f"{len(over)} job(s) above the memory model's margin")
PYEOF
    fi
fi

# 2. make bench-gpu (without its install step: the GPU machine has no package index)
if [ "$STAGE" != rehearsal ]; then
    echo "== bench-gpu $(date -u +%T)"
    timeout "${BENCH_LIMIT:-300}" "$PY" -m qtrain.bench.gpu --out results/bench/gpu \
        --costs src/qtrain/run/gpu_costs.csv --skip-compile 2>&1 | tee logs/gpu_check/bench_gpu.log ||
        status=$?
fi

# what comes back: at most 8 files (the device tool's limit)
if [ -n "${OUT:-}" ]; then
    for f in src/qtrain/run/gpu_costs.csv docs/benchmarks.md results/rehearsal/memory/memory.csv \
        results/rehearsal/estimate/gpu_hours.csv; do
        [ -f "$f" ] && cp "$f" "$OUT/"
    done
    [ -d results/bench/gpu ] && tar -czf "$OUT/bench_gpu.tar.gz" results/bench/gpu
    tar -czf "$OUT/logs.tar.gz" logs/gpu_check logs/rehearsal 2>/dev/null || true
fi
echo "== done $(date -u +%T), status $status"
exit "$status"
