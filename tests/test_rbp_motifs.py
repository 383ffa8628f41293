"""The rbp_window motif tables: the known table is every 7-mer with a known element; the learned table
scores planted motifs with Welch's t."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from decaylm.tokenizers import dna_tokenizer, rbp_motifs
from tests.helpers.tokenizers import DOWN, LENGTH, UP, plant


def element_regex() -> re.Pattern:
    """Brute-force definition of the known table, written independently of decaylm.tokenizers.rbp_motifs."""
    iupac = {"H": "[ACT]", "S": "[CG]", "N": "[ACGT]"}
    contained = ["GCACTT", "AGCACTT", "GCACTTA", "TATTTAT", "ATTTA", "TTTTTTT"]
    pumilio_windows = ["TGTAHAT", "GTAHATA"]  # the 7-mer windows of the 8-mer TGTAHATA
    patterns = [".*" + p + ".*" for p in contained] + ["".join(iupac.get(c, c) for c in p) for p in pumilio_windows]
    return re.compile("|".join(f"(?:{p})" for p in patterns))


def test_known_table_is_every_7mer_with_an_element():
    regex = element_regex()
    expected = {
        kmer
        for kmer in ("".join(p) for p in itertools.product("ACGT", repeat=7))
        if regex.fullmatch(kmer) or sum(c in "GC" for c in kmer) >= 6
    }
    table = rbp_motifs.known_table(7)
    assert set(table["kmer"]) == expected and len(table) == len(expected)
    assert {"AGCACTT", "GCACTTA", "TATTTAT", "TGTACAT", "TTTTTTT", "GGGCGGA"} <= expected


def test_rbp_train_table_finds_planted_motifs(trained_tokenizers, corpus):
    tok = trained_tokenizers["rbp_train"]
    saved = pd.read_csv(tok.path / dna_tokenizer.MOTIF_TABLE_FILE, sep="\t")
    sequences, y = corpus
    table = rbp_motifs.train_table(sequences, y, k=7, min_count=3)
    assert list(saved["kmer"]) == list(table["kmer"])
    assert np.allclose(saved["score"], table["score"], rtol=1e-5)
    assert table["kmer"].iat[0] in (UP, DOWN)
    for motif, sign in ((UP, 1), (DOWN, -1)):
        score = table.loc[table["kmer"] == motif, "score"].iat[0]
        has = np.array([motif in s for s in sequences])
        expected = scipy_stats.ttest_ind(y[has], y[~has], equal_var=False).statistic
        assert np.sign(score) == sign and score == pytest.approx(expected, rel=1e-9)
        assert saved.loc[saved["kmer"] == motif, "kept"].iat[0]
        assert motif in tok.segment(plant("A" * LENGTH, motif, 30))
    assert table["n_with"].min() >= 3 and len(table) > 40
    assert tok.vocab_size == 40 + 5 and saved["kept"].sum() == 40


def _one_pass_table(sequences, y, k, min_count):
    """train_table as it was before it counted in chunks: one np.bincount over every sequence's k-mers."""
    n = len(y)
    per_sequence = [rbp_motifs._kmer_ids(s, k) for s in sequences]
    seq_index = np.repeat(np.arange(n), [len(ids) for ids in per_sequence])
    kmer_index = np.concatenate(per_sequence)
    n1 = np.bincount(kmer_index, minlength=4**k).astype(float)
    s1 = np.bincount(kmer_index, weights=y[seq_index], minlength=4**k)
    q1 = np.bincount(kmer_index, weights=y[seq_index] ** 2, minlength=4**k)
    return n1, s1, q1


@pytest.mark.parametrize("chunk", [1, 7, 1000])
def test_train_table_in_chunks_is_the_one_pass_table_to_the_bit(monkeypatch, chunk):
    """Counting TRAIN_TABLE_CHUNK sequences at a time (memory that does not grow with n) gives the same table,
    bit for bit, as one pass over every sequence; sequences with N, shorter than k, and a NaN target included."""
    rng = np.random.default_rng(5)
    sequences = ["".join(rng.choice(list("ACGT"), size=int(rng.integers(3, 60)))) for _ in range(300)]
    sequences[3] = sequences[3][:10] + "NN" + sequences[3][10:]
    y = rng.normal(size=300) * 3.7 + 1 / 3
    y[11] = np.nan
    monkeypatch.setattr(rbp_motifs, "TRAIN_TABLE_CHUNK", chunk)
    table = rbp_motifs.train_table(sequences, y, k=3, min_count=2)
    keep = np.isfinite(y)
    n1, s1, q1 = _one_pass_table([s for s, ok in zip(sequences, keep) if ok], y[keep], 3, 2)
    ids = [int("".join("ACGT".index(c).__str__() for c in kmer), 4) for kmer in table["kmer"]]
    assert len(table) > 30 and table["n_with"].tolist() == n1[ids].astype(int).tolist()
    assert (table["mean_with"].to_numpy() == s1[ids] / n1[ids]).all()
    yk = y[keep]
    n0, s0, q0 = len(yk) - n1, yk.sum() - s1, (yk**2).sum() - q1
    with np.errstate(divide="ignore", invalid="ignore"):
        m1, m0 = s1 / n1, s0 / n0
        v1, v0 = np.maximum(q1 - n1 * m1**2, 0) / (n1 - 1), np.maximum(q0 - n0 * m0**2, 0) / (n0 - 1)
        t = (m1 - m0) / np.sqrt(v1 / n1 + v0 / n0)
    assert (table["score"].to_numpy() == t[ids]).all()
    # and the whole table, scores included, is that of the default chunk (every sequence in one chunk here)
    monkeypatch.setattr(rbp_motifs, "TRAIN_TABLE_CHUNK", 10**6)
    pd.testing.assert_frame_equal(table, rbp_motifs.train_table(sequences, y, k=3, min_count=2), check_exact=True)
