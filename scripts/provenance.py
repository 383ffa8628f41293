"""Snakemake script: record the resolved config, versions and git commit of this run."""

from decaylm.io import write_json
from decaylm.provenance import provenance

write_json(provenance(snakemake.params.config, snakemake.params.config.get("seed"), snakemake.params.repo),
           snakemake.output[0])
