"""ENSEMBLE: the mean of other models' predictions. Members are named in config (choose them on
valid, never on test); averaging models with different inductive biases cancels part of their errors.

Its model folder holds no weights: model.json names the member folders (relative paths, so a
moved results folder still loads), and the loaded ensemble predicts the mean of its members
and, with `predict_members`, each member's predictions (their spread says how much they agree).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from decaylm.errors import InputError
from decaylm.model_specs import ModelSpec
from decaylm.models.artifact import TrainedModel, load_model, read_model_json, write_model_json


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


def write_ensemble(out_dir, spec: ModelSpec, member_dirs: list) -> None:
    """model.json of an ensemble: its members' folders relative to its own."""
    out_dir = Path(out_dir)
    records = [read_model_json(folder) for folder in member_dirs]
    lengths = {record["input_length"] for record in records}
    if len(lengths) > 1:
        raise InputError(f"models.{spec.name}.members", f"members were trained on different lengths {sorted(lengths)}",
                         "ensemble models trained on the same reporters")
    out_dir.mkdir(parents=True, exist_ok=True)
    members = [os.path.relpath(Path(folder).resolve(), out_dir.resolve()) for folder in member_dirs]
    write_model_json(out_dir, spec, lengths.pop(), {}, min_length=max(r.get("min_length", 1) for r in records),
                     members=members)


class Ensemble(TrainedModel):
    def __init__(self, folder, record):
        super().__init__(folder, record)
        self.members = [load_model(self.folder / member) for member in record["members"]]

    def predict_members(self, sequences, batch_size: int = 256) -> np.ndarray:
        """(members, sequences): each member's predictions."""
        sequences = list(sequences)
        return np.vstack([member.predict(sequences, batch_size) for member in self.members])

    def predict(self, sequences, batch_size: int = 256) -> np.ndarray:
        return self.predict_members(sequences, batch_size).mean(axis=0)


def load(folder, record) -> Ensemble:
    return Ensemble(folder, record)
