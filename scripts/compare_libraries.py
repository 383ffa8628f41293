"""Snakemake script: each library's comparison, target and split -> libraries.tsv and libraries.md."""

import logging

from decaylm.errors import one_line_errors
from decaylm.io import read_tsv, write_text, write_tsv
from decaylm.libraries import library_summary, summary_markdown
from decaylm.logs import setup_logging

with one_line_errors(snakemake.log[0]):
    setup_logging(snakemake.log[0])
    names = snakemake.params.libraries

    def by_library(paths):
        return {name: read_tsv(path) for name, path in zip(names, paths)}

    models, facts = library_summary(names, by_library(snakemake.input.comparisons), by_library(snakemake.input.targets),
                                    by_library(snakemake.input.splits))
    write_tsv(models, snakemake.output.table)
    write_text(summary_markdown(models, facts, names), snakemake.output.markdown)
    logging.info("libraries %s: %d model rows\n%s", ", ".join(names), len(models), facts.to_string(index=False))
