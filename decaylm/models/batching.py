"""Batches for every model: token batches (BERT, MLM, fine-tuning) and one-hot batches (CNN).

An item is a dict of numpy arrays for one sequence (`input_ids`, or `x` for one-hot; a BERT with
`nt_features` also gets `nucleotides` and `spans`: `nucleotide_token_items`), plus
`y` when it has a target and `w`, its loss weight, when it is a training item of a weighted
model (`weighting: reads`; validation items never carry one); a collate turns a list of items into the tensors a model's forward
takes (`model(**batch)`). Items of one batch are padded to the longest of them; the
batch orders keep lengths alike within a batch, so there is little padding.
"""

from __future__ import annotations

import numpy as np
import torch

from decaylm.sequences import base_codes, normalize_sequence, one_hot


def targets(frame, aux: np.ndarray | None = None) -> np.ndarray:
    """y per row; with auxiliary targets, rows of [y, *aux] (column 0 is the target)."""
    y = frame["y"].to_numpy(dtype=np.float32)
    return y if aux is None else np.column_stack([y, aux]).astype(np.float32)


def with_targets(items: list[dict], y: np.ndarray | None) -> list[dict]:
    if y is None:
        return items
    for item, value in zip(items, y):
        item["y"] = value
    return items


def with_weights(items: list[dict], w: np.ndarray | None) -> list[dict]:
    """Each item's loss weight (decaylm.models.training.reads_weights) as `w`; None: unweighted."""
    if w is not None:
        for item, value in zip(items, w, strict=True):
            item["w"] = np.float32(value)
    return items


def encode(tokenizer, sequences, max_length: int) -> list[np.ndarray]:
    """Token ids per sequence, [CLS] ... [SEP], cut to max_length (keeping the final [SEP])."""
    return [np.asarray(_cut(ids, max_length, tokenizer.sep_token_id), dtype=np.int64)
            for ids in tokenizer.encode_many(list(sequences))]


def _cut(tokens, max_length: int, last) -> list:
    """The first max_length - 1 tokens and `last` (the [SEP], or its span) when there are more."""
    return list(tokens) if len(tokens) <= max_length else [*tokens[: max_length - 1], last]


def one_hot_items(sequences, y: np.ndarray | None = None) -> list[dict]:
    return with_targets([{"x": one_hot(s)} for s in sequences], y)


def token_items(ids: list[np.ndarray], y: np.ndarray | None = None) -> list[dict]:
    return with_targets([{"input_ids": np.asarray(i, dtype=np.int64)} for i in ids], y)


def nucleotide_token_items(tokenizer, sequences, max_length: int, y: np.ndarray | None = None) -> list[dict]:
    """Token items that also carry the nucleotides (a BERT with `nt_features`): `nucleotides`, the
    normalized sequence as base_codes, and `spans`, each token's [start, end) in it
    (DnaTokenizer.encode_with_spans). Ids and spans are cut as `encode` cuts; a cut sequence loses the
    nucleotides past its last kept token too (they would only reach it through the convolutions' edge)."""
    sequences = [normalize_sequence(str(s)) for s in sequences]
    items = []
    for sequence, ids, spans in zip(sequences, *tokenizer.encode_with_spans(sequences)):
        if len(ids) > max_length:
            ids, spans = _cut(ids, max_length, tokenizer.sep_token_id), np.array(_cut(spans, max_length, (0, 0)))
            sequence = sequence[: spans[:, 1].max()]
        items.append({"input_ids": np.asarray(ids, dtype=np.int64), "spans": spans, "nucleotides": base_codes(sequence)})
    return with_targets(items, y)


def item_length(item: dict) -> int:
    return len(item["input_ids"]) if "input_ids" in item else item["x"].shape[-1]


def _stack_targets(items: list[dict]) -> dict:
    """`y` (and `w`) of a batch, where its items have them."""
    return {key: torch.from_numpy(np.asarray([item[key] for item in items], dtype=np.float32))
            for key in ("y", "w") if key in items[0]}


def collate_one_hot(items: list[dict]) -> dict:
    """(batch, 4, length) one-hot, zero-padded (padding reads as N)."""
    length = max(item["x"].shape[1] for item in items)
    x = np.zeros((len(items), 4, length), dtype=np.float32)
    for row, item in enumerate(items):
        x[row, :, : item["x"].shape[1]] = item["x"]
    return {"x": torch.from_numpy(x), **_stack_targets(items)}


