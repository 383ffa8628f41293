"""Snakemake script: split.tsv -> one fraction's nested subset of the training reporters (rule learning_curve_split)."""

import logging

from decaylm.errors import one_line_errors
from decaylm.learning_curve import write_training_subset
from decaylm.logs import setup_logging

with one_line_errors(snakemake.log[0]):
    setup_logging(snakemake.log[0])
    fraction = float(snakemake.wildcards.fraction)
    counts = write_training_subset(snakemake.input[0], snakemake.output[0], fraction, snakemake.params.seed)
    logging.info("fraction %g (seed %d): %s reporters per part", fraction, snakemake.params.seed, counts)
