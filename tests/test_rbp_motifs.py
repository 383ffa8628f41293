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
