"""Snakemake script: one table and one figure comparing the trained tokenizers (rule tokenizer_stats)."""

from pathlib import Path

from decaylm.errors import one_line_errors
from decaylm.io import read_tsv, write_tsv
from decaylm.logs import setup_logging
from decaylm.tokenizers import plot_token_counts, token_count_table, tokenizer_stats

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with one_line_errors(snakemake.log[0]):
    log = setup_logging(snakemake.log[0])
    split = read_tsv(snakemake.input.split)
    dirs = {name: Path(path).parent for name, path in zip(snakemake.params.names, snakemake.input.tokenizers)}
    table = tokenizer_stats(dirs, split)
    write_tsv(table, snakemake.output.table)
    log.info("tokenizer stats:\n%s", table.to_string(index=False))
    plot_token_counts(token_count_table(dirs, split["sequence"]), snakemake.output.figure)
