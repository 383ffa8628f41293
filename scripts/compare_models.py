"""Snakemake script: one comparison table (TSV and Markdown) and a panel of all models."""

import json
from pathlib import Path

from decaylm.errors import one_line_errors
from decaylm.evaluate import comparison_table, plot_panel, write_comparison
from decaylm.io import read_tsv
from decaylm.logs import setup_logging

with one_line_errors(snakemake.log[0]):
    setup_logging(snakemake.log[0])
    metrics = [json.loads(Path(path).read_text()) for path in snakemake.input.metrics]
    table = comparison_table(metrics)
    write_comparison(table, snakemake.output.table, snakemake.output.markdown)
    predictions = {Path(p).parent.name: read_tsv(p) for p in snakemake.input.predictions}
    plot_panel(predictions, list(table["model"]), snakemake.output.panel)
