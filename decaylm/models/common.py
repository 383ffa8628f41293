"""What every model job shares: reading the split, writing predictions and its run record."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import torch

from decaylm.errors import InputError
from decaylm.io import write_tsv


class ModelUnavailable(Exception):
    """The model cannot run here (e.g. pretrained weights offline); its row says why."""


def run_fingerprint(spec: dict, split: pd.DataFrame, *extra: str | np.ndarray | None) -> str:
    """Identifies a training run: a checkpoint is resumed only by a run with the same fingerprint.
    `extra`: strings and arrays (e.g. auxiliary targets) the run also depends on; None adds nothing."""
    digest = hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode())
    digest.update(pd.util.hash_pandas_object(split[["id", "sequence", "y", "split"]], index=False).to_numpy().tobytes())
    for item in extra:
        if item is not None:
            digest.update(item.tobytes() if isinstance(item, np.ndarray) else item.encode())
    return digest.hexdigest()


def spec_value(spec: dict, key: str, default, model_name: str = "model"):
    """A model parameter with its default; refuses a value of the wrong type in one line."""
    value = spec.get(key, default)
    if default is not None and value is not None and not isinstance(value, type(default)):
        if isinstance(default, float) and isinstance(value, int):
            return float(value)
        raise InputError(f"models.{model_name}.{key}", f"expects {type(default).__name__}, got {value!r}", "fix the config")
    return value


def parts(split: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return {name: split[split["split"] == name].reset_index(drop=True) for name in ("train", "valid", "test")}


def predictions_frame(split: pd.DataFrame, y_pred: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"id": split["id"], "split": split["split"], "y_true": split["y"], "y_pred": y_pred})


def write_predictions(split: pd.DataFrame, y_pred: np.ndarray, path) -> None:
    write_tsv(predictions_frame(split, np.asarray(y_pred, dtype=float)), path)


def seed_everything(seed: int) -> None:
    np.random.seed(seed)
    torch.manual_seed(seed)
