"""Pre-segmentation in Python: overlapping k-mers (and decoding them back), motif windows in order."""

from __future__ import annotations


from decaylm.tokenizers import rbp_motifs
from tests.helpers.tokenizers import LENGTH, plant


def test_overlapping_kmers(trained_tokenizers, held_out):
    tok, k = trained_tokenizers["kmer"], 6
    sequence = held_out[0]
    tokens = tok.segment(sequence)
    assert tokens == [sequence[i : i + k] for i in range(LENGTH - k + 1)]
    assert tok.vocab_size == 4**k + 5
    # An N makes the k windows over it [UNK]; decode still recovers every other base.
    with_n = plant(sequence, "N", 50)
    tokens = tok.segment(with_n)
    assert [i for i, t in enumerate(tokens) if t == "[UNK]"] == list(range(50 - k + 1, 51))
    assert tok.decode(tok.encode(with_n)) == with_n
    # Shorter than k: no window, one [UNK].
    assert tok.segment("ACG") == ["[UNK]"]


def test_rbp_known_keeps_motif_windows_in_order(trained_tokenizers):
    tok = trained_tokenizers["rbp_known"]
    known = set(rbp_motifs.known_table(7)["kmer"])
    background = "A" * LENGTH  # poly-A holds no known element
    assert tok.encode(background) == [tok.cls_token_id, tok.sep_token_id]
    assert tok.segment(background) == [] and tok.decode(tok.encode(background)) == ""
    sequence = plant(plant(background, "TATTTAT", 20), "AGCACTTA", 60)
    expected = [sequence[i : i + 7] for i in range(LENGTH - 6) if sequence[i : i + 7] in known]
    assert tok.segment(sequence) == expected
    assert "TATTTAT" in expected and expected.index("AGCACTT") < expected.index("GCACTTA")
    assert tok.decode(tok.encode(sequence)) == " ".join(expected)
    assert tok.vocab_size == len(known) + 5
