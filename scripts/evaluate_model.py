"""Snakemake script: test metrics and a predicted-vs-measured figure for one model."""

import json

from decaylm.errors import one_line_errors
from decaylm.evaluate import model_metrics, plot_predictions
from decaylm.io import read_tsv, write_json
from decaylm.logs import setup_logging

with one_line_errors(snakemake.log[0]):
    setup_logging(snakemake.log[0])
    predictions = read_tsv(snakemake.input.predictions)
    run = json.loads(open(snakemake.input.run).read())
    truth = read_tsv(snakemake.input.truth[0]) if snakemake.input.truth else None
    model = snakemake.wildcards.model
    write_json(model_metrics(model, predictions, run, truth), snakemake.output.metrics)
    plot_predictions(predictions, model, snakemake.output.figure)
