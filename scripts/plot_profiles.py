"""Snakemake script: the profile figure of one predict.sequences input, every model's windows.

input.windows: one window table per model (rule predict_sequences); input.sequences (for the
lengths); input.elements: [] or the planted elements (id, kind, start, end); output[0]; log[0].
"""

import pandas as pd

from decaylm.errors import one_line_errors
from decaylm.io import read_tsv
from decaylm.logs import setup_logging
from decaylm.profiles import plot_profiles, windows_long
from decaylm.sequences import read_sequences

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with one_line_errors(snakemake.log[0]):
    logger = setup_logging(snakemake.log[0])
    windows = pd.concat([windows_long(read_tsv(path)) for path in snakemake.input.windows], ignore_index=True)
    sequences = read_sequences(snakemake.input.sequences)
    elements = read_tsv(snakemake.input.elements[0]) if snakemake.input.elements else None
    shown = plot_profiles(windows, snakemake.output[0], elements=elements,
                          lengths=dict(zip(sequences["id"], sequences["sequence"].str.len())),
                          title=f"{snakemake.wildcards.name}: predicted degradation along each sequence")
    logger.info("drew %d of %d sequences, %d model(s), to %s", len(shown), len(sequences),
                windows["model"].nunique(), snakemake.output[0])
