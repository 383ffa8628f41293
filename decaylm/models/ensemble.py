"""ENSEMBLE: the mean of other models' predictions; averaging models with different inductive biases
cancels part of their errors. The members are named in config, or, with `members: auto`, chosen by
the job on the valid split only (choose_members: the combination of 2..max_size candidates whose
mean prediction has the best valid R2; its record is selection.tsv and run.json beside the ensemble).

Its model folder holds no weights: model.json names the member folders (relative paths, so a
moved results folder still loads; each must lie inside the folder that holds the ensemble, which
decaylm.models.artifact checks before it loads them), and the loaded ensemble predicts the mean of
its members and, with `predict_members`, each member's predictions (their spread says how much
they agree).
"""

from __future__ import annotations

import dataclasses
import itertools
import os
from math import comb
from pathlib import Path

import numpy as np
import pandas as pd

from decaylm.errors import InputError
from decaylm.models.specs import ModelSpec
from decaylm.models.artifact import TrainedModel, member_folders, read_model_json, write_model_json


def average_predictions(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Mean y_pred over members; all must cover the same reporters in the same split."""
    names = list(frames)
    first = frames[names[0]]
    for name in names[1:]:
        if not frames[name][["id", "split"]].equals(first[["id", "split"]]):
            raise InputError(f"ensemble member {name}", "predicts other reporters than " + names[0],
                             "ensemble models trained on the same split")
    stacked = np.vstack([frames[name]["y_pred"].to_numpy(dtype=float) for name in names])
    if np.isnan(stacked).any():
        missing = [name for name, row in zip(names, stacked) if np.isnan(row).any()]
        raise InputError("ensemble", f"member(s) {missing} did not run", "remove them from members")
    out = first[["id", "split", "y_true"]].copy()
    out["y_pred"] = stacked.mean(axis=0)
    return out


MAX_COMBINATIONS = 200_000  # combinations choose_members scores at most (12 candidates, max_size 12: 2^12 - 1 = 4,095)


def _valid_rows(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Each frame's valid rows (id, y_true, y_pred): the only rows the choice ever sees."""
    return {name: frame.loc[frame["split"] == "valid", ["id", "y_true", "y_pred"]].reset_index(drop=True)
            for name, frame in frames.items()}


def _figures(y: np.ndarray, preds: dict[str, np.ndarray], members: tuple) -> dict:
    """Valid R2, MSE and Pearson r of the mean prediction of `members`."""
    mean = np.mean([preds[m] for m in members], axis=0)
    sse = float(((y - mean) ** 2).sum())
    return {"members": ",".join(members), "size": len(members),
            "valid_r2": 1 - sse / float(((y - y.mean()) ** 2).sum()), "valid_mse": sse / len(y),
            "valid_pearson": float(np.corrcoef(y, mean)[0, 1]) if mean.std() > 0 else np.nan, "n_valid": len(y)}


def choose_members(frames: dict[str, pd.DataFrame], max_size: int) -> tuple[list[str], pd.DataFrame, dict[str, str]]:
    """Choose the members on the valid split only: (members, every combination's valid figures, excluded).

    frames: candidate -> predictions (id, split, y_true, y_pred). Only their valid rows are read: the
    test rows are dropped before anything is computed, so no test value can move the choice. A
    candidate without a prediction for every valid reporter (a row that did not run) is excluded.
    The table has every combination of 1..max_size usable candidates (single rows for reference)
    with its valid R2, MSE and Pearson r, best valid R2 first; the choice is its best combination of
    two or more (ties: fewer members, then names).
    """
    valid = _valid_rows(frames)  # from here on nothing else is read
    excluded = {}
    for name, rows in valid.items():
        if not len(rows) or rows["y_pred"].isna().any():
            excluded[name] = "did not run (no valid predictions)" if rows["y_pred"].isna().all() else \
                f"no prediction for {int(rows['y_pred'].isna().sum())} valid reporter(s)"
    usable = sorted(name for name in valid if name not in excluded)
    if len(usable) < 2:
        raise InputError("ensemble", f"members: auto needs two or more rows that ran, found {usable} "
                         f"(excluded: {excluded})", "configure more models, or list the members by hand")
    first = valid[usable[0]]
    for name in usable[1:]:
        if not valid[name]["id"].equals(first["id"]) or not np.allclose(valid[name]["y_true"], first["y_true"]):
            raise InputError(f"ensemble member {name}", f"its valid reporters or targets differ from those of {usable[0]}",
                             "ensemble models trained on the same split and target")
    sizes = range(1, min(max_size, len(usable)) + 1)
    count = sum(comb(len(usable), k) for k in sizes)
    if count > MAX_COMBINATIONS:
        raise InputError("ensemble.max_size", f"{max_size} gives {count:,} combinations of {len(usable)} candidates",
                         f"lower max_size (at most {MAX_COMBINATIONS:,} combinations are scored)")
    y = first["y_true"].to_numpy(dtype=float)
    preds = {name: valid[name]["y_pred"].to_numpy(dtype=float) for name in usable}
    table = pd.DataFrame([_figures(y, preds, members) for size in sizes
                          for members in itertools.combinations(usable, size)])
    table = table.assign(_neg=-table["valid_r2"]).sort_values(["_neg", "size", "members"]).drop(columns="_neg")
    table = table.reset_index(drop=True)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    best = table.index[table["size"] >= 2][0]
    table["chosen"] = table.index == best
    return table.loc[best, "members"].split(","), table, excluded


def listed_figures(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The valid figures of hand-written members (one row, chosen false: the config chose them)."""
    valid = _valid_rows(frames)
    names = tuple(frames)
    row = _figures(valid[names[0]]["y_true"].to_numpy(dtype=float),
                   {n: valid[n]["y_pred"].to_numpy(dtype=float) for n in names}, names)
    return pd.DataFrame([{"rank": 1, **row, "chosen": False}])


def write_ensemble(out_dir, spec: ModelSpec, member_dirs) -> None:
    """model.json of an ensemble. member_dirs: a list of folders (named by their folder names) or a
    dict name -> folder."""
    names = list(member_dirs) if isinstance(member_dirs, dict) else [Path(folder).name for folder in member_dirs]
    member_dirs = list(member_dirs.values()) if isinstance(member_dirs, dict) else list(member_dirs)
    # the spec names the members the ensemble averages (for members: auto, the chosen ones, not the candidates)
    spec = dataclasses.replace(spec, links={**spec.links, "members": names})
    write_member_mean(out_dir, spec, member_dirs, f"models.{spec.name}.members", mean_of="members")


def write_member_mean(out_dir, spec: ModelSpec, member_dirs, where: str, records: list[dict] | None = None,
                      **extra) -> None:
    """model.json of a model that predicts the mean of other model folders (an ensemble's members, a
    model's repeats, or its folds): their folders relative to its own, so a moved results folder
    still loads. The members must have been trained on reporters of one length, and lie inside the
    folder that holds out_dir, where loading looks for them. `records`: their model.json records,
    when the caller has read them already."""
    out_dir = Path(out_dir)
    records = records or [read_model_json(folder) for folder in member_dirs]
    lengths = {record["input_length"] for record in records}
    if len(lengths) > 1:
        raise InputError(where, f"members were trained on different lengths {sorted(lengths)}",
                         "average models trained on the same reporters")
    members = [os.path.relpath(Path(folder).resolve(), out_dir.resolve()) for folder in member_dirs]
    member_folders(out_dir, {"members": members})  # the check loading makes, before anything is written
    out_dir.mkdir(parents=True, exist_ok=True)
    write_model_json(out_dir, spec, lengths.pop(), {}, min_length=max(r.get("min_length", 1) for r in records),
                     members=members, **extra)


class Ensemble(TrainedModel):
    def __init__(self, folder, record, members: list[TrainedModel]):
        super().__init__(folder, record)
        self.members = members  # loaded by decaylm.models.artifact.load_model, which checks where they lie

    def predict_members(self, sequences, batch_size: int = 256) -> np.ndarray:
        """(members, sequences): each member's predictions."""
        sequences = list(sequences)
        return np.vstack([member.predict(sequences, batch_size) for member in self.members])

    def predict(self, sequences, batch_size: int = 256) -> np.ndarray:
        return self.predict_members(sequences, batch_size).mean(axis=0)


def load(folder, record, members: list[TrainedModel]) -> Ensemble:
    return Ensemble(folder, record, members)
