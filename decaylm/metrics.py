"""The regression metrics of held-out predictions: one home for R2 and its companions.

sklearn and scipy are imported when a metric is computed, not when the module is: the workflow
imports this at start-up (through decaylm.repeats).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def r2_score(y_true, y_pred) -> float:
    """The coefficient of determination (sklearn's)."""
    from sklearn.metrics import r2_score as sklearn_r2

    return float(sklearn_r2(y_true, y_pred))


def part_r2(frame: pd.DataFrame, part: str) -> float:
    """R2 of a predictions table (id, split, y_true, y_pred) on one part of the split."""
    rows = frame[frame["split"] == part]
    return r2_score(rows["y_true"], rows["y_pred"])


def regression_metrics(y_true, y_pred) -> dict:
    from scipy.stats import pearsonr, spearmanr
    from sklearn.metrics import mean_absolute_error, mean_squared_error

    y_true, y_pred = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    mse = mean_squared_error(y_true, y_pred)
    return {"mse": mse, "mae": mean_absolute_error(y_true, y_pred), "rmse": math.sqrt(mse),
            "r2": r2_score(y_true, y_pred), "pearson": pearsonr(y_true, y_pred)[0],
            "spearman": spearmanr(y_true, y_pred)[0], "n_test": int(len(y_true))}
