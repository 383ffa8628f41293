"""Grouped K-fold cross-validation (`split.folds: K`).

The overlap groups of data/split.tsv (reporters sharing 30+ nt stay together) are dealt into K
folds of about equal size. For fold k, test is fold k, valid is a group-disjoint part of the
other folds (the share valid / (train + valid) of split.fractions) and train is the rest:
data/folds/fold{k}/split.tsv. Tokenizers, MLM pretraining and models then run per fold (job
names NAME/fold{k}, folders tokenizers/NAME/fold{k}, models/NAME/fold{k}), so nothing trained
for fold k sees fold k's reporters.

models/NAME/ pools the folds: predictions.tsv holds each reporter's out-of-fold prediction once
(split "test", column fold), folds.tsv each fold's valid and test R2, and model.json names the
fold folders, so `load_model(models/NAME)` predicts the mean of the K fold models. The table's
metrics are those of the pooled predictions (n = every reporter), with r2_fold_sd; the grouped
bootstrap draws overlap groups of all reporters (data/folds/pooled.tsv).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from decaylm.errors import InputError
from decaylm.io import read_json, read_tsv, write_tsv
from decaylm.models.specs import ModelSpec
from decaylm.provenance import members_not_run, write_run
from decaylm.models.artifact import MODEL_FILE, read_model_json
from decaylm.models.ensemble import write_member_mean
from decaylm.metrics import part_r2
from decaylm.split import PARTS

SEPARATOR = "/fold"  # job name X/fold2 -> folder models/X/fold2


def fold_count(config: dict) -> int:
    return int(config["split"].get("folds", 1))


def fold_names(config: dict) -> list[str]:
    return [f"fold{k}" for k in range(1, fold_count(config) + 1)] if fold_count(config) > 1 else []


def fold_jobs(config: dict, name: str) -> list[str]:
    """NAME per fold (NAME/fold1 ... NAME/foldK), or NAME itself without folds."""
    return [f"{name}/{fold}" for fold in fold_names(config)] or [name]


def fold_of(job: str) -> str | None:
    """fold{k} of a job name NAME/fold{k}[/...], else None."""
    return next((part for part in job.split("/")[1:] if part.startswith("fold")), None)


def deal_folds(groups, k: int, seed: int) -> np.ndarray:
    """Fold (1..k) of each row: whole groups, in seeded random order, each to the fold with the fewest rows."""
    groups = np.asarray(groups)
    labels, inverse, sizes = np.unique(groups, return_inverse=True, return_counts=True)
    if len(labels) < k:
        raise InputError("split.folds", f"{k} folds but only {len(labels)} overlap groups", "use fewer folds")
    filled = np.zeros(k)
    fold_of_group = np.empty(len(labels), dtype=int)
    for g in np.random.default_rng(seed).permutation(len(labels)):
        fold = int(np.argmin(filled))
        fold_of_group[g] = fold + 1
        filled[fold] += sizes[g]
    return fold_of_group[inverse]


def fold_splits(split: pd.DataFrame, k: int, fractions: dict, seed: int) -> dict[str, pd.DataFrame]:
    """fold{k} -> the split table of that fold (the columns of split.tsv, plus fold)."""
    out = split.copy()
    out["fold"] = deal_folds(out["group"].to_numpy(), k, seed)
    valid_share = fractions["valid"] / (fractions["train"] + fractions["valid"])
    tables = {}
    for fold in range(1, k + 1):
        table = out.copy()
        rest = table["fold"] != fold
        table["split"] = "test"
        rest_groups = table.loc[rest, "group"].to_numpy()
        labels, sizes = np.unique(rest_groups, return_counts=True)
        target, taken, valid = valid_share * rest.sum(), 0, set()
        for g in np.random.default_rng(seed + fold).permutation(len(labels)):
            if taken >= target:
                break
            valid.add(labels[g])
            taken += sizes[g]
        table.loc[rest, "split"] = np.where(np.isin(rest_groups, list(valid)), "valid", "train")
        tables[f"fold{fold}"] = table
    return tables


def pooled_split(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every reporter once, as a test reporter of its fold: what the pooled comparison scores."""
    first = next(iter(tables.values()))
    out = first.copy()
    out["split"] = "test"
    return out


def write_fold_splits(split_path, out_paths: dict[str, str], pooled_path, k: int, fractions: dict, seed: int) -> dict:
    tables = fold_splits(read_tsv(split_path), k, fractions, seed)
    for fold, table in tables.items():
        for part in PARTS:
            if not (table["split"] == part).any():
                raise InputError(f"split.folds: {fold}", f"has no {part} reporters", "use fewer folds or more data")
        write_tsv(table, out_paths[fold])
    write_tsv(pooled_split(tables), pooled_path)
    return {fold: table["split"].value_counts().to_dict() for fold, table in tables.items()}


def pool_folds(name: str, prediction_paths: list, run_paths: list, out_dir) -> dict:
    """models/NAME/{predictions.tsv (out-of-fold), folds.tsv, run.json, model.json} from the fold folders."""
    out_dir = Path(out_dir)
    (out_dir / MODEL_FILE).unlink(missing_ok=True)
    folders = [Path(path).parent for path in prediction_paths]
    runs = [read_json(path) for path in run_paths]
    frames = [read_tsv(path) for path in prediction_paths]
    pooled = pd.concat([frame[frame["split"] == "test"].assign(fold=folder.name)
                        for folder, frame in zip(folders, frames)], ignore_index=True)
    record = {"model": name, "folds": len(folders), "members": [folder.name for folder in folders]}
    reason = members_not_run(folders, runs)
    if reason:
        pooled["y_pred"] = np.nan
        write_tsv(pd.DataFrame({"fold": [folder.name for folder in folders], "status": [run.get("status") for run in runs]}),
                  out_dir / "folds.tsv")
        write_tsv(pooled, out_dir / "predictions.tsv", float_format="%.8g")
        write_run(out_dir / "run.json", record, "not_run", reason=reason)
        return record
    if pooled["id"].duplicated().any():
        raise InputError(f"models/{name}", "a reporter is a test reporter of two folds", "re-run split_folds")
    table = pd.DataFrame({"fold": [folder.name for folder in folders],
                          "n_test": [int((frame["split"] == "test").sum()) for frame in frames],
                          "valid_r2": [part_r2(frame, "valid") for frame in frames],
                          "r2": [part_r2(frame, "test") for frame in frames]})
    write_tsv(table, out_dir / "folds.tsv", float_format="%.6g")
    write_tsv(pooled, out_dir / "predictions.tsv", float_format="%.8g")
    records = [read_model_json(folder) for folder in folders]
    spec = ModelSpec(name, "ensemble", None, None, int(records[0]["spec"].get("seed", 0)), {})
    write_member_mean(out_dir, spec, folders, f"models/{name}", records, mean_of="folds", folds=len(folders),
                      fold_spec=records[0]["spec"])
    write_run(out_dir / "run.json", record, "ok", valid_r2=float(table["valid_r2"].mean()),
              r2_fold_sd=float(table["r2"].std(ddof=1)))
    return record
