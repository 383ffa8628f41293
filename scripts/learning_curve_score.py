"""Snakemake script: every (row, fraction) of the learning curve scored on test -> learning_curve.tsv and its figure."""

import logging

from decaylm.errors import one_line_errors
from decaylm.io import read_json, read_tsv, write_tsv
from decaylm.learning_curve import FULL, fraction_label, plot_curve, score_curve
from decaylm.logs import setup_logging

with one_line_errors(snakemake.log[0]):
    setup_logging(snakemake.log[0])
    split = read_tsv(snakemake.input.split)
    splits = {FULL: split} | {float(label): read_tsv(path) for label, path in zip(snakemake.params.fractions,
                                                                                  snakemake.input.splits)}
    points = [(model, float(fraction)) for model, fraction in snakemake.params.points]
    settings = snakemake.params.evaluate
    table = score_curve(points, [read_tsv(path) for path in snakemake.input.predictions],
                        [read_json(path) for path in snakemake.input.runs],
                        [int((splits[fraction]["split"] == "train").sum()) for _, fraction in points],
                        split, settings["bootstrap"], settings["seed"])
    write_tsv(table, snakemake.output.table)
    plot_curve(table, snakemake.output.figure)
    for fraction, rows in table.groupby("fraction"):
        ranking = rows.sort_values("rank")
        logging.info("fraction %s (%d training reporters): %s", fraction_label(fraction), rows["n_train"].iloc[0],
                     ", ".join(f"{m} {r:.3f}" for m, r in zip(ranking["model"], ranking["test_r2"])))
