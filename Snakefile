# Reproduction of Liu et al., "Towards provably efficient quantum algorithms for large-scale
# machine-learning models", Nat. Commun. 15, 434 (2024).
#
#   snakemake --cores all                                   # preset `paper` (GPU + CIFAR-100)
#   snakemake --cores 2 --configfile config/smoke.yaml      # preset `smoke` (offline, CPU)
#   snakemake --cores 2 --configfile config/rehearsal.yaml  # the paper preset rehearsed (CPU)
#   snakemake results/smoke/seed_0/prune/sparsity.csv --cores 2 --configfile config/smoke.yaml
import os
import sys

from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version, validate

min_version("9.0")
SCHEMA = "workflow/schemas/config.schema.yaml"

# The library, importable in any environment (common.smk does the same for the scripts).
sys.path.insert(0, os.path.join(workflow.basedir, "src"))
from qtrain.run.config import ConfigError, coerce_config_types
from qtrain.run.config_files import ConfigFileError, check_config_files, load_schema

# Snakemake names neither the file nor the line of a config file it cannot parse: check the
# workflow's own config file first (`--configfile` files are parsed before the Snakefile runs).
try:
    check_config_files("config/config.yaml")
except ConfigFileError as error:
    raise WorkflowError(str(error)) from None


report: "workflow/report/workflow.rst"


configfile: "config/config.yaml"


# Nested --config values and YAML floats like 1e-2 arrive as strings: numbers where the schema
# wants numbers (qtrain.run.config.coerce_config_types), or a message saying how to write them.
try:
    coerce_config_types(config, load_schema(f"{workflow.basedir}/{SCHEMA}"))
except ConfigError as error:
    raise WorkflowError(str(error)) from None
validate(config, SCHEMA, set_default=True)


include: "workflow/rules/common.smk"
# Stage rule files (a file may use the rules of the files above it); what `all` builds comes
# from the config (final_targets() in common.smk), not from this order.
include: "workflow/rules/data.smk"
include: "workflow/rules/pretrain.smk"
include: "workflow/rules/prune.smk"
include: "workflow/rules/sparse_train.smk"
include: "workflow/rules/spectra.smk"
include: "workflow/rules/quantum.smk"
include: "workflow/rules/carleman.smk"
include: "workflow/rules/costs.smk"
include: "workflow/rules/rehearsal.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/claims.smk"
include: "workflow/rules/bench.smk"


# Rules of seconds that read small tables (fits, claims, figures, pages, summaries): on a
# cluster (profiles/slurm) the main Snakemake process runs them instead of queueing each as a
# job; training, spectra, sweeps and cost tables are submitted. A local run is unchanged.
localrules:
    all,
    bench,
    claims,
    provenance_summary,
    claims_carleman,
    claims_costs,
    claims_proxy,
    claims_quantum,
    claims_spectra,
    claims_training,
    fit_condition,
    fit_error_vs_order,
    fit_hhl_sweep,
    fit_tomography_sweep,
    fit_variant_difference,
    summarize_quantum_training,
    spectrum_densities,
    spectrum_masses,
    compare_proxy,
    cost_measured_inputs,
    figure_page,
    plot_fig1,
    plot_fig2a,
    plot_fig2b,
    plot_fig2c,
    plot_fig3,
    plot_figS1,
    plot_figS2,
    plot_figS3,
    plot_figS4,
    plot_figS5,
    plot_figS6,
    plot_figS7,
    plot_figS8,
    plot_figS9,
    plot_figS10,


rule all:
    default_target: True
    input:
        final_targets(),


rule bench:
    input:
        BENCH_TARGETS,
