"""Snakemake script: each library's target table -> the reporters of every library (id, sequence, y of the
first library, y_NAME of each), from which the one shared split is made."""

from decaylm.errors import one_line_errors
from decaylm.io import read_tsv, write_tsv
from decaylm.libraries import joint_table
from decaylm.logs import setup_logging

with one_line_errors(snakemake.log[0]):
    setup_logging(snakemake.log[0])
    names = snakemake.params.libraries
    targets = {name: read_tsv(path) for name, path in zip(names, snakemake.input)}
    table = joint_table(targets, snakemake.params.sources)
    table.insert(2, "y", table[f"y_{names[0]}"])  # data-driven tokenizers (rbp_data) rank motifs by the first's
    write_tsv(table, snakemake.output[0])
