"""Snakemake script: average the predictions of the ensemble's members and record its model folder."""

from pathlib import Path

from decaylm.errors import one_line_errors
from decaylm.io import read_tsv, write_json, write_tsv
from decaylm.logs import setup_logging
from decaylm.model_specs import parse_model_spec
from decaylm.models.ensemble import average_predictions, write_ensemble
from decaylm.provenance import provenance

with one_line_errors(snakemake.log[0]):
    setup_logging(snakemake.log[0])
    name = snakemake.wildcards.model
    members = [Path(path).parent for path in snakemake.input.members]
    frames = {folder.name: read_tsv(folder / "predictions.tsv") for folder in members}
    write_tsv(average_predictions(frames), snakemake.output.predictions)
    write_ensemble(Path(snakemake.output.predictions).parent, parse_model_spec(name, snakemake.params.spec,
                                                                                snakemake.params.seed), members)
    record = provenance({"model": name, "spec": snakemake.params.spec}, snakemake.params.seed, snakemake.params.repo)
    write_json({**record, "status": "ok", "train_seconds": 0.0}, snakemake.output.run)
