"""Snakemake script: target table -> split table (adds split and group)."""

import logging

from decaylm.errors import one_line_errors
from decaylm.io import read_tsv, write_tsv
from decaylm.logs import setup_logging
from decaylm.split import (
    count_test_leaks,
    read_split_file,
    split_from_file,
    split_table,
)

with one_line_errors(snakemake.log[0]):
    setup_logging(snakemake.log[0])
    spec = snakemake.params.split
    target = read_tsv(snakemake.input[0])
    if spec["method"] == "file":
        assignment = read_split_file(spec["file"], spec.get("id_column", "id"), spec.get("part_column", "part"))
        split = split_from_file(target, assignment, spec["group_overlap_nt"], spec.get("missing", "error"),
                                source=spec["file"])
        logging.info("test reporters sharing %d+ nt with a training reporter: %d", spec["group_overlap_nt"],
                     count_test_leaks(split, spec["group_overlap_nt"]))
    else:
        split = split_table(target, spec["method"], spec["fractions"], spec["seed"], spec["group_overlap_nt"])
    logging.info("split (%s): %s; %d groups, largest %d", spec["method"], split["split"].value_counts().to_dict(),
                 split["group"].nunique(), split["group"].value_counts().max())
    write_tsv(split, snakemake.output[0])
