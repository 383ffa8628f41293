"""Snakemake script: raw data -> log2 normalized expression table."""

from decaylm.errors import InputError, one_line_errors
from decaylm.expression import build_expression
from decaylm.io import write_tsv
from decaylm.logs import setup_logging

with one_line_errors(snakemake.log[0]):
    setup_logging(snakemake.log[0])
    raw_dir = None
    if "counts" in snakemake.input.keys():
        from pathlib import Path

        raw_dir = Path(snakemake.input.counts).parent
    library = snakemake.wildcards.get("library")
    try:
        expression = build_expression(snakemake.params.data, raw_dir)
    except InputError as error:  # name the library and its file: "no reporter left" is the library's problem
        if not library or error.where.startswith(str(list(snakemake.input)[0])):
            raise
        raise InputError(f"{list(snakemake.input)[0]} (library {library}, {error.where})", error.problem, error.fix) from None
    write_tsv(expression, snakemake.output[0])
