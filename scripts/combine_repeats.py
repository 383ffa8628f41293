"""Snakemake script: a repeated model's folder from its repeats (mean prediction, repeats.tsv, model.json)."""

import logging
from pathlib import Path

from decaylm.errors import one_line_errors
from decaylm.logs import setup_logging
from decaylm.repeats import combine_repeats

with one_line_errors(snakemake.log[0]):
    setup_logging(snakemake.log[0])
    record = combine_repeats(snakemake.wildcards.model, list(snakemake.input.predictions), list(snakemake.input.runs),
                             Path(snakemake.output.predictions).parent)
    logging.info("%s: %d repeats (seeds %s) combined", snakemake.wildcards.model, record["repeats"], record["seeds"])
