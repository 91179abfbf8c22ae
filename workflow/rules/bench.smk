# Benchmark rules (`make bench` = `snakemake bench`): CSV under results/bench/ (not per preset:
# benchmarks measure code, not science), summarized in docs/benchmarks.md.
# Each bench rule registers its CSV with register_bench().


rule bench_sparse_step:
    output:
        "results/bench/sparse_step.csv",
    log:
        "logs/bench/bench_sparse_step.log",
    conda:
        "../../envs/torch.yaml"
    threads: 2
    resources:
        gpu=1,
        mem_mb=8000,
        gpu_mem_mb=bench_gpu_mem_mb([{"depth": 8, "widen": 2, "batch": 512}], "train"),
    params:
        # CPU: the paper model at a small batch (batch 2048 needs > 20 GiB of activations
        # and about two minutes per step on 2 cores); on a GPU, make bench-gpu measures
        # batch 2048 (qtrain.bench.gpu).
        cases=[
            {"depth": 32, "widen": 4, "batch": 32, "repeats": 3},
            {"depth": 8, "widen": 2, "batch": 2048, "micro_batch": 512, "repeats": 3},
        ],
    script:
        "../scripts/bench_sparse_step.py"


register_bench(rules.bench_sparse_step.output)


# bench_quantum: growing Carleman block systems (random dissipative maps of degree 2) as
# (n, N, T), solved by statevector HHL at 8 clock qubits until one solve exceeds the budget;
# then one training window as (features, N, W, eps, solver, clock qubits): the largest cases of
# the smoke and paper grids, and the HHL path of the tiniest instance.
QUANTUM_BENCH_HHL = (
    [(2, 2, t) for t in (1, 3, 7)] + [(3, 2, 7)] + [(4, 2, t) for t in (7, 15, 31)]
)
QUANTUM_BENCH_WINDOWS = [
    (2, 3, 10, 0.01, "classical", 0),
    (3, 3, 20, 0.01, "classical", 0),
    (1, 3, 2, 0.01, "hhl", 7),
]


rule bench_quantum:
    output:
        "results/bench/quantum.csv",
    log:
        "logs/bench/bench_quantum.log",
    conda:
        "../../envs/quantum.yaml"
    params:
        hhl_sizes=QUANTUM_BENCH_HHL,
        hhl_clock_qubits=8,
        hhl_budget_s=60,
        windows=QUANTUM_BENCH_WINDOWS,
        repeats=3,
    script:
        "../scripts/bench_quantum.py"


register_bench(rules.bench_quantum.output)


# HVP cost against a gradient on the same batch, and a PyHessian-style baseline (issue:
# Hessian spectra). CPU: the paper model at a small batch (batch 2048 needs tens of GiB and
# minutes per HVP on 2 cores) plus the smoke-size model; on a GPU, batch 2048 directly.
# On a GPU the kept graphs of every chunk (reuse) sit beside a recomputed chunk: each case must
# fit one 80 GB GPU (ResNet-56-11: 128 samples, not 2048; make bench-gpu times it at scale).
BENCH_HVP_GPU_CASES = [
    {"depth": 32, "widen": 4, "batch": 2048, "micro_batch": 512, "repeats": 5},
    {"depth": 56, "widen": 11, "batch": 128, "micro_batch": 64, "repeats": 3},
]


rule bench_hvp:
    output:
        "results/bench/hvp.csv",
    log:
        "logs/bench/bench_hvp.log",
    conda:
        "../../envs/torch.yaml"
    threads: 2
    resources:
        gpu=1,
        mem_mb=16000,
        gpu_mem_mb=bench_gpu_mem_mb(BENCH_HVP_GPU_CASES, "hvp_reuse"),
    params:
        cpu_cases=[
            {"depth": 32, "widen": 4, "batch": 16, "repeats": 3},
            {"depth": 8, "widen": 2, "batch": 256, "repeats": 5},
        ],
        gpu_cases=BENCH_HVP_GPU_CASES,
        keep_fraction=qtrain_config.kept_fraction(config),
        spectrum_hvps=256 + 64,
        spectrum_batch=2048,
    script:
        "../scripts/bench_hvp.py"


register_bench(rules.bench_hvp.output)


# bench_carleman: building the discrete Carleman matrix C (degree-3 sparse random maps with
# 2 random non-zeros per row in each F_l) by the sparse recursion against the straightforward
# dense construction (every Kronecker term formed densely), as (n, N); the dense one only while
# its matrix fits in 1 GiB. Summarized in docs/benchmarks.md.
CARLEMAN_BENCH_CASES = [
    (4, 2),
    (4, 3),
    (4, 4),
    (8, 2),
    (8, 3),
    (8, 4),
    (16, 2),
    (16, 3),
    (32, 2),
    (32, 3),
    (64, 2),
    (64, 3),
]


rule bench_carleman:
    output:
        "results/bench/carleman.csv",
    log:
        "logs/bench/bench_carleman.log",
    conda:
        "../../envs/quantum.yaml"
    params:
        cases=CARLEMAN_BENCH_CASES,
        degree=3,
        row_nnz=2,
        dense_limit_mib=1024,
        repeats=3,
    script:
        "../scripts/bench_carleman.py"


register_bench(rules.bench_carleman.output)


