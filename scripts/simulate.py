"""Snakemake script: simulate a UTR-seq MPRA (the default data source) in the real format.

params.sim: dict of decaylm.simulate.SimulationConfig fields (config key data.simulate);
output.counts / output.sequences / output.truth, and (when the rule declares them)
output.long_utrs / output.long_truth: the long 3'UTRs with planted elements; log[0].
"""

import dataclasses

from decaylm.errors import one_line_errors
from decaylm.logs import setup_logging
from decaylm.simulate import config_from_params, simulate, simulate_long_utrs, write_long_utrs, write_outputs

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
    if getattr(snakemake.output, "long_utrs", None):
        long_seqs, long_truth = simulate_long_utrs(cfg)
        write_long_utrs((long_seqs, long_truth), snakemake.output.long_utrs, snakemake.output.long_truth)
        logger.info("wrote %d long 3'UTRs with %d planted elements to %s",
                    len(long_seqs), len(long_truth), snakemake.output.long_utrs)