class TokenBatches:
    """Collate of token items: input_ids padded with `pad_id`, and the attention mask; items with
    nucleotides (nucleotide_token_items) add `nucleotides` padded with -1 and `spans` padded with the
    empty span (0, 0)."""

    def __init__(self, pad_id: int):
        self.pad_id = pad_id

    def __call__(self, items: list[dict]) -> dict:
        length = max(len(item["input_ids"]) for item in items)
        ids = np.full((len(items), length), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(items), length), dtype=np.int64)
        for row, item in enumerate(items):
            ids[row, : len(item["input_ids"])] = item["input_ids"]
            mask[row, : len(item["input_ids"])] = 1
        batch = {"input_ids": torch.from_numpy(ids), "attention_mask": torch.from_numpy(mask)}
        if "nucleotides" in items[0]:
            bases = np.full((len(items), max(1, *(len(item["nucleotides"]) for item in items))), -1, dtype=np.int64)
            spans = np.zeros((len(items), length, 2), dtype=np.int64)
            for row, item in enumerate(items):
                bases[row, : len(item["nucleotides"])] = item["nucleotides"]
                spans[row, : len(item["spans"])] = item["spans"]
            batch.update(nucleotides=torch.from_numpy(bases), spans=torch.from_numpy(spans))
        return {**batch, **_stack_targets(items)}


class MaskedTokenBatches(TokenBatches):
    """Token batches with BERT masking (15% of real tokens; of those 80% [MASK], 10% a random token,
    10% kept) and `labels` (-100 where not scored). The masks come from a generator seeded per
    epoch (`for_epoch`), so a run and its resumed twin mask alike; validation uses epoch 0's seed
    every time, so held-out losses of different epochs are comparable."""

    def __init__(self, tokenizer, prob: float, seed: int, epoch: int = 0):
        super().__init__(tokenizer.pad_token_id)
        self.special = [tokenizer.pad_token_id, tokenizer.cls_token_id, tokenizer.sep_token_id]
        self.mask_id, self.vocab_size, self.prob, self.seed = tokenizer.mask_token_id, tokenizer.vocab_size, prob, seed
        self.generator = torch.Generator().manual_seed(seed * 100_003 + epoch)
        self.tokenizer = tokenizer

    def for_epoch(self, epoch: int) -> MaskedTokenBatches:
        return MaskedTokenBatches(self.tokenizer, self.prob, self.seed, epoch)

    def __call__(self, items: list[dict]) -> dict:
        batch = super().__call__(items)
        ids, attention = batch["input_ids"], batch["attention_mask"]
        special = attention == 0
        for token in self.special:
            special |= ids == token
        chosen = (torch.rand(ids.shape, generator=self.generator) < self.prob) & ~special
        roll = torch.rand(ids.shape, generator=self.generator)
        random_ids = torch.randint(0, self.vocab_size, ids.shape, generator=self.generator)
        inputs = ids.clone()
        inputs[chosen & (roll < 0.8)] = self.mask_id
        swap = chosen & (roll >= 0.8) & (roll < 0.9)
        inputs[swap] = random_ids[swap]
        batch["input_ids"], batch["labels"] = inputs, torch.where(chosen, ids, torch.full_like(ids, -100))
        return batch


def batch_order(lengths: list[int], batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffled batches of indices; within windows of 50 batches, items are sorted by length
    so each batch pads to nearly its own length."""
    order = rng.permutation(len(lengths))
    window = batch_size * 50
    batches = []
    for start in range(0, len(order), window):
        chunk = order[start:start + window]
        chunk = chunk[np.argsort(np.asarray(lengths)[chunk], kind="stable")]
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def batches_by_length(items: list[dict], batch_size: int, same_length: bool = False) -> list[np.ndarray]:
    """Index batches over `items` sorted by length (the least padding). With `same_length`, a batch
    holds items of one length only, so nothing is padded: what a model predicts for an item then
    does not depend on the items scored beside it (padding reaches a CNN's global pooling, and
    under bf16 it moves a transformer's sums)."""
    lengths = np.array([item_length(item) for item in items])
    order = np.argsort(lengths, kind="stable")
    if not same_length:
        return [order[start:start + batch_size] for start in range(0, len(items), batch_size)]
    runs = np.split(order, np.flatnonzero(np.diff(lengths[order])) + 1) if len(order) else []
    return [run[start:start + batch_size] for run in runs for start in range(0, len(run), batch_size)]
