"""Readers for the three data sources, with one-line errors that name the file, row and fix.

`utrseq`: the UTR-seq format (Rabani et al. 2017): `reporter_counts.txt` (id, AR01..ARnn raw
read counts, SPIKE_* rows) and `reporter_seq.txt` (id, sequence; no header). The simulator
writes the same format, so one reader serves both.
`table`: the original project's format: an expression CSV (id plus hour columns such as
`1h,2h`, already on log scale) and a sequence CSV (id, Sequence).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from decaylm.errors import InputError
from decaylm.sequences import first_bad_letter, normalize_sequence

SPIKE_PREFIX = "SPIKE_"
COUNTS_FILE = "reporter_counts.txt"
SEQUENCES_FILE = "reporter_seq.txt"


@dataclass
class RawCounts:
    """Raw reads: one row per reporter, one column per hour; spike-ins kept apart."""

    reporters: pd.DataFrame  # index id, columns hours (int), integer counts
    spikes: pd.DataFrame  # index id, columns hours
    sequences: pd.Series  # index id -> normalized sequence


def _require_file(path: Path, what: str) -> None:
    if not path.exists():
        raise InputError(str(path), f"{what} file not found", "check data.path in the config")
    if not path.is_file():
        raise InputError(str(path), "is not a file", f"point the config at the {what} file itself")
    if path.stat().st_size == 0:
        raise InputError(str(path), f"{what} file is empty", "supply a non-empty file")


# What pandas raises on a file it cannot read as a table (EmptyDataError: blank lines only).
UNREADABLE = (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError)


def _cannot_parse(path: Path, error: Exception, fix: str) -> InputError:
    if isinstance(error, UnicodeDecodeError):
        return InputError(str(path), "is not UTF-8 text (compressed or binary?)", "decompress it or save it as plain text")
    if isinstance(error, pd.errors.EmptyDataError):
        return InputError(str(path), "holds no data, only blank lines", "supply the table")
    return InputError(str(path), f"cannot parse: {str(error).splitlines()[0]}", fix)


def read_sequences(path, has_header: bool = False, id_column="id", sequence_column="Sequence") -> pd.Series:
    """id -> normalized sequence; refuses duplicates, empty sequences and letters outside ACGTUN."""
    path = Path(path)
    _require_file(path, "sequence")
    try:
        if has_header:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
            missing = [c for c in (id_column, sequence_column) if c not in frame.columns]
            if missing:
                raise InputError(str(path), f"missing column(s) {missing}; found {list(frame.columns)}",
                                 f"the sequence CSV needs columns '{id_column}' and '{sequence_column}'")
            frame = frame[[id_column, sequence_column]]
            first_row = 2
        else:
            frame = pd.read_csv(path, sep="\t", header=None, dtype=str, keep_default_na=False)
            first_row = 1
    except UNREADABLE as error:
        raise _cannot_parse(path, error, "use the documented format") from None
    if frame.shape[1] != 2:
        raise InputError(str(path), f"expected 2 tab-separated columns (id, sequence), found {frame.shape[1]}",
                         "write one 'id<TAB>sequence' pair per line")
    frame.columns = ["id", "sequence"]
    for offset, (rid, seq) in enumerate(zip(frame["id"], frame["sequence"])):
        row = first_row + offset
        if not rid.strip():
            raise InputError(f"{path} row {row}", "empty id", "give every sequence an id")
        sequence = normalize_sequence(seq)
        if not sequence:
            raise InputError(f"{path} row {row}", f"id '{rid}' has an empty sequence", "remove the row or add its sequence")
        bad = first_bad_letter(sequence)
        if bad is not None:
            raise InputError(f"{path} row {row}", f"sequence of '{rid}' has letter '{bad}' outside ACGTUN",
                             "replace ambiguity codes by N or drop the row")
    frame["id"] = frame["id"].str.strip()
    _refuse_duplicates(frame["id"], path, first_row)
    return pd.Series([normalize_sequence(s) for s in frame["sequence"]], index=frame["id"].to_numpy(), name="sequence")


def _refuse_duplicates(ids: pd.Series, path: Path, first_row: int) -> None:
    duplicated = ids.duplicated().to_numpy()
    if duplicated.any():
        position = int(np.argmax(duplicated))
        raise InputError(f"{path} row {first_row + position}", f"duplicate id '{ids.iloc[position]}'",
                         "make ids unique")


def read_utrseq(folder, hours: list[float]) -> RawCounts:
    """Read the UTR-seq counts and sequences; AR columns map in order to `hours`."""
    folder = Path(folder)
    counts_path, sequences_path = folder / COUNTS_FILE, folder / SEQUENCES_FILE
    _require_file(counts_path, "counts")
    try:
        counts = pd.read_csv(counts_path, sep="\t", dtype=str, keep_default_na=False)
    except UNREADABLE as error:
        raise _cannot_parse(counts_path, error, "expect tab-separated columns id, AR01, AR02, ...") from None
    time_columns = [c for c in counts.columns[1:]]
    if counts.columns[0] != "id" or not time_columns or not all(re.fullmatch(r"AR\d+", c) for c in time_columns):
        raise InputError(str(counts_path), f"header must be 'id AR01 .. ARnn' (tab-separated), found {list(counts.columns)[:4]}",
                         "check the delimiter is a tab and the header is present")
    if len(time_columns) != len(hours):
        raise InputError(str(counts_path), f"{len(time_columns)} time columns but data.hours has {len(hours)} entries",
                         "set data.hours to one hour per AR column")
    values = _parse_counts(counts, time_columns, counts_path)
    ids = counts["id"].str.strip()
    _refuse_duplicates(ids, counts_path, 2)
    table = pd.DataFrame(values, index=ids.to_numpy(), columns=list(hours))
    is_spike = table.index.str.startswith(SPIKE_PREFIX)
    if not is_spike.any():
        raise InputError(str(counts_path), f"no spike-in rows ({SPIKE_PREFIX}*)",
                         "add the spike-in rows; normalization needs them")
    spike_totals = table[is_spike].sum(axis=0).to_numpy()
    if (spike_totals <= 0).any():
        column = time_columns[int(np.argmax(spike_totals <= 0))]
        raise InputError(str(counts_path), f"the {SPIKE_PREFIX}* rows have no reads in column {column}",
                         "normalization divides by them: check the spike-in counts")
    reporters = table[~is_spike]
    if reporters.empty:
        raise InputError(str(counts_path), "no reporter rows", "the file holds only spike-ins")
    sequences = read_sequences(sequences_path)
    _check_ids_match(reporters.index, sequences.index, counts_path, sequences_path)
    return RawCounts(reporters=reporters, spikes=table[is_spike], sequences=sequences.loc[reporters.index])


def _parse_counts(counts: pd.DataFrame, columns: list[str], path: Path) -> np.ndarray:
    numeric = counts[columns].apply(pd.to_numeric, errors="coerce")
    bad = ~np.isfinite(numeric.to_numpy()) | (numeric.to_numpy() < 0)
    if bad.any():
        row, col = map(int, np.argwhere(bad)[0])
        text = counts[columns[col]].iloc[row]
        if text is None or not str(text).strip():  # a short row: pandas pads it with empty fields
            raise InputError(f"{path} row {row + 2}", f"column {columns[col]} is empty",
                             "fill in every count; if the row is cut short, restore the complete file")
        raise InputError(f"{path} row {row + 2}", f"column {columns[col]} holds '{text}', not a count >= 0",
                         "counts must be non-negative numbers")
    return numeric.to_numpy(dtype=float)


def _check_ids_match(count_ids: pd.Index, sequence_ids: pd.Index, counts_path, sequences_path) -> None:
    no_sequence = count_ids.difference(sequence_ids, sort=False)
    if len(no_sequence):
        raise InputError(str(counts_path), f"{len(no_sequence)} reporter(s) have no sequence in {sequences_path}, e.g. '{no_sequence[0]}'",
                         "add their sequences or remove their rows")
    no_counts = sequence_ids.difference(count_ids, sort=False)
    if len(no_counts):
        raise InputError(str(sequences_path), f"{len(no_counts)} sequence(s) have no counts in {counts_path}, e.g. '{no_counts[0]}'",
                         "add their counts or remove their rows")


def parse_hour(column: str) -> float | None:
    """'2h' -> 2.0, '2.5h' -> 2.5; anything else -> None."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*h\s*", str(column))
    return float(match.group(1)) if match else None


