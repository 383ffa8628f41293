"""Snakemake script: average the predictions of the ensemble's members."""

from pathlib import Path

from decaylm.errors import one_line_errors
from decaylm.io import read_tsv, write_json, write_tsv
from decaylm.logs import setup_logging
from decaylm.models.ensemble import average_predictions
from decaylm.provenance import provenance

with one_line_errors(snakemake.log[0]):
    setup_logging(snakemake.log[0])
    frames = {Path(path).parent.name: read_tsv(path) for path in snakemake.input.members}
    write_tsv(average_predictions(frames), snakemake.output.predictions)
    record = provenance({"model": snakemake.wildcards.model, "spec": snakemake.params.spec}, snakemake.params.seed,
                        snakemake.params.repo)
    write_json({**record, "status": "ok", "train_seconds": 0.0}, snakemake.output.run)
