"""The overlap split's packed-window method (decaylm/split.py) against a brute-force reference: every pair of
sequences compared by its sets of k-mer strings, as the split defined groups before it packed windows."""

import numpy as np
import pytest

import decaylm.split as split
from decaylm.errors import InputError
from decaylm.split import overlap_groups, shares_overlap


def kmer_sets(sequences, k):
    return [{s[i:i + k] for i in range(len(s) - k + 1)} for s in sequences]


def reference_groups(sequences, k):
    """Union of every pair that shares a k-mer string; labels numbered by each group's first sequence."""
    parent = list(range(len(sequences)))

    def root(i):
        while parent[i] != i:
            i = parent[i]
        return i

    kmers = kmer_sets(sequences, k)
    for i in range(len(sequences)):
        for j in range(i):
            if kmers[i] & kmers[j]:
                parent[root(i)] = root(j)
    labels = {}
    return np.array([labels.setdefault(root(i), len(labels)) for i in range(len(sequences))])


def reference_shares(sequences, held_out, k):
    held = set().union(*kmer_sets(held_out, k)) if held_out else set()
    return np.array([bool(kmers & held) for kmers in kmer_sets(sequences, k)], dtype=bool)


def planted_sequences(n, k, seed, letters="ACGT"):
    """Random sequences of 0 to 90 letters, some with a stretch of k or k - 1 letters copied from an earlier
    one (a link, or just short of one), runs of N and lower-case letters."""
    rng = np.random.default_rng(seed)
    sequences = []
    for i in range(n):
        s = "".join(rng.choice(list(letters), size=int(rng.integers(0, 90))))
        if i and rng.random() < 0.5:
            donor = sequences[int(rng.integers(i))]
            length = k - int(rng.integers(2))
            if len(donor) >= length:
                start = int(rng.integers(len(donor) - length + 1))
                at = int(rng.integers(len(s) + 1))
                s = s[:at] + donor[start:start + length] + s[at:]
        if rng.random() < 0.1:
            s += "N" * int(rng.integers(k - 1, k + 2))  # shared N runs of k letters link, as equal strings do
        if rng.random() < 0.05:
            s = s.lower()
        sequences.append(s)
    return sequences


@pytest.mark.parametrize("k, letters, seed", [(30, "ACGT", 0), (30, "ACGTN", 1), (5, "AC", 2), (12, "ACGT", 3),
                                              (33, "ACGT", 4), (40, "ACGTN", 5), (1, "ACGT", 6), (8, "ACGTé", 7)])
def test_overlap_groups_match_the_brute_force_groups(k, letters, seed):
    sequences = planted_sequences(150, k, seed, letters)
    expected = reference_groups(sequences, k)
    assert 1 < len(set(expected)) < len(sequences) or k == 1  # some links, not all: the case tests something
    groups = overlap_groups(sequences, k)
    assert groups.tolist() == expected.tolist()


@pytest.mark.parametrize("k, seed", [(30, 10), (7, 11), (35, 12)])
def test_shares_overlap_matches_the_brute_force_mask(k, seed):
    sequences = planted_sequences(120, k, seed, "ACGTN")
    held_out, candidates = sequences[::3], [s for i, s in enumerate(sequences) if i % 3]
    expected = reference_shares(candidates, held_out, k)
    assert 0 < expected.sum() < len(candidates)
    assert shares_overlap(candidates, held_out, k).tolist() == expected.tolist()


def test_packing_in_small_chunks_gives_the_same_groups(monkeypatch):
    """Chunks of whole sequences (a screen of 10^6 reporters packs in many): one chunk or many, the same."""
    sequences = planted_sequences(150, 30, 20, "ACGTN")
    whole = overlap_groups(sequences, 30)
    monkeypatch.setattr(split, "CHUNK_LETTERS", 50)
    assert overlap_groups(sequences, 30).tolist() == whole.tolist() == reference_groups(sequences, 30).tolist()


def test_edge_cases_keep_the_string_behaviour():
    assert overlap_groups([], 30).tolist() == [] and overlap_groups([], 30).dtype == np.int32
    assert overlap_groups(["", "ACG", "ACG"], 30).tolist() == [0, 1, 2]       # shorter than k: alone
    assert overlap_groups(["ACGTA", "TTACGTAC", "ACGT"], 5).tolist() == [0, 0, 1]
    assert overlap_groups(["acgta", "ACGTA"], 5).tolist() == [0, 1]           # letters compared as written
    assert shares_overlap([], ["ACGT"], 3).dtype == bool
    assert shares_overlap(["ACGT"], [], 3).tolist() == [False]
    assert shares_overlap(["AAAA", "ACG"], ["AAA", "AC"], 3).tolist() == [True, False]
    with pytest.raises(InputError, match="split.group_overlap_nt"):
        overlap_groups(["ACGT"], 0)


def test_a_hundred_thousand_reporters_group_their_planted_pairs():
    """The packed windows at 10^5 reporters of 110 nt (8.1e6 windows) with planted tiles: every planted pair
    grouped, nothing else (speed and memory: benchmarks/bench_scale.py, docs/scale.md)."""
    rng = np.random.default_rng(0)
    letters = np.array(list("ACGT"))[rng.integers(4, size=(100_000, 110))]
    sequences = ["".join(row) for row in letters]
    for i in range(0, 1000, 2):  # 500 pairs sharing 30 nt
        sequences[i + 1] = sequences[i][40:70] + sequences[i + 1][30:]
    groups = overlap_groups(sequences, 30)
    assert (groups[0:1000:2] == groups[1:1000:2]).all()
    assert len(np.unique(groups)) == 100_000 - 500
