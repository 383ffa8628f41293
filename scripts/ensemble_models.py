"""Snakemake script: average the predictions of the ensemble's members and record its model folder.

With `members: auto` (resolved at start-up to the candidates, choose: valid) the members are first
chosen on the valid split only (decaylm.models.ensemble.choose_members); selection.tsv beside the
ensemble holds every combination's valid figures, and run.json the choice. For hand-written members
selection.tsv holds their valid figures only, and run.json says chosen_on_valid: false.
"""

import logging
from pathlib import Path

from decaylm.errors import one_line_errors
from decaylm.io import read_tsv, write_tsv
from decaylm.logs import setup_logging
from decaylm.models.registry import parse_model_spec
from decaylm.models.ensemble import (
    average_predictions,
    choose_members,
    listed_figures,
    write_ensemble,
)
from decaylm.provenance import provenance, write_run

with one_line_errors(snakemake.log[0]):
    setup_logging(snakemake.log[0])
    name = snakemake.wildcards.model
    spec = parse_model_spec(name, snakemake.params.spec, snakemake.params.seed)
    out_dir = Path(snakemake.output.predictions).parent
    # members named as in the config (the input lists them in that order; under split.folds a
    # member's folder is models/NAME/foldK, so its folder name is not its name)
    candidates = {name: Path(path).parent for name, path in zip(spec.links["members"], snakemake.input.members,
                                                                 strict=True)}
    frames = {name: read_tsv(folder / "predictions.tsv") for name, folder in candidates.items()}
    chosen_on_valid = spec.architecture.choose == "valid"
    extra = {"chosen_on_valid": chosen_on_valid}
    if chosen_on_valid:
        members, table, excluded = choose_members(frames, spec.architecture.max_size)
        best = table[table["chosen"]].iloc[0]
        logging.info("members chosen on valid among %d candidates (excluded: %s), %d combinations of up to %d: "
                     "%s, valid R2 %.4f", len(frames), excluded or "none", len(table), spec.architecture.max_size,
                     ", ".join(members), best["valid_r2"])
        extra["selection"] = {"criterion": "valid R2 of the mean prediction", "split": "valid",
                              "n_valid": int(best["n_valid"]), "max_size": spec.architecture.max_size,
                              "candidates": sorted(frames), "excluded": excluded, "valid_r2": float(best["valid_r2"]),
                              "combinations": len(table), "table": "selection.tsv"}
    else:
        members = list(frames)
    averaged = average_predictions({m: frames[m] for m in members})  # refuses a member that did not run
    if not chosen_on_valid:
        table = listed_figures(frames)
    write_tsv(table, snakemake.output.selection)
    write_tsv(averaged, snakemake.output.predictions)
    write_ensemble(out_dir, spec, {name: candidates[name] for name in members})
    record = provenance({"model": name, "spec": snakemake.params.spec}, snakemake.params.seed, snakemake.params.repo)
    write_run(snakemake.output.run, record, "ok", train_seconds=0.0, members=members, **extra)
