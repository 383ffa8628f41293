"""Snakemake script: simulate a UTR-seq MPRA (the default data source) in the real format.

params.sim: dict of decaylm.simulate.SimulationConfig fields (config key data.simulate);
output.counts / output.sequences / output.truth; log[0].
"""

import dataclasses

from decaylm.errors import one_line_errors
from decaylm.logs import setup_logging
from decaylm.simulate import config_from_params, simulate, write_outputs

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive
log_path = snakemake.log[0] if snakemake.log else None

with one_line_errors(log_path):
    logger = setup_logging(log_path)
    cfg = config_from_params(snakemake.params.sim)
    logger.info("simulation settings: %s", dataclasses.asdict(cfg))
    frames = simulate(cfg)
    write_outputs(frames, snakemake.output.counts, snakemake.output.sequences, snakemake.output.truth)
    counts, _, truth = frames
    logger.info(
        "wrote %d reporters + %d spike-ins x %d time points to %s",
        len(truth), len(counts) - len(truth), counts.shape[1] - 1, snakemake.output.counts,
    )
