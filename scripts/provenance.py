"""Snakemake script: record the resolved config, versions and git commit of this run."""

from decaylm.errors import one_line_errors
from decaylm.io import write_json
from decaylm.provenance import provenance

with one_line_errors(snakemake.log[0]):
    write_json(provenance(snakemake.params.config, snakemake.params.config.get("seed"), snakemake.params.repo),
               snakemake.output[0])
