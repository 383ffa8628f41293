"""Snakemake script: one comparison table (TSV and Markdown) with grouped-bootstrap intervals, paired
differences to the best row and the noise ceiling; a panel of all models, the R2-interval figure, and
R2 by read depth of the test reporters (table and figure; "not computed" where the data have no reads)."""

import json
import logging
from pathlib import Path

from decaylm.depth import depth_markdown, depth_summary, depth_table, write_depth
from decaylm.errors import one_line_errors
from decaylm.evaluate import (add_ceiling, add_intervals, comparison_table, ordered_columns, plot_intervals,
                              plot_panel, write_comparison)
from decaylm.io import read_tsv
from decaylm.logs import setup_logging
from decaylm.sources import read_raw

with one_line_errors(snakemake.log[0]):
    setup_logging(snakemake.log[0])
    settings = snakemake.params.evaluate
    metrics = [json.loads(Path(path).read_text()) for path in snakemake.input.metrics]
    predictions = {Path(p).parent.name: read_tsv(p) for p in snakemake.input.predictions}
    # a repeated model's row is scored by its repeats (decaylm/repeats.py); the panel shows their mean
    scored = {**predictions, **{m: [read_tsv(p) for p in paths] for m, paths in snakemake.params.repeats.items()}}
    ceiling = json.loads(Path(snakemake.input.ceiling).read_text())
    split = read_tsv(snakemake.input.split)
    table = add_intervals(comparison_table(metrics), scored, split, settings["bootstrap"], settings["seed"])
    table = ordered_columns(add_ceiling(table, ceiling))
    data, target = snakemake.params.data, snakemake.params.target
    # the reads (none for `table` data) as the noise ceiling reads them, to bin the test reporters by depth
    raw = read_raw(data, Path(snakemake.input.counts).parent) if "counts" in snakemake.input.keys() else None
    depth = depth_table(table, scored, split, raw, ceiling, data, target, settings["bootstrap"], settings["seed"])
    library = snakemake.wildcards.get("library")  # several libraries: link the side-by-side table
    footer = depth_markdown(depth, target)
    footer += f"\nLibrary {library}; all libraries side by side: [libraries.md](../libraries.md).\n" if library else ""
    write_comparison(table, snakemake.output.table, snakemake.output.markdown, ceiling, settings["bootstrap"],
                     footer=footer)
    tied = table.loc[table["tied_with_best"].fillna(False).astype(bool), "model"].tolist()
    logging.info("%d rows, %d bootstrap resamples of test groups (seed %d); tied with the best: %s; noise ceiling: %s",
                 len(table), settings["bootstrap"], settings["seed"], ", ".join(tied) or "none",
                 ceiling.get("r2_ceiling") if ceiling.get("status") == "ok" else ceiling.get("status"))
    plot_panel(predictions, list(table["model"]), snakemake.output.panel)
    plot_intervals(table, ceiling, snakemake.output.intervals)
    write_depth(depth, snakemake.output.depth, snakemake.output.depth_figure)
    logging.info("R2 by read depth: %s", depth_summary(depth))
