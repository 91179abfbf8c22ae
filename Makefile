# Set-up and entry points. `make` alone prints this list; every other target creates .venv and
# installs the locked versions (requirements.lock) when missing.
#   make install  .venv: the project and the locked versions of its dependencies (3 min, 6 GB)
#   make smoke   the smoke reproduction (offline, 2 CPU cores, about 10 minutes)
#   make test    the unit tests and the tests reading one shared tiny run (-m "not e2e")
#   make test-all  every test in one session (e2e too: extra runs, kill/resume, SLURM,
#                browser, torch.compile); what CI runs (.ci/run)
#   make paper   the paper preset (GPU + CIFAR-100; hours)
#   make rehearsal  the paper preset rehearsed on the CPU: the paper's models in full, synthetic
#                CIFAR-100-format data, tiny counts (results/rehearsal/, not a result)
#   make lint    ruff, snakefmt --check, snakemake --lint
#   make report  one self-contained HTML page of the smoke run (PRESET=paper for the paper run)
#   make bench   benchmarks (CSV under results/bench/)
#   make bench-docs  render the CPU benchmark CSVs into docs/benchmarks.md (marked sections)
#   make bench-gpu   the prepared GPU benchmark: one GPU, about 5-8 minutes; CSVs under
#                    results/bench/gpu/, GPU rows of src/qtrain/run/gpu_costs.csv, docs tables
#   make data    download CIFAR-100 (the paper preset's data)
#   make results-page  copy the smoke figures (PNG) and claims table into docs/results/ (README)
#   make lock    regenerate requirements.lock and envs/*.yaml (fresh venv, pyproject's ranges)
#   make clean-smoke  delete results/smoke and logs/smoke
#   make clean-rehearsal  delete results/rehearsal and logs/rehearsal
#   make help    this list
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= 2
PRESET ?= smoke
SNAKEMAKE := $(BIN)/snakemake
CONFIG_smoke := --configfile config/smoke.yaml
CONFIG_paper :=
CONFIG_rehearsal := --configfile config/rehearsal.yaml
# Snakemake parses a --configfile before the workflow and names neither the file nor the line of
# a YAML error in it: check the file first (qtrain.run.config_files says file, line and column).
CHECK_CONFIG = $(BIN)/python -m qtrain.run.config_files $(filter-out --configfile,$(1))

.DEFAULT_GOAL := help
.PHONY: help install lock smoke paper rehearsal test test-all lint report bench bench-docs bench-gpu data clean-smoke clean-rehearsal results-page

# The comment block at the top of this file, without its comment marks.
help:
	@awk 'NR > 1 && !/^#/ {exit} {sub(/^# ?/, ""); print}' $(firstword $(MAKEFILE_LIST))

install: $(VENV)/.installed

# The locked install: exactly the versions of requirements.lock, then the project without
# resolving anything (pip check: the lock satisfies pyproject.toml). `make lock` regenerates it.
LOCK := requirements.lock
$(VENV)/.installed: pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m pip check || { echo "$(LOCK) does not satisfy pyproject.toml: run make lock" >&2; exit 1; }
	touch $@

# A fresh venv installs the project within pyproject.toml's ranges (pip chooses the newest
# versions it can reach); its pip freeze becomes the lock, and envs/*.yaml are rewritten from it.
LOCK_VENV := .venv-lock
lock:
	rm -rf $(LOCK_VENV)
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --quiet -e '.[dev]'
	$(LOCK_VENV)/bin/python -m qtrain.run.envs lock $(LOCK)
	$(LOCK_VENV)/bin/python -m qtrain.run.envs envs $(LOCK)
	rm -rf $(LOCK_VENV)
	@echo "$(LOCK) and envs/*.yaml regenerated; make install now installs them into $(VENV)"

smoke: install
	$(call CHECK_CONFIG,$(CONFIG_smoke))
	$(SNAKEMAKE) --cores $(CORES) --configfile config/smoke.yaml

paper: install
	$(SNAKEMAKE) --cores all

rehearsal: install
	$(call CHECK_CONFIG,$(CONFIG_rehearsal))
	$(SNAKEMAKE) --cores $(CORES) $(CONFIG_rehearsal)
	$(SNAKEMAKE) --cores $(CORES) $(CONFIG_rehearsal) --report results/rehearsal/report.html

data: install
	$(SNAKEMAKE) --cores 1 results/paper/data/summary.json

# Test tiers (tests/tiers.py): -m "not slow" units; make test adds the shared tiny run;
# make test-all adds the e2e tests.
test: install
	$(BIN)/pytest -m "not e2e" --durations=15

test-all: install
	$(BIN)/pytest --durations=30

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakefmt --check Snakefile workflow
	$(SNAKEMAKE) --lint
	$(SNAKEMAKE) --lint $(CONFIG_rehearsal)  # the rules only a rehearsal defines

report: install
	$(call CHECK_CONFIG,$(CONFIG_$(PRESET)))
	$(SNAKEMAKE) --cores $(CORES) $(CONFIG_$(PRESET)) --report results/$(PRESET)/report.html

# The target comes before --configfile, which takes several files (`bench` after it is a file).
bench: install
	$(call CHECK_CONFIG,$(CONFIG_smoke))
	$(SNAKEMAKE) bench --cores $(CORES) $(CONFIG_smoke)

BENCH_CSV := results/bench
bench-docs: install
	$(BIN)/python -m qtrain.bench.report --section hessian-scale $(BENCH_CSV)/hessian_scale/*.csv
	$(BIN)/python -m qtrain.bench.report --section hvp-variants $(BENCH_CSV)/hvp_variants/*.csv
	$(BIN)/python -m qtrain.bench.report --section memory-model $(BENCH_CSV)/memory.csv
	$(BIN)/python -m qtrain.bench.report --extrapolate-costs $(BENCH_CSV)/hvp_variants/resnet32_4.csv

bench-gpu: install
	$(BIN)/python -m qtrain.bench.gpu --out $(BENCH_CSV)/gpu --costs src/qtrain/run/gpu_costs.csv

clean-smoke:
	rm -rf results/smoke logs/smoke

clean-rehearsal:
	rm -rf results/rehearsal logs/rehearsal

# The README's "Results" section shows these files: a real smoke run's figures and claims.
results-page: smoke
	rm -rf docs/results/smoke && mkdir -p docs/results/smoke
	cp results/smoke/figures/*.png results/smoke/claims.md results/smoke/claims.csv docs/results/smoke/
	cp results/smoke/provenance.csv docs/results/smoke/
