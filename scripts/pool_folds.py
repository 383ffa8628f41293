"""Snakemake script: a model's out-of-fold predictions, pooled over the folds (decaylm/folds.py)."""

import logging
from pathlib import Path

from decaylm.errors import one_line_errors
from decaylm.folds import pool_folds
from decaylm.logs import setup_logging

with one_line_errors(snakemake.log[0]):
    setup_logging(snakemake.log[0])
    record = pool_folds(snakemake.wildcards.model, list(snakemake.input.predictions), list(snakemake.input.runs),
                        Path(snakemake.output.predictions).parent)
    logging.info("%s: %d folds pooled", snakemake.wildcards.model, record["folds"])
