"""Auxiliary targets: a reporter's log2 expression at other hours, predicted alongside the target.

The degradation target is a difference of two noisy measurements; the rest of the time course
says the same thing again with independent noise. A model that also predicts it (multi-task)
gets more signal per reporter from the training rows, while valid, test and every reported
metric still use the target alone. Each hour is standardized on the training rows only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from decaylm.errors import InputError
from decaylm.expression import hour_column
from decaylm.io import read_tsv
from decaylm.target import available_hours


def auxiliary_targets(expression: pd.DataFrame, split: pd.DataFrame, hours: list, key: str) -> np.ndarray:
    """(rows of split, hours) standardized log2 expression, rows in the split's order."""
    available = available_hours(expression)
    missing = [h for h in hours if float(h) not in available]
    if missing:
        raise InputError(key, f"hour(s) {missing} are not in the expression table's hours {[f'{h:g}' for h in available]}",
                         "choose among those hours")
    table = expression.set_index("id")
    absent = ~split["id"].isin(table.index)
    if absent.any():
        raise InputError(key, f"reporter {split['id'][absent].iloc[0]!r} of the split has no expression row",
                         "use the expression table the split was made from")
    values = table.loc[split["id"], [hour_column(float(h)) for h in hours]].to_numpy(dtype=float)
    train = (split["split"] == "train").to_numpy()
    mean, std = values[train].mean(axis=0), values[train].std(axis=0)
    return (values - mean) / np.where(std > 0, std, 1.0)


def part_rows(aux: np.ndarray | None, split: pd.DataFrame, part: str) -> np.ndarray | None:
    """The auxiliary rows of one part of the split (train, valid or test), in that part's order."""
    return None if aux is None else aux[(split["split"] == part).to_numpy()]


def library_targets(split: pd.DataFrame, paths: list, libraries: list, key: str) -> np.ndarray:
    """(rows of split, libraries) standardized targets of other libraries (their split.tsv: the same
    shared split, their own y), rows in the split's order; standardized on the training rows."""
    if len(paths) != len(libraries):
        raise InputError(key, f"{len(libraries)} auxiliary libraries {libraries} but {len(paths)} target tables given",
                         "run the model through the pipeline (it passes each library's split.tsv)")
    columns = []
    ids = split["id"].astype(str)
    for library, path in zip(libraries, paths):
        other = read_tsv(path)
        table = other.assign(id=other["id"].astype(str)).set_index("id")
        absent = ~ids.isin(table.index)
        if absent.any():
            raise InputError(str(path), f"reporter {ids[absent].iloc[0]!r} of the split has no target in library {library}",
                             "give libraries that share the split's reporters")
        columns.append(table.loc[ids, "y"].to_numpy(dtype=float))
    values = np.stack(columns, axis=1)
    train = (split["split"] == "train").to_numpy()
    mean, std = values[train].mean(axis=0), values[train].std(axis=0)
    return (values - mean) / np.where(std > 0, std, 1.0)


def load_auxiliary(expression_path, library_paths, split: pd.DataFrame, arch, key: str) -> np.ndarray | None:
    """The auxiliary columns of a model: its aux_hours, then its aux_libraries (None when it has none)."""
    parts = [load_auxiliary_targets(expression_path, split, list(getattr(arch, "aux_hours", [])), f"{key}.aux_hours")]
    libraries = list(getattr(arch, "aux_libraries", []))
    if libraries:
        parts.append(library_targets(split, list(library_paths or []), libraries, f"{key}.aux_libraries"))
    parts = [part for part in parts if part is not None]
    return np.concatenate(parts, axis=1) if parts else None


def load_auxiliary_targets(expression_path, split: pd.DataFrame, hours: list, key: str) -> np.ndarray | None:
    """None when no hours are asked for; otherwise the table read from `expression_path`."""
    if not hours:
        return None
    if expression_path is None:
        raise InputError(key, "auxiliary hours need the expression table, and none was given",
                         "run the model through the pipeline (it passes data/expression.tsv) or drop aux_hours")
    return auxiliary_targets(read_tsv(expression_path), split, hours, key)
