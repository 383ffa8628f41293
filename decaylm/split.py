"""Seeded train/valid/test split that keeps overlapping reporters on the same side.

The real library tiles 3'UTRs and holds point mutants: under a random split a quarter of
test sequences share 30+ nt with a training sequence, which inflates test scores. Grouping
reporters connected by a shared exact substring of `min_overlap` nt or more (any such
substring contains a shared `min_overlap`-mer) and splitting whole groups avoids that leak.
`shares_overlap` is the same test between two sets (MLM pretraining drops extra sequences that
overlap valid or test reporters with it; count_test_leaks counts the leaks of a split).

`split.method: file` takes the parts from a file instead (a published benchmark split, or the
user's): read_split_file reads and checks it, split_from_file applies it; the overlap groups are
still computed, for the comparison's grouped bootstrap (docs/splits.md).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from decaylm.errors import InputError

log = logging.getLogger(__name__)
PARTS = ("train", "valid", "test")


def overlap_groups(sequences: list[str], min_overlap: int) -> np.ndarray:
    """Group label per sequence: connected components of 'shares a min_overlap-mer'."""
    first_seen: dict[str, int] = {}
    rows, cols = [], []
    for index, sequence in enumerate(sequences):
        for start in range(len(sequence) - min_overlap + 1):
            owner = first_seen.setdefault(sequence[start:start + min_overlap], index)
            if owner != index:
                rows.append(index)
                cols.append(owner)
    n = len(sequences)
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return labels


def assign_groups(groups: np.ndarray, fractions: dict[str, float], seed: int) -> np.ndarray:
    """Assign whole groups, in seeded random order, to the part furthest below its target size."""
    rng = np.random.default_rng(seed)
    unique, sizes = np.unique(groups, return_counts=True)
    order = rng.permutation(len(unique))
    targets = np.array([fractions[p] for p in PARTS]) * len(groups)
    filled = np.zeros(len(PARTS))
    part_of_group = {}
    for g in order:
        part = int(np.argmax(targets - filled))
        part_of_group[unique[g]] = PARTS[part]
        filled[part] += sizes[g]
    return np.array([part_of_group[g] for g in groups])


def check_fractions(fractions: dict[str, float]) -> None:
    if set(fractions) != set(PARTS):
        raise InputError("split.fractions", f"needs exactly train, valid and test, found {sorted(fractions)}", "set all three")
    if any(f <= 0 for f in fractions.values()) or abs(sum(fractions.values()) - 1) > 1e-6:
        raise InputError("split.fractions", f"fractions {fractions} must be positive and add up to 1", "e.g. 0.8, 0.1, 0.1")


def split_table(target: pd.DataFrame, method: str, fractions: dict[str, float], seed: int, min_overlap: int) -> pd.DataFrame:
    """Add `split` and `group` columns to the target table."""
    check_fractions(fractions)
    if method == "overlap":
        groups = overlap_groups(target["sequence"].tolist(), min_overlap)
    elif method == "random":
        groups = np.arange(len(target))
    else:
        raise InputError("split.method", f"unknown method '{method}'", "use overlap, random or file")
    out = target.copy()
    out["split"] = assign_groups(groups, fractions, seed)
    out["group"] = groups
    empty = [part for part in PARTS if not (out["split"] == part).any()]
    if empty:
        raise InputError("split", f"the {empty[0]} part is empty: {len(out)} reporter(s) in {len(set(groups))} overlap group(s)",
                         "supply more reporters, or group less (raise split.group_overlap_nt or use split.method: random)")
    return out


def shares_overlap(sequences: list[str], held_out: list[str], min_overlap: int) -> np.ndarray:
    """Boolean mask over `sequences`: True where a sequence shares an exact substring of
    `min_overlap` nt or more with any `held_out` sequence (the overlap split keeps such pairs together)."""
    held_out_kmers = {s[i:i + min_overlap] for s in held_out for i in range(len(s) - min_overlap + 1)}
    return np.array([any(s[i:i + min_overlap] in held_out_kmers for i in range(len(s) - min_overlap + 1))
                     for s in sequences], dtype=bool)


def longest_shared_substring_at_least(test: list[str], train: list[str], length: int) -> int:
    """How many test sequences share an exact substring of >= length nt with any training sequence."""
    return int(shares_overlap(test, train, length).sum())


# ---------------------------------------------------------------------------------------------
# split.method: file -- a published or user-supplied assignment of reporters to parts

PART_NAMES = {"train": "train", "valid": "valid", "validation": "valid", "test": "test"}
MISSING = ("error", "drop")


def job_params(spec: dict) -> dict:
    """The split settings the method uses (rule split_data's params): under method file, changing
    seed or fractions re-runs nothing; under the other methods, changing the file keys re-runs nothing."""
    unused = ("seed", "fractions") if spec["method"] == "file" else ("file", "id_column", "part_column", "missing")
    return {key: value for key, value in spec.items() if key not in unused}


def read_split_file(path, id_column: str = "id", part_column: str = "part") -> pd.DataFrame:
    """The id -> part table of a split file (TSV; CSV when the name ends in .csv) as columns id, split.

    Parts are train, valid (or validation) and test, in any case. A missing file or column, an
    unknown part, an empty id or an id given twice is a one-line InputError naming the file and the
    line or column, and the fix.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("split.file", f"file '{path}' not found", "check the path (a TSV of reporter id and part)")
    try:
        frame = pd.read_csv(path, sep="," if path.suffix.lower() == ".csv" else "\t", dtype=str,
                            keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise InputError(str(path), f"not a readable table ({' '.join(str(error).split())})",
                         "give a tab-separated file with a header line") from None
    for key, column in (("split.id_column", id_column), ("split.part_column", part_column)):
        if column not in frame.columns:
            raise InputError(str(path), f"no column '{column}' (its columns: {list(frame.columns)})",
                             f"set {key} to the column that holds the {'reporter ids' if key.endswith('id_column') else 'parts'}"
                             + ("; the file must be tab-separated" if len(frame.columns) == 1 else ""))
    ids = frame[id_column].str.strip()
    raw_parts = frame[part_column].str.strip()
    parts = raw_parts.str.lower().map(PART_NAMES)
    line = lambda i: i + 2  # 1-based file line of row i (line 1 is the header)
    empty = np.flatnonzero((ids == "").to_numpy())
    if len(empty):
        raise InputError(f"{path}, line {line(empty[0])}, column {id_column}", "empty id", "give every row a reporter id")
    unknown = np.flatnonzero(parts.isna().to_numpy())
    if len(unknown):
        i = unknown[0]
        raise InputError(f"{path}, line {line(i)}, column {part_column}",
                         f"unknown part {raw_parts.iloc[i]!r} ({len(unknown)} row(s) like it)",
                         "use train, valid (or validation) or test")
    repeated = np.flatnonzero(ids.duplicated().to_numpy())
    if len(repeated):
        i = repeated[0]
        first = int(np.flatnonzero((ids == ids.iloc[i]).to_numpy())[0])
        raise InputError(f"{path}, line {line(i)}, column {id_column}",
                         f"id {ids.iloc[i]!r} given again (first on line {line(first)}; "
                         f"{len(repeated)} repeated id(s) in all)", "give each reporter one part")
    return pd.DataFrame({"id": ids.to_numpy(), "split": parts.to_numpy()})


def split_from_file(target: pd.DataFrame, assignment: pd.DataFrame, min_overlap: int, missing: str = "error",
                    source: str = "split.file") -> pd.DataFrame:
    """Add `split` (from the split file's table, see read_split_file) and `group` (overlap groups, which
    the comparison's bootstrap resamples whole) to the target table.

    Split-file ids that are not in the data are counted in the log and ignored. Data ids that the
    file lacks are an error naming the first few, or, with missing: drop, are left out (logged).
    """
    if missing not in MISSING:
        raise InputError("split.missing", f"unknown value {missing!r}", f"use one of {list(MISSING)}")
    part = assignment.set_index("id")["split"]
    data_ids = target["id"].astype(str).str.strip()  # the file's ids are text; numeric data ids read as numbers
    in_file = data_ids.isin(part.index)
    unused = int((~assignment["id"].isin(data_ids)).sum())
    log.info("split file %s: %d id(s), %d of them not in the data (ignored)", source, len(assignment), unused)
    if not in_file.all():
        absent = target.loc[~in_file, "id"]
        if missing == "error":
            raise InputError(source, f"{len(absent)} of the {len(target)} reporters of the data are not in it, "
                             f"e.g. {absent.head(5).tolist()}",
                             "add them to the file, or set split.missing: drop to leave them out (logged)")
        log.info("split.missing: drop: %d reporter(s) of the data not in the split file left out, e.g. %s",
                     len(absent), absent.head(5).tolist())
    out = target[in_file].reset_index(drop=True)
    out["split"] = part.loc[data_ids[in_file]].to_numpy()
    out["group"] = overlap_groups(out["sequence"].tolist(), min_overlap)
    empty = [p for p in PARTS if not (out["split"] == p).any()]
    if empty:
        raise InputError(source, f"no reporter of the data is in its {empty[0]} part "
                         f"({out['split'].value_counts().to_dict()} of {len(out)} reporters)",
                         "give the file train, valid and test reporters of this data")
    return out


def count_test_leaks(split: pd.DataFrame, length: int) -> int:
    """How many test reporters share an exact substring of `length` nt with a training reporter."""
    return longest_shared_substring_at_least(split.loc[split["split"] == "test", "sequence"].tolist(),
                                             split.loc[split["split"] == "train", "sequence"].tolist(), length)
