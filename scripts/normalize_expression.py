"""Snakemake script: raw data -> log2 normalized expression table."""

from decaylm.errors import one_line_errors
from decaylm.expression import build_expression
from decaylm.io import write_tsv
from decaylm.logs import setup_logging

with one_line_errors(snakemake.log[0]):
    setup_logging(snakemake.log[0])
    raw_dir = None
    if "counts" in snakemake.input.keys():
        from pathlib import Path

        raw_dir = Path(snakemake.input.counts).parent
    write_tsv(build_expression(snakemake.params.data, raw_dir), snakemake.output[0])
