"""K-mer motif tables for the `rbp_window` tokenizer: known decay elements, or learned from training data.

A motif table is a data frame with (at least) the columns `kmer` and `score`. The tokenizer keeps a
k-mer of a sequence as a token only when the table holds it with abs(score) > threshold.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd

from decaylm.errors import InputError
from decaylm.sequences import BASES

IUPAC = {
    "A": "A", "C": "C", "G": "G", "T": "T",
    "R": "AG", "Y": "CT", "S": "CG", "W": "AT", "K": "GT", "M": "AC",
    "B": "CGT", "D": "AGT", "H": "ACT", "V": "ACG", "N": "ACGT",
}

# Known cis-elements of maternal mRNA clearance in zebrafish embryos (the list of the project brief;
# the MPRA itself is Rabani et al., Mol Cell 2017), as IUPAC DNA patterns. Kept in code rather than a
# data file so the table always ships with the package.
#   miR-430: seed match GCACTT (Giraldez et al., Science 2006) and its 7-mer sites, which contain the
#            seed: listed so the table reads as the biology; they add no k-mer.
#   ARE (AU-rich element): TATTTAT and the ATTTA pentamer.
#   Pumilio: binding element TGTAHATA (H = A/C/T).
#   poly-U: TTTTTTT.
#   GC-rich: 7-mers with at least 6 G/C, written as seven patterns with one free position, whose
#            union is exactly "at least 6 of the 7 bases are G or C".
KNOWN_ELEMENTS: tuple[tuple[str, str], ...] = (
    ("miR-430 seed", "GCACTT"),
    ("miR-430 7mer-m8", "AGCACTT"),
    ("miR-430 7mer-A1", "GCACTTA"),
    ("ARE", "TATTTAT"),
    ("ARE pentamer", "ATTTA"),
    ("Pumilio", "TGTAHATA"),
    ("poly-U", "TTTTTTT"),
) + tuple(("GC-rich", "S" * i + "N" + "S" * (6 - i)) for i in range(7))


def expand_iupac(pattern: str) -> list[str]:
    """All DNA strings matched by an IUPAC pattern, e.g. 'TGH' -> ['TGA', 'TGC', 'TGT']."""
    try:
        choices = [IUPAC[letter] for letter in pattern.upper()]
    except KeyError as error:
        raise ValueError(f"not an IUPAC DNA pattern: {pattern!r}") from error
    return ["".join(letters) for letters in itertools.product(*choices)]


def kmers_with_element(pattern: str, k: int) -> set[str]:
    """The k-mers (ACGT) that contain the element; for an element longer than k, its k-long windows.

    Pumilio's TGTAHATA is 8 nt, longer than the default 7-mer window, so a 7-mer cannot contain it:
    its two 7-mer windows (TGTAHAT, GTAHATA) stand for it instead.
    """
    kmers: set[str] = set()
    for word in expand_iupac(pattern):
        if len(word) >= k:
            kmers.update(word[i : i + k] for i in range(len(word) - k + 1))
            continue
        free = k - len(word)
        for offset in range(free + 1):
            for fill in itertools.product(BASES, repeat=free):
                fill = "".join(fill)
                kmers.add(fill[:offset] + word + fill[offset:])
    return kmers


def known_table(k: int = 7) -> pd.DataFrame:
    """Known elements expanded to k-mers: columns kmer, score (1.0 for all), elements (names, ';')."""
    names: dict[str, set[str]] = {}
    for name, pattern in KNOWN_ELEMENTS:
        for kmer in kmers_with_element(pattern, k):
            names.setdefault(kmer, set()).add(name)
    kmers = sorted(names)
    return pd.DataFrame(
        {"kmer": kmers, "score": 1.0, "elements": [";".join(sorted(names[kmer])) for kmer in kmers]}
    )


def _kmer_ids(sequence: str, k: int) -> np.ndarray:
    """Distinct integer ids (base 4) of the ACGT k-mers in a sequence; windows with other letters skipped."""
    codes = np.full(256, -1, dtype=np.int64)
    for value, base in enumerate(BASES):
        codes[ord(base)] = value
    seq = codes[np.frombuffer(sequence.encode("ascii", "replace"), dtype=np.uint8)]
    if len(seq) < k:
        return np.empty(0, dtype=np.int64)
    windows = np.lib.stride_tricks.sliding_window_view(seq, k)
    valid = (windows >= 0).all(axis=1)
    ids = windows[valid] @ (4 ** np.arange(k - 1, -1, -1))
    return np.unique(ids)


def _id_to_kmer(index: int, k: int) -> str:
    letters = []
    for _ in range(k):
        index, value = divmod(index, 4)
        letters.append(BASES[value])
    return "".join(reversed(letters))


TRAIN_TABLE_CHUNK = 65_536  # sequences counted at a time by train_table


def train_table(sequences, targets, k: int = 7, min_count: int = 20) -> pd.DataFrame:
    """Association of each k-mer with the target, from training sequences only.

    score = Welch t-statistic of y between sequences that contain the k-mer (at least once) and those
    that do not. A t-statistic rather than a plain difference of means, so that a rare k-mer with a
    few extreme sequences does not outrank a common one with a steady effect. Positive = higher y.
    K-mers in fewer than `min_count` sequences (or in all but one) get no score and are left out.
    Returns columns kmer, score, n_with, mean_with, mean_without; sorted by abs(score), then k-mer.
    """
    y = np.asarray(targets, dtype=float)
    sequences = list(sequences)
    if len(sequences) != len(y):
        raise ValueError(f"{len(sequences)} sequences but {len(y)} targets")
    keep = np.isfinite(y)
    sequences = [s for s, ok in zip(sequences, keep) if ok]
    y = y[keep]
    n = len(y)
    size = 4**k
    # Counts and sums of y and y^2 per k-mer, TRAIN_TABLE_CHUNK sequences at a time, so memory does not grow
    # with n (all at once: ~3.5 GB at 8 x 10^5 sequences). np.add.at adds in order, one element at a time,
    # as one np.bincount over every sequence would: the sums are the same to the last bit.
    counts, s1, q1 = np.zeros(size, dtype=np.int64), np.zeros(size), np.zeros(size)
    for start in range(0, n, TRAIN_TABLE_CHUNK):
        per_sequence = [_kmer_ids(s, k) for s in sequences[start:start + TRAIN_TABLE_CHUNK]]
        kmer_index = np.concatenate(per_sequence) if per_sequence else np.empty(0, dtype=np.int64)
        y_index = np.repeat(y[start:start + TRAIN_TABLE_CHUNK], [len(ids) for ids in per_sequence])
        counts += np.bincount(kmer_index, minlength=size)
        np.add.at(s1, kmer_index, y_index)
        np.add.at(q1, kmer_index, y_index**2)
    n1 = counts.astype(float)
    n0, s0, q0 = n - n1, y.sum() - s1, (y**2).sum() - q1
    ok = (n1 >= max(min_count, 2)) & (n0 >= 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        m1, m0 = s1 / n1, s0 / n0
        v1 = np.maximum(q1 - n1 * m1**2, 0) / (n1 - 1)
        v0 = np.maximum(q0 - n0 * m0**2, 0) / (n0 - 1)
        t = (m1 - m0) / np.sqrt(v1 / n1 + v0 / n0)
    ok &= np.isfinite(t)
    ids = np.flatnonzero(ok)
    table = pd.DataFrame(
        {
            "kmer": [_id_to_kmer(int(i), k) for i in ids],
            "score": t[ids],
            "n_with": n1[ids].astype(int),
            "mean_with": m1[ids],
            "mean_without": m0[ids],
        }
    )
    return sort_table(table)


def sort_table(table: pd.DataFrame) -> pd.DataFrame:
    """Strongest first (abs(score) descending), ties by k-mer, so a top-N cut is deterministic."""
    order = sorted(range(len(table)), key=lambda i: (-abs(table["score"].iat[i]), table["kmer"].iat[i]))
    return table.iloc[order].reset_index(drop=True)


def read_table(path, k: int, where: str) -> pd.DataFrame:
    """A user's motif table (TSV with columns kmer, score); `where` names the config key in errors."""
    path = Path(path)
    if not path.is_file():
        raise InputError(where, f"motif table {path} not found",
                         "give a TSV with columns kmer, score, or use table: known / train")
    try:
        table = pd.read_csv(path, sep="\t", dtype={"kmer": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise InputError(where, f"cannot read motif table {path}: {error}", "give a tab-separated file") from None
    missing = {"kmer", "score"} - set(table.columns)
    if missing:
        raise InputError(where, f"motif table {path} lacks column(s) {', '.join(sorted(missing))}",
                         "give columns kmer, score (tab-separated, with a header)")
    table = table.copy()
    table["kmer"] = table["kmer"].astype(str).str.strip().str.upper().str.replace("U", "T")
    bad = table[(table["kmer"].str.len() != k) | ~table["kmer"].str.fullmatch(f"[{BASES}]+")]
    if len(bad):
        problem = f"motif table {path} row {bad.index[0] + 2}: {bad['kmer'].iat[0]!r} is not a {k}-mer of A/C/G/T"
        raise InputError(where, problem, f"use {k}-mers or set k")
    score = pd.to_numeric(table["score"], errors="coerce")
    if score.isna().any():
        row = int(np.flatnonzero(score.isna())[0])
        problem = f"motif table {path} row {row + 2}: score {table['score'].iat[row]!r} is not a number"
        raise InputError(where, problem, "give numeric scores")
    duplicated = table["kmer"].duplicated()
    if duplicated.any():
        raise InputError(where, f"motif table {path} lists {table['kmer'][duplicated].iat[0]} twice",
                         "keep one row per k-mer")
    table["score"] = score.astype(float)
    return sort_table(table)


def select_kmers(table: pd.DataFrame, threshold: float, top: int | None) -> list[str]:
    """The k-mers kept as tokens: abs(score) > threshold, at most `top` of the strongest; sorted."""
    table = sort_table(table)
    kept = table[table["score"].abs() > threshold]
    if top is not None:
        kept = kept.head(top)
    return sorted(kept["kmer"])

