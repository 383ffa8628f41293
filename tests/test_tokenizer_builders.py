"""The builders of single kinds: non-overlapping k-mers, nucleotides, a user's motif table, a checkpoint's tokenizer."""

from __future__ import annotations

import pandas as pd
import pytest
from transformers import PreTrainedTokenizerFast

from decaylm.errors import InputError
from decaylm.tokenizers import dna_tokenizer, load_tokenizer, train_tokenizer
from tests.helpers.tokenizers import LENGTH, plant


def test_non_overlapping_kmers_keep_the_short_tail(trained_tokenizers, held_out):
    tok, sequence = trained_tokenizers["kmer_chunks"], held_out[0]
    tokens = tok.segment(sequence)
    assert tokens == [sequence[i : i + 6] for i in range(0, LENGTH, 6)]
    assert len(tokens[-1]) == LENGTH % 6 == 2 and "[UNK]" not in tokens
    assert tok.vocab_size == sum(4**n for n in range(1, 7)) + 5
    # A chunk with N is [UNK], and decode drops it.
    with_n = plant(sequence, "N", 7)
    assert tok.segment(with_n)[1] == "[UNK]"
    assert tok.decode(tok.encode(with_n)) == sequence[:6] + sequence[12:]


def test_nucleotide_keeps_n(trained_tokenizers):
    tok = trained_tokenizers["nucleotide"]
    assert tok.segment("ACGTN") == list("ACGTN")
    assert tok.vocab_size == 10


def test_rbp_user_table(tmp_path, corpus):
    path = tmp_path / "table.tsv"
    table = pd.DataFrame({"kmer": ["AAAAAAA", "CCCCCCC", "GGGGGGG"], "score": [2.0, -3.0, 0.5]})
    table.to_csv(path, sep="\t", index=False)
    spec = {"kind": "rbp_window", "table": str(path), "threshold": 1.0}
    tok = train_tokenizer(spec, corpus[0], None, tmp_path / "r", seed=1)
    assert tok.segment("AAAAAAAATTGGGGGGGTTCCCCCCC") == ["AAAAAAA", "AAAAAAA", "CCCCCCC"]
    bad = tmp_path / "bad.tsv"
    bad.write_text("kmer\tscore\nAAAA\t1\n")
    with pytest.raises(InputError, match=r"tokenizers\.r2\.table: .*row 2: 'AAAA' is not a 7-mer"):
        train_tokenizer({"kind": "rbp_window", "table": str(bad)}, corpus[0], None, tmp_path / "r2", seed=1)
    with pytest.raises(InputError, match=r"tokenizers\.r3\.table: motif table .*missing\.tsv not found"):
        spec = {"kind": "rbp_window", "table": str(tmp_path / "missing.tsv")}
        train_tokenizer(spec, corpus[0], None, tmp_path / "r3", seed=1)
    with pytest.raises(InputError, match=r"tokenizers\.r4\.threshold"):
        spec = {"kind": "rbp_window", "table": str(path), "threshold": 5}
        train_tokenizer(spec, corpus[0], None, tmp_path / "r4", seed=1)
    with pytest.raises(InputError, match=r"tokenizers\.r5\.table: 'train' needs training targets"):
        train_tokenizer({"kind": "rbp_window", "table": "train"}, corpus[0], None, tmp_path / "r5", seed=1)


def test_pretrained_copies_a_checkpoint_tokenizer(tmp_path, trained_tokenizers, held_out):
    checkpoint = tmp_path / "checkpoint"
    source = str(trained_tokenizers["bpe"].path / "tokenizer.json")
    PreTrainedTokenizerFast(tokenizer_file=source, **dna_tokenizer.SPECIAL_ROLES).save_pretrained(checkpoint)
    tok = train_tokenizer({"kind": "pretrained", "checkpoint": str(checkpoint)}, [], None, tmp_path / "pre", seed=1)
    assert tok.kind == "pretrained" and (tmp_path / "pre" / "tokenizer.json").is_file()
    assert tok.encode_many(held_out) == trained_tokenizers["bpe"].encode_many(held_out)
    assert load_tokenizer(tmp_path / "pre" / "tokenizer.json").encode(held_out[0]) == tok.encode(held_out[0])
    assert tok.decode(tok.encode(held_out[0])) == held_out[0]
    with pytest.raises(InputError, match=r"tokenizers\.pre2\.checkpoint: checkpoint directory .*nowhere not found"):
        spec = {"kind": "pretrained", "checkpoint": str(tmp_path / "nowhere")}
        train_tokenizer(spec, [], None, tmp_path / "pre2", seed=1)
