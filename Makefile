# Set-up and entry points. Every target creates .venv and installs the project when missing.
#   make smoke   the smoke reproduction (offline, 2 CPU cores, about 10 minutes)
#   make test    the unit tests and the tests reading one shared tiny run (-m "not e2e")
#   make test-all  every test in one session (e2e too: extra runs, kill/resume, SLURM,
#                browser, torch.compile); what CI runs (.ci/run)
#   make paper   the paper preset (GPU + CIFAR-100; hours)
#   make lint    ruff, snakefmt --check, snakemake --lint
#   make report  one self-contained HTML page of the smoke run (PRESET=paper for the paper run)
#   make bench   benchmarks (CSV under results/bench/)
#   make bench-docs  render the CPU benchmark CSVs into docs/benchmarks.md (marked sections)
#   make bench-gpu   the prepared GPU benchmark: one GPU, about 5-8 minutes; CSVs under
#                    results/bench/gpu/, GPU rows of src/qtrain/gpu_costs.csv, docs tables
#   make results-page  copy the smoke figures (PNG) and claims table into docs/results/ (README)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= 2
PRESET ?= smoke
SNAKEMAKE := $(BIN)/snakemake
CONFIG_smoke := --configfile config/smoke.yaml
CONFIG_paper :=
# Snakemake parses a --configfile before the workflow and names neither the file nor the line of
# a YAML error in it: check the file first (qtrain.config_files says file, line and column).
CHECK_CONFIG = $(BIN)/python -m qtrain.config_files $(filter-out --configfile,$(1))

.PHONY: install smoke paper test test-all lint report bench bench-docs bench-gpu data clean-smoke results-page

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

smoke: install
	$(call CHECK_CONFIG,$(CONFIG_smoke))
	$(SNAKEMAKE) --cores $(CORES) --configfile config/smoke.yaml

paper: install
	$(SNAKEMAKE) --cores all

data: install
	$(SNAKEMAKE) --cores 1 results/paper/data/summary.json

# Test tiers (tests/tiers.py): -m "not slow" units; make test adds the shared tiny run;
# make test-all adds the e2e tests.
test: install
	$(BIN)/pytest -m "not e2e"

test-all: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakefmt --check Snakefile workflow
	$(SNAKEMAKE) --lint

report: install
	$(call CHECK_CONFIG,$(CONFIG_$(PRESET)))
	$(SNAKEMAKE) --cores $(CORES) $(CONFIG_$(PRESET)) --report results/$(PRESET)/report.html

bench: install
	$(call CHECK_CONFIG,$(CONFIG_smoke))
	$(SNAKEMAKE) --cores $(CORES) $(CONFIG_smoke) bench

BENCH_CSV := results/bench
bench-docs: install
	$(BIN)/python -m qtrain.bench_report --section hessian-scale $(BENCH_CSV)/hessian_scale/*.csv
	$(BIN)/python -m qtrain.bench_report --section hvp-variants $(BENCH_CSV)/hvp_variants/*.csv
	$(BIN)/python -m qtrain.bench_report --section memory-model $(BENCH_CSV)/memory.csv
	$(BIN)/python -m qtrain.bench_report --extrapolate-costs $(BENCH_CSV)/hvp_variants/resnet32_4.csv

bench-gpu: install
	$(BIN)/python -m qtrain.bench_gpu --out $(BENCH_CSV)/gpu --costs src/qtrain/gpu_costs.csv

clean-smoke:
	rm -rf results/smoke logs/smoke

# The README's "Results" section shows these files: a real smoke run's figures and claims.
results-page: smoke
	rm -rf docs/results/smoke && mkdir -p docs/results/smoke
	cp results/smoke/figures/*.png results/smoke/claims.md results/smoke/claims.csv docs/results/smoke/
	cp results/smoke/provenance.csv docs/results/smoke/
