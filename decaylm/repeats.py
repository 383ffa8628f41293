"""Repeats: a model trained N times with different seeds, each repeat its own job.

Repeat r of model X trains in models/X/repeat{r}/ with seed (X's seed + r - 1), so repeat 1 is
the model a run without repeats trains. models/X/ then holds what the repeats give together:
- predictions.tsv: the mean of the repeats' predictions, and model.json naming the repeat
  folders, so `load_model(models/X)` (and `decaylm predict`) scores with that mean;
- repeats.tsv: each repeat's seed, valid and test R2.
The comparison row X reports the mean over repeats of each repeat's own metrics, with
r2_seed_sd; its interval and paired test average the repeats' R2 on each resample. The row kind
`repeat_ensemble` (`of: X`) reports the mean prediction as one model, so "N seeds of X" and
"N different models" (kind ensemble) are rows of their own kinds.

Deterministic kinds (kmer_ridge: a seed changes nothing) and ensembles train once.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from decaylm.metrics import part_r2
from decaylm.io import read_json, read_tsv, write_tsv
from decaylm.models.registry import SEEDED_KINDS
from decaylm.models.specs import ModelSpec
from decaylm.provenance import members_not_run, write_run
from decaylm.models.artifact import MODEL_FILE, member_folders, read_model_json
from decaylm.models.ensemble import average_predictions, write_member_mean

SEPARATOR = "/repeat"  # job name X/repeat2 -> folder models/X/repeat2


def repeat_count(config: dict, name: str) -> int:
    spec = config["models"][name]
    if spec["kind"] not in SEEDED_KINDS:
        return 1
    return int(spec.get("repeats", config.get("repeats", 1)))


def training_jobs(config: dict, unit: str) -> list[str]:
    """The training jobs of a model (or of one fold of it, NAME/fold{k}): itself, or one per repeat."""
    n = repeat_count(config, base_model(unit))
    return [unit] if n == 1 else [f"{unit}{SEPARATOR}{r}" for r in range(1, n + 1)]


def base_model(job: str) -> str:
    """The config entry of a job name NAME[/fold{k}][/repeat{r}]."""
    return job.split("/")[0]


def repeat_seed(config: dict, job: str) -> int:
    """Repeat r of a model trains with the model's seed + r - 1."""
    name = base_model(job)
    seed = config["models"][name].get("seed", config["seed"])
    return seed + (int(job.split(SEPARATOR)[1]) - 1 if SEPARATOR in job else 0)


def combine_repeats(name: str, prediction_paths: list, run_paths: list, out_dir) -> dict:
    """Write models/NAME/{predictions.tsv, run.json, repeats.tsv, model.json} from the repeat folders."""
    out_dir = Path(out_dir)
    runs = [read_json(path) for path in run_paths]
    (out_dir / MODEL_FILE).unlink(missing_ok=True)
    folders = [Path(path).parent for path in prediction_paths]
    record = {"model": name, "repeats": len(folders), "seeds": [run.get("seed") for run in runs],
              "members": [folder.name for folder in folders]}
    # a repeat that did not run (e.g. pretrained weights offline) makes the model not run
    reason = members_not_run(folders, runs)
    if reason:
        frame = read_tsv(prediction_paths[0])
        frame["y_pred"] = np.nan
        write_tsv(pd.DataFrame({"repeat": [folder.name for folder in folders], "seed": record["seeds"],
                                "status": [run.get("status") for run in runs]}), out_dir / "repeats.tsv")
        write_tsv(frame, out_dir / "predictions.tsv", float_format="%.8g")
        write_run(out_dir / "run.json", record, "not_run", reason=reason)
        return record
    frames = {folder.name: read_tsv(path) for folder, path in zip(folders, prediction_paths)}
    table = pd.DataFrame({"repeat": list(frames), "seed": record["seeds"],
                          "valid_r2": [part_r2(frame, "valid") for frame in frames.values()],
                          "r2": [part_r2(frame, "test") for frame in frames.values()]})
    write_tsv(table, out_dir / "repeats.tsv", float_format="%.6g")
    write_tsv(average_predictions(frames), out_dir / "predictions.tsv", float_format="%.8g")
    spec = ModelSpec(name, "repeat_ensemble", None, None, int(record["seeds"][0] or 0), {"of": name})
    records = [read_model_json(folder) for folder in folders]
    write_member_mean(out_dir, spec, folders, f"models/{name}", records, mean_of="repeats", repeats=len(folders),
                      repeated_spec=records[0]["spec"])
    write_run(out_dir / "run.json", record, "ok", train_seconds=sum(run.get("train_seconds", 0) for run in runs))
    return record


def repeat_ensemble(name: str, of_dir, out_dir) -> None:
    """models/NAME for kind repeat_ensemble: the mean of OF's repeats, as one model."""
    of_dir, out_dir = Path(of_dir), Path(out_dir)
    (out_dir / MODEL_FILE).unlink(missing_ok=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    run = read_json(of_dir / "run.json")
    frame = read_tsv(of_dir / "predictions.tsv")
    write_tsv(frame, out_dir / "predictions.tsv", float_format="%.8g")
    record = {"model": name, "of": of_dir.name, "repeats": run.get("repeats"), "seeds": run.get("seeds")}
    if run.get("status") == "ok":
        of = read_model_json(of_dir)
        spec = ModelSpec(name, "repeat_ensemble", None, None, int(of["spec"]["seed"]), {"of": of_dir.name})
        # the repeat folders OF's model.json names, each checked to lie inside the models folder
        write_member_mean(out_dir, spec, member_folders(of_dir, of), f"models.{name}.of",
                          mean_of="repeats", repeats=of.get("repeats"))
        write_run(out_dir / "run.json", record, "ok")
    else:
        write_run(out_dir / "run.json", record, run.get("status"), reason=run.get("reason"))
