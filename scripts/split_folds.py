"""Snakemake script: split.tsv's overlap groups -> one split per fold, and the pooled table of all reporters."""

import logging

from decaylm.errors import one_line_errors
from decaylm.folds import write_fold_splits
from decaylm.logs import setup_logging

with one_line_errors(snakemake.log[0]):
    setup_logging(snakemake.log[0])
    folds = [f"fold{k}" for k in range(1, snakemake.params.folds + 1)]
    counts = write_fold_splits(snakemake.input[0], dict(zip(folds, snakemake.output.folds)), snakemake.output.pooled,
                               snakemake.params.folds, snakemake.params.fractions, snakemake.params.seed)
    for fold, parts in counts.items():
        logging.info("%s: %s", fold, parts)
