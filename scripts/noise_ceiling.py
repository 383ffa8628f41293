"""Snakemake script: the noise ceiling of the target on the test reporters, from resampled reads."""

from decaylm.errors import one_line_errors
from decaylm.io import read_tsv, write_json
from decaylm.logs import setup_logging
from decaylm.noise import noise_ceiling, not_computed
from decaylm.sources import read_raw

with one_line_errors(snakemake.log[0]):
    setup_logging(snakemake.log[0])
    data, settings = snakemake.params.data, snakemake.params.evaluate
    if "counts" not in snakemake.input.keys():
        result = not_computed(data["source"])
    else:
        from pathlib import Path

        raw = read_raw(data, Path(snakemake.input.counts).parent)
        split = read_tsv(snakemake.input.split)
        result = noise_ceiling(raw, split.loc[split["split"] == "test", "id"], data, snakemake.params.target,
                               settings["noise_resamples"], settings["seed"], settings["noise_windows"],
                               settings["noise_degree"])
    write_json(result, snakemake.output[0])
