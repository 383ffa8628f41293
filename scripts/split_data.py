"""Snakemake script: target table -> split table (adds split and group)."""

import logging

from decaylm.errors import one_line_errors
from decaylm.io import read_tsv, write_tsv
from decaylm.logs import setup_logging
from decaylm.split import split_table

with one_line_errors(snakemake.log[0]):
    setup_logging(snakemake.log[0])
    spec = snakemake.params.split
    split = split_table(read_tsv(snakemake.input[0]), spec["method"], spec["fractions"], spec["seed"],
                        spec["group_overlap_nt"])
    logging.info("split (%s): %s; %d groups, largest %d", spec["method"], split["split"].value_counts().to_dict(),
                 split["group"].nunique(), split["group"].value_counts().max())
    write_tsv(split, snakemake.output[0])