def read_table(expression_path, sequences_path) -> tuple[pd.DataFrame, pd.Series]:
    """The original project's CSVs: log-scale expression per hour column, and sequences."""
    expression_path = Path(expression_path)
    _require_file(expression_path, "expression")
    try:
        frame = pd.read_csv(expression_path)
    except UNREADABLE as error:
        raise _cannot_parse(expression_path, error, "use a comma-separated file") from None
    if "id" not in frame.columns:
        raise InputError(str(expression_path), f"no 'id' column; found {list(frame.columns)[:5]}",
                         "the expression CSV needs an 'id' column (comma-separated)")
    hour_columns = {c: parse_hour(c) for c in frame.columns if c != "id"}
    if not hour_columns or any(h is None for h in hour_columns.values()):
        bad = [c for c, h in hour_columns.items() if h is None]
        raise InputError(str(expression_path), f"columns {bad or '(none)'} are not hours like '2h'",
                         "name expression columns by hour: 1h, 2h, ...")
    if frame.empty:
        raise InputError(str(expression_path), "has a header but no rows", "add one row per reporter")
    values = frame[list(hour_columns)].apply(pd.to_numeric, errors="coerce")
    bad = ~np.isfinite(values.to_numpy())
    if bad.any():
        row, col = map(int, np.argwhere(bad)[0])
        raise InputError(f"{expression_path} row {row + 2}", f"column {list(hour_columns)[col]} is not a finite number",
                         "fill or remove the row")
    ids = frame["id"].astype(str).str.strip()
    _refuse_duplicates(ids, expression_path, 2)
    expression = pd.DataFrame(values.to_numpy(), index=ids.to_numpy(), columns=list(hour_columns.values()))
    sequences = read_sequences(sequences_path, has_header=True)
    _check_ids_match(expression.index, sequences.index, expression_path, sequences_path)
    return expression, sequences.loc[expression.index]
