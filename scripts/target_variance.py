"""Snakemake script: per reporter of the split, the sampling variance of its target from resampled reads."""

from pathlib import Path

from decaylm.errors import one_line_errors
from decaylm.io import read_tsv, write_tsv
from decaylm.logs import setup_logging
from decaylm.noise import VARIANCE_RESAMPLES, target_variance
from decaylm.sources import read_raw

with one_line_errors(snakemake.log[0]):
    setup_logging(snakemake.log[0])
    data, settings = snakemake.params.data, snakemake.params.evaluate
    raw = read_raw(data, Path(snakemake.input.counts).parent)
    table = target_variance(raw, read_tsv(snakemake.input.split)["id"], data, snakemake.params.target,
                            VARIANCE_RESAMPLES, settings["seed"], settings["noise_windows"],
                            settings["noise_degree"])
    write_tsv(table, snakemake.output[0])
