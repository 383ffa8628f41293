"""Snakemake script: expression table -> target table (id, sequence, y; kind kinetic adds the fit's columns)."""

import logging

from decaylm.errors import one_line_errors
from decaylm.io import read_tsv, write_tsv
from decaylm.logs import setup_logging
from decaylm.target import compute_target

with one_line_errors(snakemake.log[0]):
    setup_logging(snakemake.log[0])
    spec = snakemake.params.target
    target = compute_target(read_tsv(snakemake.input[0]), spec["kind"], spec["from_hour"], spec["to_hour"],
                            spec["divisor"], kinetic=spec)
    what = f"kinetic {spec['parameter']}" if spec["kind"] == "kinetic" else spec["kind"]
    logging.info("target %s %g->%gh: n=%d mean %.3f sd %.3f", what, spec["from_hour"], spec["to_hour"],
                 len(target), target["y"].mean(), target["y"].std())
    write_tsv(target, snakemake.output[0])
