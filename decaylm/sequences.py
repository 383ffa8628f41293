"""Nucleotide sequences: the alphabet, normalization, one-hot encoding and the sequence-file reader.

Every model, tokenizer and attribution map takes its base order from `BASES` here. Sequences
are normalized to upper-case DNA (RNA or lower case in, ACGTN out) before anything else sees
them. `read_sequences` reads the sequence files users hand in (`decaylm predict`, the extra
sequences of MLM pretraining): FASTA or id<TAB>sequence, with or without a header, and stops
with one line that names the file, the line or record, and the fix. The pipeline's own data
tables (UTR-seq `reporter_seq.txt`, the table source's CSV) have a fixed layout with row-numbered
errors of their own: decaylm.sources reads those.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import numpy as np
import pandas as pd

from decaylm.errors import InputError

BASES = "ACGT"  # the one-hot channel order of every model and attribution map
ALPHABET = BASES + "N"
_BAD_LETTER = re.compile(f"[^{ALPHABET}]")

FORMAT_FIX = "give FASTA ('>id' lines) or a TSV of id<TAB>sequence, with or without a header"
LETTERS_FIX = "sequences may hold A, C, G, T, U and N, in upper or lower case"
# Header names that pick the columns of a TSV with a header; without them, the first two columns.
ID_NAMES = ("id", "name", "gene")
SEQUENCE_NAMES = ("sequence", "seq")


# ------------------------------------------------------------------------------------------
# Letters


def normalize_sequence(sequence: str) -> str:
    """Upper-case and turn U into T, so RNA and DNA spellings of one reporter are equal."""
    return sequence.strip().upper().replace("U", "T")


def first_bad_letter(sequence: str) -> str | None:
    """The first letter outside ACGTN of a normalized sequence, or None."""
    match = _BAD_LETTER.search(sequence)
    return match.group(0) if match else None


# ------------------------------------------------------------------------------------------
# One-hot


_CODES = np.full(256, 4, dtype=np.int8)
_CODES[np.frombuffer(BASES.encode(), dtype=np.uint8)] = np.arange(4)


def base_codes(sequence: str) -> np.ndarray:
    """int8 per letter: 0-3 for A, C, G, T (the one-hot channels), 4 for any other letter (N)."""
    return _CODES[np.frombuffer(sequence.encode(), dtype=np.uint8)]


def one_hot(sequence: str, length: int | None = None) -> np.ndarray:
    """(4, length) float32 one-hot in ACGT order; N and padding are all-zero columns."""
    length = length or len(sequence)
    codes = base_codes(sequence[:length])
    out = np.zeros((5, length), dtype=np.float32)
    out[codes, np.arange(len(codes))] = 1.0
    return out[:4]


def one_hot_batch(sequences) -> np.ndarray:
    """(N, 4, L) float32 one-hot of sequences of one length (N: all-zero column)."""
    return np.stack([one_hot(s) for s in sequences]).astype(np.float32)


# ------------------------------------------------------------------------------------------
# Reading sequence files


def read_sequences(path) -> pd.DataFrame:
    """id and sequence (upper-case DNA) of each record of a FASTA file (any line width) or of a
    TSV of id and sequence, with or without a header (a header may name the columns id and
    sequence); gzipped files are read too. An InputError names the file, the id or line, and the
    problem."""
    lines = read_lines(path)
    numbered = [(number, line) for number, line in enumerate(lines, 1) if line.strip()]
    if not numbered:
        raise InputError(str(path), "holds no sequences (the file is empty)", FORMAT_FIX)
    fasta = numbered[0][1].lstrip().startswith(">")
    records = _fasta_records(path, numbered) if fasta else _tsv_records(path, numbered)
    first_line: dict[str, int] = {}
    ids, sequences = [], []
    for number, name, raw in records:
        where = f"{path} line {number}"
        if name in first_line:
            raise InputError(where, f"duplicate id {name!r} (first on line {first_line[name]})",
                             "give every sequence its own id")
        first_line[name] = number
        sequence = normalize_sequence(raw)
        if not sequence:
            raise InputError(where, f"sequence {name!r} is empty", "give its sequence or drop the record")
        bad = first_bad_letter(sequence)
        if bad:
            position = sequence.index(bad)
            raise InputError(where, f"sequence {name!r} has the letter {raw.strip()[position]!r} at position "
                             f"{position + 1}", LETTERS_FIX)
        ids.append(name)
        sequences.append(sequence)
    return pd.DataFrame({"id": ids, "sequence": sequences})


def read_lines(path) -> list[str]:
    """The lines of a text file (gzipped when the name ends in .gz); a missing or binary file is
    an InputError."""
    path = Path(path)
    if not path.is_file():
        raise InputError(str(path), "file not found", "check the path")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt") as handle:
            return handle.read().splitlines()
    except (UnicodeDecodeError, gzip.BadGzipFile):
        raise InputError(str(path), "is not a text file", FORMAT_FIX) from None


def _fasta_records(path, numbered) -> list[tuple[int, str, str]]:
    """(line of the '>' header, id = its first word, sequence) per record."""
    records, name, parts, header_line = [], None, [], 0
    for number, line in numbered:
        line = line.strip()
        if line.startswith(">"):
            if name is not None:
                records.append((header_line, name, "".join(parts)))
            words = line[1:].split()
            if not words:
                raise InputError(f"{path} line {number}", "a '>' line without an id", "write the id right after '>'")
            name, parts, header_line = words[0], [], number
        else:
            parts.append("".join(line.split()))  # FASTA lines may be wrapped or spaced at any width
    records.append((header_line, name, "".join(parts)))
    return records


def _tsv_records(path, numbered) -> list[tuple[int, str, str]]:
    """(line, id, sequence) per row of a TSV; a first row whose second field is no sequence is a header."""
    rows = [(number, [field.strip() for field in line.split("\t")]) for number, line in numbered]
    id_column, sequence_column = 0, 1
    number, first = rows[0]
    if len(first) < 2:
        raise InputError(f"{path} line {number}", "is neither a FASTA record ('>' line) nor an id<TAB>sequence row",
                         FORMAT_FIX)
    if _is_header(first):
        lowered = [field.lower() for field in first]
        id_column = next((lowered.index(name) for name in ID_NAMES if name in lowered), 0)
        sequence_column = next((lowered.index(name) for name in SEQUENCE_NAMES if name in lowered), 1)
        rows = rows[1:]
        if not rows:
            raise InputError(str(path), "holds a header and no sequences", FORMAT_FIX)
    records = []
    for number, fields in rows:
        if len(fields) <= max(id_column, sequence_column):
            raise InputError(f"{path} line {number}", f"has {len(fields)} column(s), not an id and a sequence",
                             FORMAT_FIX)
        if not fields[id_column]:
            raise InputError(f"{path} line {number}", "has no id", "give each sequence an id in the first column")
        records.append((number, fields[id_column], fields[sequence_column]))
    return records


def _is_header(fields: list[str]) -> bool:
    """Column names, or a second field that is mostly not nucleotides. A sequence with a stray
    letter is still most nucleotides, so it is read as data and its letter reported."""
    if {field.lower() for field in fields} & {*ID_NAMES, *SEQUENCE_NAMES}:
        return True
    letters = fields[1].upper()
    return bool(letters) and sum(letter in "ACGTUN" for letter in letters) < 0.8 * len(letters)
