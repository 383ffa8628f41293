"""Sequence normalization: RNA or lower case in, upper-case DNA (ACGTN) out."""

from __future__ import annotations

import re

ALPHABET = "ACGTN"
_BAD_LETTER = re.compile(f"[^{ALPHABET}]")


def normalize_sequence(sequence: str) -> str:
    """Upper-case and turn U into T, so RNA and DNA spellings of one reporter are equal."""
    return sequence.strip().upper().replace("U", "T")


def first_bad_letter(sequence: str) -> str | None:
    """The first letter outside ACGTN of a normalized sequence, or None."""
    match = _BAD_LETTER.search(sequence)
    return match.group(0) if match else None


def one_hot(sequence: str, length: int | None = None):
    """(4, length) float32 one-hot in ACGT order; N and padding are all-zero columns."""
    import numpy as np

    length = length or len(sequence)
    codes = np.frombuffer(sequence[:length].encode(), dtype=np.uint8)
    lookup = np.full(256, 4, dtype=np.int64)
    for index, base in enumerate(b"ACGT"):
        lookup[base] = index
    out = np.zeros((5, length), dtype=np.float32)
    out[lookup[codes], np.arange(len(codes))] = 1.0
    return out[:4]
