# Figure rules: one rule per figure; figures read small tables, never models.
# Each figure rule registers its outputs with register_targets().
