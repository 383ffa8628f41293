"""The degradation target: how log2 expression changes between two hours."""

from __future__ import annotations

import numpy as np
import pandas as pd

from decaylm.errors import InputError
from decaylm.expression import hour_column


def available_hours(expression: pd.DataFrame) -> list[float]:
    return [float(c[:-1]) for c in expression.columns if c.endswith("h")]


def compute_target(expression: pd.DataFrame, kind: str, from_hour: float, to_hour: float, divisor: float = 1.0) -> pd.DataFrame:
    """Return id, sequence, y.

    `difference`: (E[to] - E[from]) / divisor; the original project's target is from 1 to 6 h
    with divisor 2. `slope`: least-squares slope of E over the hours from..to (per hour).
    """
    hours = available_hours(expression)
    for key, hour in (("target.from_hour", from_hour), ("target.to_hour", to_hour)):
        if hour not in hours:
            raise InputError(key, f"hour {hour:g} is not in the data's hours {[f'{h:g}' for h in hours]}",
                             "choose one of those hours")
    if to_hour <= from_hour:
        raise InputError("target.to_hour", f"to_hour {to_hour:g} is not after from_hour {from_hour:g}", "swap them")
    if kind == "difference":
        y = (expression[hour_column(to_hour)] - expression[hour_column(from_hour)]) / divisor
    elif kind == "slope":
        between = [h for h in hours if from_hour <= h <= to_hour]
        y = _least_squares_slope(expression[[hour_column(h) for h in between]].to_numpy(), np.array(between))
    else:
        raise InputError("target.kind", f"unknown kind '{kind}'", "use difference or slope")
    return pd.DataFrame({"id": expression["id"], "sequence": expression["sequence"], "y": np.asarray(y, dtype=float)})


def _least_squares_slope(values: np.ndarray, hours: np.ndarray) -> np.ndarray:
    centered = hours - hours.mean()
    return (values - values.mean(axis=1, keepdims=True)) @ centered / (centered @ centered)
