"""decaylm.models.batching: batches of similar lengths that cover every item once, padded collates with
their attention mask, and BERT masking that spares special tokens and repeats with its seed and epoch."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import torch

from decaylm.models.batching import (MaskedTokenBatches, TokenBatches, batch_order, batches_by_length,
                                     collate_one_hot, encode, nucleotide_token_items, one_hot_items, token_items)

# token ids of a small vocabulary: specials 0-4, bases 5-8
TOKENIZER = SimpleNamespace(pad_token_id=0, cls_token_id=2, sep_token_id=3, mask_token_id=4, vocab_size=9)


def test_batches_cover_every_item_once_and_group_similar_lengths():
    rng = np.random.default_rng(0)
    lengths = list(rng.integers(5, 200, size=1000))
    batches = batch_order(lengths, 32, np.random.default_rng(1))
    assert sorted(np.concatenate(batches).tolist()) == list(range(1000))
    padding = sum(max(lengths[i] for i in b) * len(b) - sum(lengths[i] for i in b) for b in batches)
    shuffled = np.random.default_rng(2).permutation(1000)
    naive = sum(max(lengths[i] for i in b) * len(b) - sum(lengths[i] for i in b)
                for b in np.array_split(shuffled, len(batches)))
    assert padding < naive / 5


def test_batches_by_length_of_one_length_pad_nothing():
    items = token_items([np.ones(n) for n in (5, 3, 5, 7, 3, 5)])
    assert [b.tolist() for b in batches_by_length(items, 2)] == [[1, 4], [0, 2], [5, 3]]
    same = batches_by_length(items, 2, same_length=True)
    assert [b.tolist() for b in same] == [[1, 4], [0, 2], [5], [3]]


def test_collates_pad_to_the_longest_item_and_mask_the_padding():
    batch = TokenBatches(pad_id=0)(token_items([np.array([2, 5, 3]), np.array([2, 5, 6, 7, 3])], np.array([1.0, 2.0])))
    assert batch["input_ids"].tolist() == [[2, 5, 3, 0, 0], [2, 5, 6, 7, 3]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]]
    assert batch["y"].dtype == torch.float32 and batch["y"].tolist() == [1.0, 2.0]
    one_hot = collate_one_hot(one_hot_items(["ACG", "T"]))
    assert one_hot["x"].shape == (2, 4, 3) and "y" not in one_hot
    assert one_hot["x"][1, :, 1:].abs().sum() == 0  # padding reads as N: no base


def test_encode_cuts_long_sequences_keeping_the_final_sep():
    tokenizer = SimpleNamespace(sep_token_id=3, encode_many=lambda seqs: [[2, *[5] * len(s), 3] for s in seqs])
    ids = encode(tokenizer, ["A" * 10, "AA"], max_length=6)
    assert ids[0].tolist() == [2, 5, 5, 5, 5, 3] and ids[1].tolist() == [2, 5, 5, 3]


def test_nucleotide_items_cut_as_encode_and_collate_padded():
    """A BERT with nt_features: ids cut as `encode` cuts, spans alike (the last one [SEP]'s, empty), the
    nucleotides past the last kept token dropped; padding is -1 for a base and (0, 0) for a span."""
    def encode_many(sequences):
        return [[2, *[5] * (len(s) // 2), 3] for s in sequences]  # a token per two nucleotides

    def encode_with_spans(sequences):
        return encode_many(sequences), [np.array([[0, 0], *[[2 * i, 2 * i + 2] for i in range(len(s) // 2)], [0, 0]])
                                        for s in sequences]

    tokenizer = SimpleNamespace(sep_token_id=3, encode_many=encode_many, encode_with_spans=encode_with_spans)
    items = nucleotide_token_items(tokenizer, ["acgtacgtac", "ACGu"], max_length=5, y=np.array([1.0, 2.0]))
    assert [item["input_ids"].tolist() for item in items] == [ids.tolist() for ids in encode(tokenizer, ["A" * 10, "AAAA"], 5)]
    assert items[0]["spans"].tolist() == [[0, 0], [0, 2], [2, 4], [4, 6], [0, 0]]
    assert items[0]["nucleotides"].tolist() == [0, 1, 2, 3, 0, 1]  # normalized; cut after the last kept token
    assert items[1]["nucleotides"].tolist() == [0, 1, 2, 3] and items[1]["spans"].tolist() == [[0, 0], [0, 2], [2, 4], [0, 0]]
    batch = TokenBatches(pad_id=0)(items)
    assert batch["nucleotides"].tolist() == [[0, 1, 2, 3, 0, 1], [0, 1, 2, 3, -1, -1]]
    assert batch["spans"][1].tolist() == [[0, 0], [0, 2], [2, 4], [0, 0], [0, 0]] and batch["y"].tolist() == [1.0, 2.0]
    assert set(TokenBatches(0)(token_items([np.array([2, 5, 3])]))) == {"input_ids", "attention_mask"}  # others: as before


def test_masking_spares_special_tokens_and_repeats_with_seed_and_epoch():
    rng = np.random.default_rng(0)
    items = token_items([np.array([2, *rng.integers(5, 9, n), 3]) for n in rng.integers(20, 60, 64)])
    masked = MaskedTokenBatches(TOKENIZER, prob=0.15, seed=1)(items)
    ids = TokenBatches(0)(items)["input_ids"]
    scored = masked["labels"] != -100
    assert torch.equal(masked["labels"][scored], ids[scored])  # labels: the original token where scored
    special = (ids == 0) | (ids == 2) | (ids == 3)
    assert not (scored & special).any()
    assert torch.equal(masked["input_ids"][~scored], ids[~scored])  # only scored tokens change
    fraction = float(scored.sum() / (~special).sum())
    assert 0.1 < fraction < 0.2
    assert float((masked["input_ids"][scored] == 4).float().mean()) > 0.6  # most of them become [MASK]
    again = MaskedTokenBatches(TOKENIZER, prob=0.15, seed=1)(items)
    assert torch.equal(again["labels"], masked["labels"]) and torch.equal(again["input_ids"], masked["input_ids"])
    later = MaskedTokenBatches(TOKENIZER, prob=0.15, seed=1).for_epoch(2)(items)
    assert not torch.equal(later["labels"], masked["labels"])
