# Benchmark rules (`make bench` = `snakemake bench`): CSV under results/bench/ (not per preset:
# benchmarks measure code, not science), summarized in docs/benchmarks.md.
# Each bench rule registers its CSV with register_bench().
