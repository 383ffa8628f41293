"""ENSEMBLE: the mean of other models' predictions. Members are named in config (choose them on
valid, never on test); averaging models with different inductive biases cancels part of their errors."""

from __future__ import annotations

import numpy as np
import pandas as pd

from decaylm.errors import InputError


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
