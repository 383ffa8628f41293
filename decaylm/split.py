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
    """Group label per sequence: connected components of 'shares a min_overlap-mer' (labels numbered
    by each component's first sequence, as scipy's connected_components numbers them)."""
    n = len(sequences)
    owner, first_of_run = _shared_windows(sequences, min_overlap)
    # every window of a run of equal windows links its sequence to the run's first (lowest) sequence
    lowest = np.minimum.reduceat(owner, np.flatnonzero(first_of_run)) if len(owner) else owner
    lowest = lowest[np.cumsum(first_of_run) - 1]
    linked = owner != lowest
    edges = np.unique(owner[linked].astype(np.int64) * n + lowest[linked])
    graph = coo_matrix((np.ones(len(edges), dtype=np.int8), (edges // n, edges % n)), shape=(n, n))
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
    n = len(sequences)
    owner, first_of_run = _shared_windows(list(sequences) + list(held_out), min_overlap)
    # owners from n on are held-out sequences: mark the others in a run that holds one
    starts = np.flatnonzero(first_of_run)
    has_held_out = (np.maximum.reduceat(owner, starts) >= n) if len(owner) else np.zeros(0, dtype=bool)
    hit = owner[has_held_out[np.cumsum(first_of_run) - 1] & (owner < n)]
    mask = np.zeros(n, dtype=bool)
    mask[hit] = True
    return mask


# ---------------------------------------------------------------------------------------------
# the windows behind both: every min_overlap-long window packed into integers, sorted, and only the
# windows that occur more than once kept. A screen of 10^6 reporters of 110 nt has 8e7 windows: as
# Python strings in a dict they took ~9 GB; packed, the split stage peaks at 2.7 GB, one sort (docs/scale.md).

CHUNK_LETTERS = 1 << 22  # letters packed at a time: bounds the temporary arrays (32 MiB each)


def _shared_windows(sequences: list[str], k: int) -> tuple[np.ndarray, np.ndarray]:
    """(owner, first_of_run) of the windows of k letters that occur more than once in `sequences`: each
    such window's sequence index, windows with the same letters adjacent (a run; in no particular order
    within it); first_of_run is True where a run begins. Windows are compared letter by letter, exactly as
    strings are (N, lower case or any other letter included); a sequence shorter than k has none."""
    if k < 1:
        raise InputError("split.group_overlap_nt", f"{k} is not a length", "give a whole number >= 1")
    words, owner = _packed_windows(sequences, k)
    order = np.argsort(words[0]) if len(words) == 1 else np.lexsort(words[::-1])
    equal_to_previous = np.ones(max(len(order) - 1, 0), dtype=bool)
    for word in words:
        word = word[order]
        equal_to_previous &= word[1:] == word[:-1]
    del words
    repeated = np.zeros(len(order), dtype=bool)
    repeated[1:] |= equal_to_previous
    repeated[:-1] |= equal_to_previous
    kept = np.flatnonzero(repeated)
    first_of_run = np.ones(len(kept), dtype=bool)
    first_of_run[1:] = ~equal_to_previous[kept[1:] - 1]
    # the callers take a run's minimum or maximum owner, so the sort need not be stable
    return owner[order[kept]], first_of_run


def _packed_windows(sequences: list[str], k: int) -> tuple[np.ndarray, np.ndarray]:
    """(words, owner): each window of k letters as words x windows uint64 (its letters' codes packed,
    as few bits a letter as the letters present need, as many words as k then needs), and its sequence."""
    lengths = np.fromiter(map(len, sequences), dtype=np.int64, count=len(sequences))
    windows = np.maximum(lengths - k + 1, 0)
    owner = np.repeat(np.arange(len(sequences), dtype=np.int32), windows)
    codes, n_letters = _letter_codes(sequences, pad=k)
    bits = max(1, (n_letters - 1).bit_length())
    per_word = 64 // bits
    words = np.zeros((-(-k // per_word), len(owner)), dtype=np.uint64)
    letter_start = np.concatenate([[0], np.cumsum(lengths)])
    window_start = np.concatenate([[0], np.cumsum(windows)])
    # chunks of whole sequences: pack every position of the chunk from contiguous slices, keep the windows
    bounds = np.unique(np.searchsorted(letter_start, np.arange(0, letter_start[-1], CHUNK_LETTERS), side="right") - 1)
    for first, last in zip(bounds, [*bounds[1:], len(sequences)]):
        a, b = letter_start[first], letter_start[last]
        w0, w1 = window_start[first], window_start[last]
        if w0 == w1:
            continue
        at = np.arange(w0, w1) + np.repeat(letter_start[first:last] - window_start[first:last], windows[first:last]) - a
        for w, word in enumerate(words):
            packed = np.zeros(b - a, dtype=np.uint64)
            for j in range(w * per_word, min(k, (w + 1) * per_word)):
                packed <<= np.uint64(bits)
                packed |= codes[a + j:b + j]
            word[w0:w1] = packed[at]
    return words, owner


def _letter_codes(sequences: list[str], pad: int) -> tuple[np.ndarray, int]:
    """Each letter of the sequences, joined, as its rank among the distinct letters present (then `pad`
    zeros, so that a window may read past the end); and how many distinct letters there are."""
    text = "".join(sequences)
    try:
        letters = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
        present = np.flatnonzero(np.bincount(letters, minlength=128))
        rank = np.zeros(128, dtype=np.uint8)
        rank[present] = np.arange(len(present))
        ranks = rank[letters]
    except UnicodeEncodeError:
        present, ranks = np.unique(np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32), return_inverse=True)
    codes = np.zeros(len(text) + pad, dtype=np.uint8 if len(present) <= 256 else np.uint32)
    codes[:len(text)] = ranks
    return codes, max(len(present), 1)


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
