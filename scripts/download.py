"""Snakemake script: fetch one public UTR-seq file and check its sha256."""

from decaylm.download import fetch
from decaylm.errors import one_line_errors
from decaylm.logs import setup_logging

with one_line_errors(snakemake.log[0]):
    setup_logging(snakemake.log[0])
    fetch(snakemake.params.url, snakemake.params.sha256, snakemake.output[0])
