"""Snakemake script: a repeat_ensemble row, the mean of one model's repeats as one model."""

import logging
from pathlib import Path

from decaylm.errors import one_line_errors
from decaylm.logs import setup_logging
from decaylm.repeats import repeat_ensemble

with one_line_errors(snakemake.log[0]):
    setup_logging(snakemake.log[0])
    repeat_ensemble(snakemake.wildcards.model, Path(snakemake.input.run).parent, Path(snakemake.output.predictions).parent)
    logging.info("%s: the mean of the repeats of %s", snakemake.wildcards.model, Path(snakemake.input.run).parent.name)