# bench_hessian_scale (issue 14): a model pruned to 10% at its full parameter count on the
# machine it runs on (ResNet-56-11: 103,703,700 parameters; ResNet-32-4 beside it): gradient
# and HVP alternating, peak memory, a short Lanczos run over every coordinate, extrapolated to
# a paper spectrum. CPU: micro-batches of one or two images (minutes on 2 cores, a few GiB);
# GPU: larger batches. One job per model. Summarized in docs/benchmarks.md.
HESSIAN_SCALE_CASES = {
    "resnet56_11": {
        "cpu": {
            "depth": 56,
            "widen": 11,
            "batch": 1,
            "micro_batch": 1,
            "lanczos_steps": 8,
        },
        "gpu": {
            "depth": 56,
            "widen": 11,
            "batch": 256,
            "micro_batch": 64,
            "lanczos_steps": 16,
        },
    },
    "resnet32_4": {
        "cpu": {
            "depth": 32,
            "widen": 4,
            "batch": 4,
            "micro_batch": 2,
            "lanczos_steps": 16,
        },
        "gpu": {
            "depth": 32,
            "widen": 4,
            "batch": 2048,
            "micro_batch": 512,
            "lanczos_steps": 16,
        },
    },
}


rule bench_hessian_scale:
    output:
        "results/bench/hessian_scale/{model}.csv",
    log:
        "logs/bench/bench_hessian_scale/{model}.log",
    benchmark:
        "logs/bench/bench_hessian_scale/{model}.benchmark.tsv"
    wildcard_constraints:
        model="|".join(HESSIAN_SCALE_CASES),
    conda:
        "../../envs/torch.yaml"
    threads: 2
    resources:
        gpu=1,
        mem_mb=16000,
        gpu_mem_mb=bench_gpu_mem_mb([c["gpu"] for c in HESSIAN_SCALE_CASES.values()]),
    params:
        case=lambda wc: HESSIAN_SCALE_CASES[wc.model],
    script:
        "../scripts/bench_hessian_scale.py"


register_bench(expand(rules.bench_hessian_scale.output[0], model=HESSIAN_SCALE_CASES))


# bench_hvp_variants (issue 14): faster exact HVPs without holding the graph, side by side in
# one run: forward-over-reverse (torch.func), the same compiled (torch.compile), channels-last,
# bf16 autocast (not exact) against the autograd HVP (graph rebuilt / kept) and a gradient.
# CPU: compiling takes minutes, so the compiled variant runs on the small model only.
HVP_VARIANT_CASES = {
    "resnet8_2": {
        "cpu": {"depth": 8, "widen": 2, "batch": 64, "repeats": 3, "skip": []},
        "gpu": {"depth": 8, "widen": 2, "batch": 2048, "repeats": 3, "skip": []},
    },
    "resnet32_4": {
        "cpu": {
            "depth": 32,
            "widen": 4,
            "batch": 8,
            "repeats": 3,
            "skip": ["compile", "bf16"],
        },
        "gpu": {
            "depth": 32,
            "widen": 4,
            "batch": 2048,
            "micro_batch": 512,
            "repeats": 3,
            "skip": [],
        },
    },
}


rule bench_hvp_variants:
    output:
        "results/bench/hvp_variants/{case}.csv",
    log:
        "logs/bench/bench_hvp_variants/{case}.log",
    benchmark:
        "logs/bench/bench_hvp_variants/{case}.benchmark.tsv"
    wildcard_constraints:
        case="|".join(HVP_VARIANT_CASES),
    conda:
        "../../envs/torch.yaml"
    threads: 2
    resources:
        gpu=1,
        mem_mb=8000,
        gpu_mem_mb=bench_gpu_mem_mb([c["gpu"] for c in HVP_VARIANT_CASES.values()]),
    params:
        case=lambda wc: HVP_VARIANT_CASES[wc.case],
        keep_fraction=qtrain_config.kept_fraction(config),
    script:
        "../scripts/bench_hvp_variants.py"


register_bench(expand(rules.bench_hvp_variants.output[0], case=HVP_VARIANT_CASES))


# bench_memory (issue 14): the fit behind qtrain.run.resources's memory model (ACTIVATION_COPIES): peak
# memory of a training step and of an exact HVP (eval / train BN; train BN also segmented, the
# exact low-memory path) at two batch sizes; the slope per sample in units of the model's
# float32 activation bytes.
MEMORY_BENCH_MODELS = [(20, 2), (32, 4), (56, 1)]


rule bench_memory:
    output:
        "results/bench/memory.csv",
    log:
        "logs/bench/bench_memory.log",
    benchmark:
        "logs/bench/bench_memory.benchmark.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: 2
    resources:
        gpu=1,
        mem_mb=8000,
        gpu_mem_mb=bench_gpu_mem_mb(
            [{"depth": d, "widen": w, "batch": 192} for d, w in MEMORY_BENCH_MODELS],
            "hvp_train",
        ),
    params:
        models=MEMORY_BENCH_MODELS,
        kinds=["train", "hvp_eval", "hvp_train", "hvp_segmented"],
        cpu_batches=[2, 6],
        gpu_batches=[64, 192],
    script:
        "../scripts/bench_memory.py"


register_bench(rules.bench_memory.output)
