"""Readers for the three data sources, with one-line errors that name the file, row and fix.

`utrseq`: the UTR-seq format (Rabani et al. 2017): `reporter_counts.txt` (id, AR01..ARnn raw
read counts, SPIKE_* rows) and `reporter_seq.txt` (id, sequence; no header). The simulator
writes the same format, so one reader serves both.
The counts may also come as they do elsewhere (the DeepUTR tables of both libraries): named by
`data.counts` / `data.sequences` instead of a folder, time columns with a prefix
(`SPE_40xA_AR01`: any name ending in ARnn), an `EMPTY` row of unassigned reads (not a reporter),
and more count rows than sequences (`data.require_sequences: false` drops them, logged).
`table`: the original project's format: an expression CSV (id plus hour columns such as
`1h,2h`, already on log scale) and a sequence CSV (id, Sequence). Column names match without
regard to case; `data.id_column` / `data.sequence_column` name them where a file differs.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from decaylm.errors import InputError
from decaylm.sequences import first_bad_letter, normalize_sequence

SPIKE_PREFIX = "SPIKE_"
EMPTY_ROW = "EMPTY"  # unassigned reads in the DeepUTR count tables: not a reporter
COUNTS_FILE = "reporter_counts.txt"
SEQUENCES_FILE = "reporter_seq.txt"
TIME_COLUMN = re.compile(r"AR(\d+)$", re.IGNORECASE)  # AR01, SPE_40xA_AR01, ...

log = logging.getLogger(__name__)


def counts_file(data: dict) -> str:
    """The UTR-seq counts file of the config: `data.counts`, else `reporter_counts.txt` in `data.path`."""
    return data.get("counts") or os.path.join(data.get("path") or "", COUNTS_FILE)


def sequences_file(data: dict) -> str:
    """The UTR-seq sequence file (id<TAB>sequence): `data.sequences`, else `reporter_seq.txt` in `data.path`."""
    return data.get("sequences") or os.path.join(data.get("path") or "", SEQUENCES_FILE)


@dataclass
class RawCounts:
    """Raw reads: one row per reporter, one column per hour; spike-ins kept apart."""

    reporters: pd.DataFrame  # index id, columns hours (int), integer counts
    spikes: pd.DataFrame  # index id, columns hours
    sequences: pd.Series  # index id -> normalized sequence


def _require_file(path: Path, what: str) -> None:
    if not path.exists():
        raise InputError(str(path), f"{what} file not found", "check data.path (or data.counts, data.sequences) in the config")
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


def find_column(columns, name: str, path, key: str) -> str | None:
    """The one column called `name` regardless of case and surrounding blanks (None if there is none)."""
    matches = [c for c in columns if str(c).strip().lower() == name.strip().lower()]
    if len(matches) > 1:
        raise InputError(f"{path} row 1", f"columns {matches} all match '{name}' (case is ignored)",
                         f"rename one, or set {key} to the one to use")
    return matches[0] if matches else None


def read_reporter_sequences(path, has_header: bool = False, id_column="id", sequence_column="Sequence"
                            ) -> pd.Series:
    """id -> normalized sequence of a data source's sequence table: the UTR-seq id<TAB>sequence file
    (no header) or, with `has_header`, the table source's CSV; refuses duplicates, empty sequences
    and letters outside ACGTUN.

    Unlike decaylm.sequences.read_sequences (FASTA or TSV, header guessed), the layout is fixed: a
    header line in reporter_seq.txt is an error, not skipped, and errors count table rows."""
    path = Path(path)
    _require_file(path, "sequence")
    try:
        if has_header:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
            found = {key: find_column(frame.columns, name, path, key)
                     for key, name in (("data.id_column", id_column), ("data.sequence_column", sequence_column))}
            missing = [name for name, (key, column) in zip((id_column, sequence_column), found.items()) if column is None]
            if missing:
                raise InputError(f"{path} row 1", f"missing column(s) {missing}; found {list(frame.columns)[:5]}",
                                 f"the sequence CSV needs columns '{id_column}' and '{sequence_column}' (any case; "
                                 "data.id_column and data.sequence_column name others)")
            frame = frame[list(found.values())]
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


def read_utrseq(folder, hours: list[float], **options) -> RawCounts:
    """Read the UTR-seq counts and sequences of a folder; AR columns map in order to `hours`."""
    folder = Path(folder)
    return read_counts(folder / COUNTS_FILE, folder / SEQUENCES_FILE, hours, **options)


def read_raw(data: dict, raw_dir=None) -> RawCounts:
    """The counts of `data.source` simulated (the simulator's folder) or utrseq (data.counts/sequences or data.path)."""
    options = {"require_sequences": data.get("require_sequences", True), "id_column": data.get("id_column", "id")}
    if data["source"] == "simulated":
        return read_utrseq(raw_dir or data["path"], data["hours"], **options)
    return read_counts(counts_file(data), sequences_file(data), data["hours"], **options)


def time_columns(columns, path) -> list[str]:
    """The ARnn columns (any prefix) in order AR01, AR02, ...; an out-of-order or foreign column is an error."""
    numbers = []
    for column in columns:
        match = TIME_COLUMN.search(str(column).strip())
        if match is None:
            raise InputError(f"{path} row 1", f"column '{column}' is not a time column (a name ending in ARnn)",
                             "the header must be 'id AR01 .. ARnn' (tab-separated; a prefix like SPE_0xA_AR01 is fine)")
        numbers.append(int(match.group(1)))
        if numbers[-1] != len(numbers):
            raise InputError(f"{path} row 1", f"time column '{column}' is out of order: column {len(numbers)} "
                             f"should end in AR{len(numbers):02d}", "put the ARnn columns in order AR01, AR02, ...")
    if not numbers:
        raise InputError(f"{path} row 1", "no time columns (names ending in ARnn)", "check the delimiter is a tab")
    return list(columns)


def read_counts(counts_path, sequences_path, hours: list[float], require_sequences: bool = True,
                id_column: str = "id") -> RawCounts:
    """Read a counts table (id, ARnn.. raw reads, SPIKE_* rows, perhaps an EMPTY row) and its sequences.

    The ARnn columns map in order to `hours`. Count ids without a sequence are an error, or dropped
    (and counted in the log) with `require_sequences=False`.
    """
    counts_path, sequences_path = Path(counts_path), Path(sequences_path)
    _require_file(counts_path, "counts")
    try:
        counts = pd.read_csv(counts_path, sep="\t", dtype=str, keep_default_na=False)
    except UNREADABLE as error:
        raise _cannot_parse(counts_path, error, "expect tab-separated columns id, AR01, AR02, ...") from None
    if counts.shape[1] < 2 or counts.columns[0].strip().lower() != id_column.strip().lower():
        raise InputError(f"{counts_path} row 1", f"header must be '{id_column} AR01 .. ARnn' (tab-separated), "
                         f"found {list(counts.columns)[:4]}",
                         "check the delimiter is a tab and the header is present (data.id_column names the id column)")
    counts = counts.rename(columns={counts.columns[0]: "id"})
    columns = time_columns(counts.columns[1:], counts_path)
    if len(columns) != len(hours):
        raise InputError(f"{counts_path} row 1", f"{len(columns)} time columns but data.hours has {len(hours)} entries "
                         f"({columns[0]} .. {columns[-1]})", "set data.hours to one hour per AR column")
    values = _parse_counts(counts, columns, counts_path)
    ids = counts["id"].str.strip()
    _refuse_duplicates(ids, counts_path, 2)
    table = pd.DataFrame(values, index=ids.to_numpy(), columns=list(hours))
    table = table[table.index != EMPTY_ROW]
    is_spike = table.index.str.startswith(SPIKE_PREFIX)
    if not is_spike.any():
        raise InputError(str(counts_path), f"no spike-in rows ({SPIKE_PREFIX}*)",
                         "add the spike-in rows; normalization needs them")
    spike_totals = table[is_spike].sum(axis=0).to_numpy()
    if (spike_totals <= 0).any():
        column = columns[int(np.argmax(spike_totals <= 0))]
        raise InputError(str(counts_path), f"the {SPIKE_PREFIX}* rows have no reads in column {column}",
                         "normalization divides by them: check the spike-in counts")
    reporters = table[~is_spike]
    if reporters.empty:
        raise InputError(str(counts_path), "no reporter rows", "the file holds only spike-ins")
    sequences = read_reporter_sequences(sequences_path)
    keep = _check_ids_match(reporters.index, sequences.index, counts_path, sequences_path, require_sequences)
    reporters = reporters.loc[keep]
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


def _check_ids_match(count_ids: pd.Index, sequence_ids: pd.Index, counts_path, sequences_path,
                     require_sequences: bool = True) -> pd.Index:
    """The count ids to keep: all (each must have a sequence), or those with a sequence."""
    no_sequence = count_ids.difference(sequence_ids, sort=False)
    if len(no_sequence) and require_sequences:
        examples = ", ".join(f"'{i}'" for i in no_sequence[:3])
        raise InputError(str(counts_path), f"{len(no_sequence)} reporter(s) have no sequence in {sequences_path}, "
                         f"e.g. {examples}", "add their sequences, or set data.require_sequences: false to drop them")
    if len(no_sequence):
        log.info("dropped %d of %d reporters of %s that have no sequence in %s (data.require_sequences: false)",
                 len(no_sequence), len(count_ids), counts_path, sequences_path)
        count_ids = count_ids.difference(no_sequence, sort=False)
        if not len(count_ids):
            raise InputError(str(counts_path), f"no reporter has a sequence in {sequences_path}",
                             "check that the two files use the same ids")
    no_counts = sequence_ids.difference(count_ids, sort=False)
    if len(no_counts):
        raise InputError(str(sequences_path), f"{len(no_counts)} sequence(s) have no counts in {counts_path}, e.g. '{no_counts[0]}'",
                         "add their counts or remove their rows")
    return count_ids


def parse_hour(column: str) -> float | None:
    """'2h' -> 2.0, '2.5h' -> 2.5; anything else -> None."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*h\s*", str(column), re.IGNORECASE)
    return float(match.group(1)) if match else None


def read_table(expression_path, sequences_path, id_column: str = "id", sequence_column: str = "Sequence",
               require_sequences: bool = True) -> tuple[pd.DataFrame, pd.Series]:
    """The original project's CSVs: log-scale expression per hour column, and sequences (`ID, 1h, ..`
    and `ID, Sequence` as they come: column names match regardless of case)."""
    expression_path = Path(expression_path)
    _require_file(expression_path, "expression")
    try:
        frame = pd.read_csv(expression_path)
    except UNREADABLE as error:
        raise _cannot_parse(expression_path, error, "use a comma-separated file") from None
    id_name = find_column(frame.columns, id_column, expression_path, "data.id_column")
    if id_name is None:
        raise InputError(f"{expression_path} row 1", f"no '{id_column}' column; found {list(frame.columns)[:5]}",
                         f"the expression CSV needs an '{id_column}' column (comma-separated; any case; "
                         "data.id_column names another)")
    hour_columns = {c: parse_hour(c) for c in frame.columns if c != id_name}
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
    ids = frame[id_name].astype(str).str.strip()
    _refuse_duplicates(ids, expression_path, 2)
    hours = list(hour_columns.values())
    if any(b <= a for a, b in zip(hours, hours[1:])):
        raise InputError(f"{expression_path} row 1", f"hour columns {list(hour_columns)} do not increase",
                         "order the hour columns by time, each hour once")
    expression = pd.DataFrame(values.to_numpy(), index=ids.to_numpy(), columns=hours)
    sequences = read_reporter_sequences(sequences_path, has_header=True, id_column=id_column,
                                        sequence_column=sequence_column)
    keep = _check_ids_match(expression.index, sequences.index, expression_path, sequences_path, require_sequences)
    expression = expression.loc[keep]
    return expression, sequences.loc[expression.index]
