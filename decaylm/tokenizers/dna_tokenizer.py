"""DnaTokenizer, and the tokenizer folder: its file names, writing it atomically, loading it.

A folder holds tokenizer.json (a Hugging Face fast tokenizer), meta.json (kind, resolved params,
seed, training time, ...) and, for some kinds, a model file of its own (MORFESSOR_FILE,
MOTIF_TABLE_FILE). The kinds and how each one encodes and decodes: see decaylm.tokenizers.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
from transformers import AutoTokenizer, PreTrainedTokenizerFast

from decaylm.errors import InputError
from decaylm.io import write_json
from decaylm.sequences import normalize_sequence  # upper-case, U -> T; other letters kept
from decaylm.tokenizers.segment import join_overlapping, motif_starts, overlapping_starts

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
SPECIAL_ROLES = {
    "pad_token": "[PAD]", "unk_token": "[UNK]", "cls_token": "[CLS]", "sep_token": "[SEP]", "mask_token": "[MASK]",
}
TOKENIZER_FILE = "tokenizer.json"
META_FILE = "meta.json"
MORFESSOR_FILE = "morfessor_segmentations.txt"  # text, not Morfessor's binary (a pickle): folders are shared
MOTIF_TABLE_FILE = "motif_table.tsv"


UNK_RATE_CHUNK = 4096  # sequences encoded at a time by DnaTokenizer.unk_rate


class DnaTokenizer:
    """A Hugging Face fast tokenizer plus, for two kinds, the pre-segmentation done in Python.

    overlapping k-mers and rbp_window cut the sequence into words here (HF pre-tokenizers cannot make
    overlapping windows); their tokenizer.json maps space-separated words to ids. Every other kind
    is done wholly by tokenizer.json, so `PreTrainedTokenizerFast(tokenizer_file=...)` alone
    reproduces it. `encode_with_spans` also says which nucleotides each token stands for.
    """

    def __init__(self, kind: str, hf: PreTrainedTokenizerFast, params: dict | None = None,
                 meta: dict | None = None, path=None):
        self.kind = kind
        self.hf = hf
        self.params = dict(params or {})
        self.meta = dict(meta or {})
        self.path = Path(path) if path is not None else None  # its directory, when loaded from disk
        self._presegment = _presegmenter(kind, self.params, hf)

    def __repr__(self):
        return f"DnaTokenizer(kind={self.kind!r}, vocab_size={self.vocab_size})"

    @property
    def vocab_size(self) -> int:
        """Number of ids, special tokens included (the size of a model's embedding table)."""
        return len(self.hf)

    @property
    def pad_token_id(self) -> int:
        return self.hf.pad_token_id

    @property
    def mask_token_id(self) -> int:
        return self.hf.mask_token_id

    @property
    def cls_token_id(self) -> int:
        return self.hf.cls_token_id

    @property
    def sep_token_id(self) -> int:
        return self.hf.sep_token_id

    @property
    def unk_token_id(self) -> int:
        return self.hf.unk_token_id

    def _text(self, sequence) -> str:
        """What the fast tokenizer is given: the normalized sequence, or its pre-segmented words."""
        sequence = normalize_sequence(str(sequence))
        return sequence if self._presegment is None else self._words(sequence, self._presegment(sequence))

    def _words(self, sequence: str, starts: list[int]) -> str:
        """The words of a pre-segmentation (the k nt from each start), joined by spaces."""
        k = self.params["k"]
        return " ".join(sequence[i : i + k] for i in starts)

    def segment(self, sequence: str) -> list[str]:
        """The tokens as strings, without [CLS]/[SEP]; an unknown piece shows as [UNK]."""
        ids = self.hf(self._text(sequence), add_special_tokens=False)["input_ids"]
        return self.hf.convert_ids_to_tokens(ids)

    def encode(self, sequence: str, max_length: int | None = None) -> list[int]:
        """[CLS] tokens... [SEP]; with max_length, the tokens are cut so the whole fits (SEP kept)."""
        return self.encode_many([sequence], max_length=max_length)[0]

    def encode_many(self, sequences, max_length: int | None = None) -> list[list[int]]:
        """Like encode, for many sequences in one batched call into the Rust tokenizer."""
        texts = [self._text(s) for s in sequences]
        if not texts:
            return []
        out = self.hf(
            texts,
            truncation=max_length is not None,
            max_length=max_length,
            return_attention_mask=False,
            return_token_type_ids=False,
        )
        return out["input_ids"]

    def encode_with_spans(self, sequences, max_length: int | None = None) -> tuple[list[list[int]], list[np.ndarray]]:
        """encode_many's ids and, aligned with them, each token's nucleotide span: an (n_tokens, 2) array
        of [start, end) in the normalized sequence. [CLS], [SEP] (any token the template adds) get the
        empty span (0, 0); an [UNK] spans the letters it stands for; overlapping k-mer i spans [i, i + k),
        a motif window its place. Cut at max_length, both are cut alike (the fast tokenizer cuts its
        offsets with its ids)."""
        sequences = [normalize_sequence(str(s)) for s in sequences]
        if not sequences:
            return [], []
        starts, texts = None, sequences
        if self._presegment is not None:
            starts = [self._presegment(s) for s in sequences]
            texts = [self._words(s, where) for s, where in zip(sequences, starts)]
        out = self.hf(texts, truncation=max_length is not None, max_length=max_length, return_offsets_mapping=True,
                      return_special_tokens_mask=True, return_attention_mask=False, return_token_type_ids=False)
        spans = []
        for i, (offsets, special) in enumerate(zip(out["offset_mapping"], out["special_tokens_mask"])):
            span = np.asarray(offsets, dtype=np.int64).reshape(-1, 2)
            body = np.asarray(special, dtype=bool) == 0
            if starts is not None and body.any():
                # offsets are in the words' text: words of k nt (a sequence shorter than k is one shorter
                # word) joined by one space, so word j begins at j * (k + 1) there and at starts[j] in the sequence
                width = self.params["k"] + 1
                word = span[body, 0] // width
                span[body] += (np.asarray(starts[i])[word] - word * width)[:, None]
            span[~body] = 0
            spans.append(span)
        return out["input_ids"], spans

    def decode(self, ids) -> str:
        """Back to the DNA sequence where the kind allows (the others: see decaylm.tokenizers)."""
        ids = [int(i) for i in ids]
        if self.kind == "kmer" and self.params.get("overlapping", True):
            return join_overlapping(self._tokens_without_specials(ids), self.params["k"])
        if self.kind == "rbp_window":
            return " ".join(self._tokens_without_specials(ids))
        text = self.hf.decode(ids, skip_special_tokens=True)
        return "".join(text.split())

    def _tokens_without_specials(self, ids) -> list[str]:
        """Tokens with [CLS]/[SEP]/[PAD]/[MASK] removed; [UNK] kept (so positions stay)."""
        skip = set(self.hf.all_special_ids) - {self.unk_token_id}
        return self.hf.convert_ids_to_tokens([i for i in ids if i not in skip])

    def unk_rate(self, sequences) -> float:
        """Fraction of tokens (CLS/SEP/PAD excluded) that are [UNK]; NaN when there are no tokens."""
        unk = self.unk_token_id  # read once: the property goes through transformers' __getattr__ (~6 us a token)
        special = set(self.hf.all_special_ids) - {unk}
        unknown = total = 0
        sequences = list(sequences)
        # in chunks: a batch's encodings keep every token's string and offsets (~20 KB a 110-nt sequence)
        for start in range(0, len(sequences), UNK_RATE_CHUNK):
            for ids in self.encode_many(sequences[start:start + UNK_RATE_CHUNK]):
                body = [i for i in ids if i not in special]
                total += len(body)
                unknown += body.count(unk)
        return unknown / total if total else float("nan")


def _presegmenter(kind: str, params: dict, hf):
    """The Python pre-segmentation of a kind (decaylm.tokenizers.segment): a sequence -> where its words
    (k nt each) start; None for kinds that tokenizer.json does wholly."""
    if kind == "kmer" and params.get("overlapping", True):
        k = params["k"]
        return lambda s: overlapping_starts(s, k)
    if kind == "rbp_window":
        k = params["k"]
        kept = frozenset(t for t in hf.get_vocab() if t not in SPECIAL_TOKENS)
        return lambda s: motif_starts(s, k, kept)
    return None


def write_tokenizer_dir(out_dir: Path, hf, files: dict, meta: dict) -> None:
    """Write everything into a temporary directory, then move it in with tokenizer.json last.

    `files` maps a file name to a function that writes that file at the path it is given.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    # Files of an earlier run must not outlive a failed one, or mix with this one's.
    for filename in (TOKENIZER_FILE, META_FILE, MORFESSOR_FILE, MOTIF_TABLE_FILE):
        (out_dir / filename).unlink(missing_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=out_dir))
    try:
        hf.save_pretrained(str(tmp))
        if not (tmp / TOKENIZER_FILE).is_file():
            raise InputError(str(out_dir), "the tokenizer did not save a tokenizer.json", "use a fast tokenizer")
        for filename, write in files.items():
            write(tmp / filename)
        write_json(meta, tmp / META_FILE)
        for path in sorted(tmp.iterdir()):
            if path.name != TOKENIZER_FILE:
                os.replace(path, out_dir / path.name)
        os.replace(tmp / TOKENIZER_FILE, out_dir / TOKENIZER_FILE)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def load_tokenizer(out_dir) -> DnaTokenizer:
    """Load a tokenizer directory (or its tokenizer.json path) written by train_tokenizer."""
    out_dir = Path(out_dir)
    if out_dir.name == TOKENIZER_FILE:
        out_dir = out_dir.parent
    meta_path, tok_path = out_dir / META_FILE, out_dir / TOKENIZER_FILE
    if not tok_path.is_file() or not meta_path.is_file():
        raise InputError(str(out_dir), "is not a trained tokenizer (tokenizer.json or meta.json missing)",
                         "train it first (rule train_tokenizer)")
    meta = json.loads(meta_path.read_text())
    if meta["kind"] == "pretrained":
        hf = AutoTokenizer.from_pretrained(str(out_dir), use_fast=True)
    else:
        hf = PreTrainedTokenizerFast(tokenizer_file=str(tok_path), **SPECIAL_ROLES)
    return DnaTokenizer(meta["kind"], hf, meta.get("params"), meta, path=out_dir)
