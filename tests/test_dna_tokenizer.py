"""DnaTokenizer and its folder: encode/decode of every kind, input normalization, [UNK], atomic writes."""

from __future__ import annotations

import numpy as np
import pytest
from transformers import PreTrainedTokenizerFast

from decaylm.errors import InputError
from decaylm.sequences import normalize_sequence
from decaylm.tokenizers import dna_tokenizer, load_tokenizer, train_tokenizer
from tests.helpers.tokenizers import (
    CONCATENATING,
    LOSSLESS,
    SPECS,
    WHOLLY_HF,
    plant,
)


@pytest.mark.parametrize("name", LOSSLESS)
def test_round_trip(trained_tokenizers, held_out, name):
    tok = trained_tokenizers[name]
    for sequence in held_out:
        assert tok.decode(tok.encode(sequence)) == sequence


@pytest.mark.parametrize("name", list(SPECS))
def test_encode_layout_and_batch(trained_tokenizers, held_out, name):
    tok = trained_tokenizers[name]
    batch = tok.encode_many(held_out)
    assert batch == [tok.encode(s) for s in held_out]
    for sequence, ids in zip(held_out, batch):
        assert ids[0] == tok.cls_token_id and ids[-1] == tok.sep_token_id
        assert tok.segment(sequence) == tok.hf.convert_ids_to_tokens(ids[1:-1])
        cut = tok.encode(sequence, max_length=8)
        if len(ids) > 8:
            assert len(cut) == 8 and cut[:-1] == ids[:7] and cut[-1] == tok.sep_token_id
        else:
            assert cut == ids
    ids = (tok.pad_token_id, tok.unk_token_id, tok.cls_token_id, tok.sep_token_id, tok.mask_token_id)
    assert ids == (0, 1, 2, 3, 4)
    assert tok.vocab_size == len(tok.hf.get_vocab())


@pytest.mark.parametrize("name", CONCATENATING)
def test_tokens_concatenate_to_the_sequence(trained_tokenizers, held_out, name):
    for sequence in held_out:
        assert "".join(trained_tokenizers[name].segment(sequence)) == sequence


@pytest.mark.parametrize("name", list(SPECS))
def test_lower_case_and_rna_input(trained_tokenizers, corpus, name):
    tok = trained_tokenizers[name]
    for sequence in corpus[0][:10]:
        rna = sequence.lower().replace("t", "u")
        assert tok.encode(rna) == tok.encode(sequence)
        assert tok.encode(sequence.replace("T", "U")) == tok.encode(sequence)


def test_normalize_sequence():
    assert normalize_sequence(" acguN\n") == "ACGTN"


@pytest.mark.parametrize("name", WHOLLY_HF)
def test_tokenizer_json_alone_encodes_the_same(trained_tokenizers, corpus, name):
    """Users who load only tokenizer.json get the same ids, RNA/lower case included."""
    tok = trained_tokenizers[name]
    hf = PreTrainedTokenizerFast(tokenizer_file=str(tok.path / "tokenizer.json"))
    for sequence in corpus[0][:10]:
        assert hf(sequence.lower().replace("t", "u"))["input_ids"] == tok.encode(sequence)


@pytest.mark.parametrize("name", ["nucleotide", "bpe", "wordpiece", "morfessor"])
def test_unknown_letter_is_one_unk(trained_tokenizers, held_out, name):
    tok = trained_tokenizers[name]
    sequence = plant(held_out[1], "R", 40)
    tokens = tok.segment(sequence)
    assert tokens.count("[UNK]") == 1
    left, right = "".join(tokens[: tokens.index("[UNK]")]), "".join(tokens[tokens.index("[UNK]") + 1 :])
    assert (left, right) == (sequence[:40], sequence[41:])
    assert tok.unk_rate([sequence]) == pytest.approx(1 / len(tokens))
    assert tok.unk_rate(held_out) == 0.0


def test_a_failed_run_leaves_no_tokenizer_json(tmp_path, monkeypatch, corpus):
    out = tmp_path / "bpe"
    train_tokenizer(SPECS["bpe"], corpus[0], None, out, seed=1)
    assert (out / "tokenizer.json").is_file()

    def crash(*args, **kwargs):
        raise RuntimeError("killed")

    monkeypatch.setattr(dna_tokenizer, "write_json", crash)
    with pytest.raises(RuntimeError, match="killed"):
        train_tokenizer(SPECS["bpe"], corpus[0], None, out, seed=1)
    assert not (out / "tokenizer.json").exists()
    assert not [p for p in out.iterdir() if p.name.startswith(".tmp")]
    with pytest.raises(InputError, match="is not a trained tokenizer"):
        load_tokenizer(out)


# ---------------------------------------------------------------------------------------------
# the UNK rate in chunks (benchmarks/bench_scale.py: in one batch it held every training sequence's encoding)

def test_unk_rate_in_chunks_counts_as_one_batch(monkeypatch, trained_tokenizers, held_out):
    from decaylm.tokenizers import dna_tokenizer

    sequences = [s[:40] + "X" + s[41:] if i % 3 == 0 else s for i, s in enumerate(held_out)]  # some [UNK]
    whole = {name: tok.unk_rate(sequences) for name, tok in trained_tokenizers.items()}
    assert any(0 < rate < 1 for rate in whole.values())
    monkeypatch.setattr(dna_tokenizer, "UNK_RATE_CHUNK", 3)
    assert {name: tok.unk_rate(sequences) for name, tok in trained_tokenizers.items()} == whole


# ---------------------------------------------------------------------------------------------
# each token's nucleotides (encode_with_spans: what a BERT with nt_features averages over)

@pytest.mark.parametrize("name", list(SPECS))
def test_spans_are_each_tokens_nucleotides(trained_tokenizers, held_out, name):
    tok = trained_tokenizers[name]
    sequences = [*held_out[:5], plant(held_out[5], "NR", 40), "ACG", "", held_out[6].lower().replace("t", "u")]
    ids, spans = tok.encode_with_spans(sequences)
    assert ids == tok.encode_many(sequences)
    for sequence, token_ids, span in zip(sequences, ids, spans):
        sequence = normalize_sequence(sequence)
        assert span.shape == (len(token_ids), 2)
        assert span[0].tolist() == span[-1].tolist() == [0, 0]  # [CLS] and [SEP]: empty
        body, tokens = span[1:-1], tok.hf.convert_ids_to_tokens(token_ids[1:-1])
        assert all(0 <= a < b <= len(sequence) for a, b in body)  # every token stands for nucleotides, [UNK] too
        for token, (a, b) in zip(tokens, body):
            assert token == "[UNK]" or sequence[a:b] == token
        if name in CONCATENATING:  # the tokens tile the sequence
            assert np.array_equal(body[1:, 0], body[:-1, 1])
            assert sequence == "" or (body[0, 0], body[-1, 1]) == (0, len(sequence))
        elif name == "kmer" and len(sequence) >= 6:  # window i is [i, i + 6): together, the whole sequence
            assert body.tolist() == [[i, i + 6] for i in range(len(sequence) - 5)]
    if name.startswith("rbp"):
        assert any(len(span) > 2 for span in spans)  # motif windows were found and placed
    cut_ids, cut_spans = tok.encode_with_spans(sequences, max_length=8)
    assert cut_ids == tok.encode_many(sequences, max_length=8)
    for full, cut in zip(spans, cut_spans):
        expected = full if len(full) <= 8 else np.concatenate([full[:7], [[0, 0]]])
        np.testing.assert_array_equal(cut, expected)
