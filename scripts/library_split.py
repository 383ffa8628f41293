"""Snakemake script: the shared split + one library's target -> that library's split.tsv."""

import logging

from decaylm.errors import one_line_errors
from decaylm.io import read_tsv, write_tsv
from decaylm.libraries import library_split
from decaylm.logs import setup_logging

with one_line_errors(snakemake.log[0]):
    setup_logging(snakemake.log[0])
    split = library_split(read_tsv(snakemake.input.split), read_tsv(snakemake.input.target))
    logging.info("library %s: %s of the shared split", snakemake.wildcards.library, split["split"].value_counts().to_dict())
    write_tsv(split, snakemake.output[0])
