"""What every model job shares: reading the split, fingerprints of a training run, seeds."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd


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


def parts(split: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return {name: split[split["split"] == name].reset_index(drop=True) for name in ("train", "valid", "test")}


def training_length(split: pd.DataFrame) -> int:
    """The length of the training reporters (the longest): windows of longer sequences have it."""
    return int(split.loc[split["split"] == "train", "sequence"].str.len().max())
