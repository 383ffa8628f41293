"""Snakemake script: test metrics and a predicted-vs-measured figure for one model."""

import json

from decaylm.errors import one_line_errors
from decaylm.evaluate import model_metrics, plot_predictions, repeat_metrics
from decaylm.io import read_tsv, write_json
from decaylm.logs import setup_logging

with one_line_errors(snakemake.log[0]):
    setup_logging(snakemake.log[0])
    predictions = read_tsv(snakemake.input.predictions)
    run = json.loads(open(snakemake.input.run).read())
    truth = read_tsv(snakemake.input.truth[0]) if snakemake.input.truth else None
    model = snakemake.wildcards.model
    if snakemake.input.repeats:  # a repeated model: the mean of its repeats' metrics (decaylm/repeats.py)
        metrics = repeat_metrics(model, [read_tsv(path) for path in snakemake.input.repeats], run, truth,
                                 target=snakemake.params.target)
    else:
        metrics = model_metrics(model, predictions, run, truth, target=snakemake.params.target)
    write_json(metrics, snakemake.output.metrics)
    plot_predictions(predictions, model, snakemake.output.figure)
