"""Tokenizers for 3'UTR reporter sequences: train one from the training split, save it, load it, encode.

Every tokenizer is a config entry `name -> {kind: ..., params...}` and lives in a directory holding a
Hugging Face `tokenizer.json` (special tokens [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4 for all kinds
trained here), a `meta.json` (kind, resolved params, seed, training time) and any model file of its
own. `encode` always gives [CLS] tokens... [SEP].

Kinds, and what `decode(encode(s))` gives back:
- nucleotide: one token per base (A C G T N). Decodes to s.
- kmer: k-mers, DNABERT-1 style. overlapping=true (default): every k-mer window, so a sequence of
  length L gives L-k+1 tokens; vocabulary = the 4**k k-mers; decodes to s (window i gives bases
  i..i+k-1). A window with N is [UNK]; a base that only [UNK] windows cover decodes as N. A sequence
  shorter than k has no window: it is one [UNK]. overlapping=false: chunks of k from the start, the
  tail shorter than k kept as its own shorter token (nothing is lost; the vocabulary holds every
  1..k-mer); decodes to s, except that a chunk with N is [UNK] and decode drops it.
- bpe / wordpiece: trained with the `tokenizers` library on whole sequences (no pre-splitting, as
  DNABERT-2). WordPiece uses an empty continuing prefix, so it is greedy longest-match over its
  vocabulary. Both decode to s.
- morfessor: Morfessor Baseline lexicon, segmentation by Viterbi (see `train_morfessor` and
  `morfessor_pieces`). Decodes to s.
- rbp_window: only the k-mers (default 7) listed in a motif table are kept, in order of position,
  overlapping windows allowed. The rest of the sequence is dropped, so it cannot decode to s: decode
  gives the kept k-mers joined by spaces. A sequence with no kept k-mer encodes as [CLS] [SEP]; a model
  then sees no sequence token, so its prediction is its learned bias (plus what CLS/SEP embed).
- pretrained: the tokenizer of a local checkpoint directory, copied. Decodes as that tokenizer does.
Input is upper-cased with U read as T. Characters outside A/C/G/T/N become [UNK] without changing
the tokens of the bases around them, and decode drops [UNK] (except as said above).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import math
import os
import random
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import AutoTokenizer, PreTrainedTokenizerFast

from decaylm import __version__, motifs
from decaylm.errors import InputError
from decaylm.provenance import provenance
from decaylm.tokenizer_specs import DEFAULT_PARAMS, KINDS, TRAIN_TABLE_TOP, resolve_spec  # noqa: F401
from decaylm.io import write_json, write_tsv
from decaylm.sequences import ALPHABET, normalize_sequence  # upper-case, U -> T; other letters kept

log = logging.getLogger("decaylm.tokenization")

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
SPECIAL_ROLES = {
    "pad_token": "[PAD]", "unk_token": "[UNK]", "cls_token": "[CLS]", "sep_token": "[SEP]", "mask_token": "[MASK]",
}
TOKENIZER_FILE = "tokenizer.json"
META_FILE = "meta.json"
MORFESSOR_FILE = "morfessor.bin"
MOTIF_TABLE_FILE = "motif_table.tsv"



# ---------------------------------------------------------------------------------------------------
# Config




# ---------------------------------------------------------------------------------------------------
# The tokenizer object


class DnaTokenizer:
    """A Hugging Face fast tokenizer plus, for two kinds, the pre-segmentation done in Python.

    overlapping k-mers and rbp_window cut the sequence into words here (HF pre-tokenizers cannot make
    overlapping windows); their tokenizer.json maps space-separated words to ids. Every other kind
    is done wholly by tokenizer.json, so `PreTrainedTokenizerFast(tokenizer_file=...)` alone
    reproduces it.
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
        sequence = normalize_sequence(str(sequence))
        if self._presegment is None:
            return sequence
        return " ".join(self._presegment(sequence))

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

    def decode(self, ids) -> str:
        """Back to the DNA sequence where the kind allows (see the module docstring for the others)."""
        ids = [int(i) for i in ids]
        if self.kind == "kmer" and self.params.get("overlapping", True):
            return _join_overlapping(self._tokens_without_specials(ids), self.params["k"])
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
        special = set(self.hf.all_special_ids) - {self.unk_token_id}
        unknown = total = 0
        for ids in self.encode_many(sequences):
            body = [i for i in ids if i not in special]
            total += len(body)
            unknown += sum(i == self.unk_token_id for i in body)
        return unknown / total if total else float("nan")


def overlapping_kmers(sequence: str, k: int) -> list[str]:
    """All k-mer windows (DNABERT-1); a sequence shorter than k is one (out-of-vocabulary) word."""
    if len(sequence) < k:
        return [sequence] if sequence else []
    return [sequence[i : i + k] for i in range(len(sequence) - k + 1)]


def motif_windows(sequence: str, k: int, kept) -> list[str]:
    """The k-mer windows found in `kept`, in order of position (overlaps allowed)."""
    return [sequence[i : i + k] for i in range(len(sequence) - k + 1) if sequence[i : i + k] in kept]


def _join_overlapping(tokens: list[str], k: int) -> str:
    """Undo overlapping k-mers: window i gives bases i..i+k-1. A base that only [UNK] windows cover
    (an N, say) reads as N; a sequence shorter than k (a single [UNK]) reads as k N's."""
    if not tokens:
        return ""
    bases = ["N"] * (len(tokens) + k - 1)
    for i, token in enumerate(tokens):
        if token != "[UNK]":
            bases[i : i + k] = token
    return "".join(bases)


def _presegmenter(kind: str, params: dict, hf):
    if kind == "kmer" and params.get("overlapping", True):
        k = params["k"]
        return lambda s: overlapping_kmers(s, k)
    if kind == "rbp_window":
        k = params["k"]
        kept = frozenset(t for t in hf.get_vocab() if t not in SPECIAL_TOKENS)
        return lambda s: motif_windows(s, k, kept)
    return None


# ---------------------------------------------------------------------------------------------------
# Building Hugging Face tokenizers


def _normalizer():
    """Upper-case the DNA letters and read U as T, inside tokenizer.json so every user gets it."""
    steps = [normalizers.Replace(c.lower(), c) for c in ALPHABET]
    steps += [normalizers.Replace("u", "T"), normalizers.Replace("U", "T")]
    return normalizers.Sequence(steps)


def _finish(tok: Tokenizer) -> PreTrainedTokenizerFast:
    """Special tokens, the [CLS] ... [SEP] template and a decoder that concatenates tokens."""
    tok.normalizer = _normalizer()
    tok.add_special_tokens(list(SPECIAL_TOKENS))
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    tok.decoder = decoders.Fuse()
    return PreTrainedTokenizerFast(tokenizer_object=tok, **SPECIAL_ROLES)


def _word_level(words) -> Tokenizer:
    vocab = {token: i for i, token in enumerate([*SPECIAL_TOKENS, *words])}
    return Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))


def all_kmers(k: int) -> list[str]:
    return ["".join(p) for p in itertools.product(motifs.BASES, repeat=k)]


def build_nucleotide(corpus, targets, params, seed, name):
    tok = _word_level(ALPHABET)
    tok.pre_tokenizer = pre_tokenizers.FixedLength(length=1)
    return _finish(tok), {}, {}


def build_kmer(corpus, targets, params, seed, name):
    k = params["k"]
    if params["overlapping"]:
        tok = _word_level(all_kmers(k))
        tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()  # words come pre-cut, see DnaTokenizer
    else:
        # Chunks of k from the start; the last chunk may be shorter, so every 1..k-mer is a token.
        tok = _word_level([kmer for n in range(1, k + 1) for kmer in all_kmers(n)])
        tok.pre_tokenizer = pre_tokenizers.FixedLength(length=k)
    return _finish(tok), {}, {}


def _train_hf(tok: Tokenizer, trainer, corpus) -> Tokenizer:
    tok.train_from_iterator(corpus, trainer, length=len(corpus))
    return tok


def build_bpe(corpus, targets, params, seed, name):
    tok = Tokenizer(models.BPE(unk_token="[UNK]"))
    tok.normalizer = _normalizer()
    trainer = trainers.BpeTrainer(
        vocab_size=params["vocab_size"],
        min_frequency=params["min_frequency"],
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=list(ALPHABET),
        show_progress=False,
    )
    return _finish(_train_hf(tok, trainer, corpus)), {}, {}


def build_wordpiece(corpus, targets, params, seed, name):
    # No "##" prefix: a sequence is one word, and the prefix would only duplicate every piece into a
    # sequence-start and a later copy. max_input_chars_per_word: the default 100 would turn every
    # 110-nt sequence into a single [UNK].
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]", continuing_subword_prefix="", max_input_chars_per_word=10**6))
    tok.normalizer = _normalizer()
    # WordPiece makes a whole word [UNK] if one character is unknown: isolate such characters.
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(f"[^{ALPHABET}]+"), behavior="isolated")
    trainer = trainers.WordPieceTrainer(
        vocab_size=params["vocab_size"],
        min_frequency=params["min_frequency"],
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=list(ALPHABET),
        continuing_subword_prefix="",
        show_progress=False,
    )
    return _finish(_train_hf(tok, trainer, corpus)), {}, {}


@contextlib.contextmanager
def _seeded_global_random(seed: int):
    """Morfessor shuffles with Python's global `random`: seed it, and give the caller's state back."""
    state = random.getstate()
    random.seed(seed)
    try:
        yield
    finally:
        random.setstate(state)


def train_morfessor(corpus, params: dict, seed: int):
    """Train Morfessor Baseline on whole sequences; return (model, info).

    Choices, against the known problem of the default settings (recursive splitting of whole 110-nt
    sequences: ~190 s, ~18 segments/sequence of up to ~110 nt, an 18.6k-type lexicon that a small
    BERT memorizes at once):
    - algorithm "viterbi" with maxlen = max_len (7): each sequence is re-segmented by Viterbi over
      segments of at most 7 nt (motif-sized, like the RBP 7-mers), so the lexicon is bounded by the
      21,844 strings of 1..7 nt and one epoch costs O(length x max_len) per sequence. addcount=1.0
      (additive smoothing) lets Viterbi propose new segments; without it the initial whole-sequence
      lexicon could only fall apart into single letters.
    - whole sequences as compounds: no artificial chunk boundaries. (Training on the distinct
      overlapping 7-mers as words instead was tried: all 7-mers are about equally frequent, and the
      lexicon jumped between keeping all 16k of them and a few hundred 3-4-mers.)
    - corpus_weight 1.0 (fixed): on the 9,857 training reporters of benchmarks/bench_morfessor.py it
      gives ~1.1k segments, ~31 tokens/sequence (3.5 nt/token) in ~30 s of CPU. A lexicon-size
      target (NumMorphCorpusWeight, 2,000 types) was tried: it pushed the weight to ~11 and the
      lexicon to ~2.5k mostly rare 7-mers while tokens/sequence barely moved, and its forced extra
      epochs doubled the time; it adds parameters, not signal.
    - max_epochs 3: the cost falls 0.3% in epoch 2, 0.1% in epoch 3 and the segmentations barely
      change after that; an epoch costs ~10 s of CPU on ~10k sequences (pure Python Viterbi).
    - counts: each training sequence counts once (they are all distinct), so no count dampening.
    """
    import morfessor  # imported here: only this kind needs it
    import morfessor.utils

    progress = morfessor.utils.show_progress_bar
    morfessor.utils.show_progress_bar = False  # its dots would fill the rule log
    try:
        with _seeded_global_random(seed):
            model = morfessor.BaselineModel(corpusweight=params["corpus_weight"])
            model.load_data([(1, sequence) for sequence in corpus])
            epochs, cost = model.train_batch(
                algorithm="viterbi",
                algorithm_params=(params["addcount"], params["max_len"]),
                max_epochs=params["max_epochs"],
            )
    finally:
        morfessor.utils.show_progress_bar = progress
    info = {"epochs": epochs, "cost": cost, "lexicon_types": len(model.get_constructions())}
    return model, info


def morfessor_pieces(model, n_compounds: int, max_len: int, vocab_size: int) -> list[tuple[str, float]]:
    """The segment vocabulary as (piece, log-probability) for a Unigram model, most frequent first.

    Scores are Morfessor's own: log(count / (tokens + compounds)), so Viterbi over them (what the
    HF Unigram model does on encode) finds the same segmentation as Morfessor's
    viterbi_segment(addcount=0): the lowest total cost over segments of the lexicon. The letters
    A/C/G/T/N are always in (count 1 if Morfessor never used one alone) so that any segment can fall
    back to smaller known pieces; a character outside them becomes [UNK]. Over `vocab_size` (with the
    special tokens), the rarest segments are dropped and Viterbi covers their text with smaller pieces.
    """
    counts = {c: n for c, n in model.get_constructions() if len(c) <= max_len and set(c) <= set(ALPHABET)}
    total = model.tokens + n_compounds
    letters = [(c, counts.get(c, 1)) for c in ALPHABET]
    others = sorted(((c, n) for c, n in counts.items() if c not in ALPHABET), key=lambda cn: (-cn[1], cn[0]))
    room = max(vocab_size - len(SPECIAL_TOKENS) - len(letters), 0)
    return [(c, math.log(n / total)) for c, n in letters + others[:room]]


def build_morfessor(corpus, targets, params, seed, name):
    import morfessor.io

    model, info = train_morfessor(corpus, params, seed)
    pieces = morfessor_pieces(model, len(corpus), params["max_len"], params["vocab_size"])
    vocab = [(token, 0.0) for token in SPECIAL_TOKENS] + pieces
    tok = Tokenizer(models.Unigram(vocab, unk_id=SPECIAL_TOKENS.index("[UNK]"), byte_fallback=False))
    hf = _finish(tok)
    files = {MORFESSOR_FILE: lambda path: morfessor.io.MorfessorIO().write_binary_model_file(str(path), model)}
    info["vocab_pieces"] = len(pieces)
    return hf, files, {"morfessor": info}


def motif_table(params: dict, corpus, targets, name: str) -> pd.DataFrame:
    """The rbp_window table: known elements, learned from the training split, or a user's file."""
    k, table = params["k"], params["table"]
    if table == "known":
        return motifs.known_table(k)
    if table == "train":
        if targets is None or not np.isfinite(np.asarray(targets, dtype=float)).any():
            raise InputError(f"tokenizers.{name}.table", "'train' needs training targets y, and there are none",
                             "give the split's y column, or use table: known")
        return motifs.train_table(corpus, targets, k=k, min_count=params["min_count"])
    return motifs.read_table(table, k, where=f"tokenizers.{name}.table")


def build_rbp_window(corpus, targets, params, seed, name):
    table = motif_table(params, corpus, targets, name)
    if table.empty:
        key = "min_count" if params["table"] == "train" else "table"
        fix = "lower min_count" if key == "min_count" else "give a table with rows"
        raise InputError(f"tokenizers.{name}.{key}", "the motif table has no k-mer", fix)
    top = params["top"]
    if top is None and params["table"] == "train":
        top = TRAIN_TABLE_TOP
    kept = motifs.select_kmers(table, params["threshold"], top)
    if not kept:
        raise InputError(f"tokenizers.{name}.threshold",
                         f"no k-mer of the table has abs(score) > {params['threshold']}", "lower the threshold")
    table = table.assign(kept=table["kmer"].isin(set(kept)))
    tok = _word_level(kept)
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()  # words come pre-cut, see DnaTokenizer
    files = {MOTIF_TABLE_FILE: lambda path: write_tsv(table, path)}
    return _finish(tok), files, {"motif_table": {"rows": len(table), "kept": len(kept), "top": top}}


def build_pretrained(corpus, targets, params, seed, name):
    checkpoint = Path(params["checkpoint"])
    where = f"tokenizers.{name}.checkpoint"
    if not checkpoint.is_dir():
        raise InputError(where, f"checkpoint directory {checkpoint} not found",
                         "download the checkpoint there, or fix the path")
    try:
        hf = AutoTokenizer.from_pretrained(str(checkpoint), use_fast=True)
    except (OSError, ValueError) as error:
        problem = f"no tokenizer loads from {checkpoint}: {error}".replace("\n", " ")
        raise InputError(where, problem, "point it at a checkpoint directory with tokenizer files") from None
    if not getattr(hf, "is_fast", False):
        raise InputError(where, f"the tokenizer in {checkpoint} has no fast (tokenizer.json) version",
                         "use a checkpoint with a tokenizer.json")
    return hf, {}, {"checkpoint": str(checkpoint.resolve())}


BUILDERS = {
    "nucleotide": build_nucleotide,
    "kmer": build_kmer,
    "bpe": build_bpe,
    "wordpiece": build_wordpiece,
    "morfessor": build_morfessor,
    "rbp_window": build_rbp_window,
    "pretrained": build_pretrained,
}


# ---------------------------------------------------------------------------------------------------
# Train, save, load


def train_tokenizer(spec: dict, train_sequences, train_targets, out_dir, seed: int,
                    name: str | None = None) -> DnaTokenizer:
    """Train the tokenizer `spec` on training sequences only and write it to `out_dir`.

    Pass the rows of the training split only: this function trains on everything it is given (see
    `train_tokenizer_from_split`). `name` (for error messages) defaults to the directory's name.
    tokenizer.json is written last, by atomic rename, so an interrupted run leaves none.
    """
    out_dir = Path(out_dir)
    name = name or out_dir.name
    kind, params = resolve_spec(name, spec)
    sequences, targets = _training_corpus(train_sequences, train_targets)
    log.info("training tokenizer %s (kind %s, %s) on %d sequences", name, kind, params, len(sequences))
    wall, cpu = time.perf_counter(), time.process_time()
    hf, files, extra = BUILDERS[kind](sequences, targets, params, seed, name)
    seconds, cpu_seconds = time.perf_counter() - wall, time.process_time() - cpu
    meta = {
        "name": name,
        "kind": kind,
        "params": params,
        "seed": seed,
        "train_seconds": round(seconds, 3),
        "train_cpu_seconds": round(cpu_seconds, 3),
        "n_train_sequences": len(sequences),
        "vocab_size": len(hf),
        "special_tokens": SPECIAL_ROLES if kind != "pretrained" else {},
        "decaylm_version": __version__,
        **extra,
        **{k: v for k, v in provenance({}, seed).items() if k not in ("settings", "seed")},
    }
    if kind != "pretrained":
        meta["unk_rate_train"] = _in_memory_copy(kind, hf, params).unk_rate(sequences)
    _write_tokenizer_dir(out_dir, hf, files, meta)
    log.info(
        "tokenizer %s: vocabulary %d, UNK rate on training sequences %s, trained in %.1f s (%.1f s CPU)",
        name, meta["vocab_size"], meta.get("unk_rate_train", "n/a"), seconds, cpu_seconds,
    )
    return load_tokenizer(out_dir)


def _in_memory_copy(kind: str, hf, params: dict) -> DnaTokenizer:
    """A copy to encode with before saving, so no encoding state (e.g. truncation) is saved."""
    backend = Tokenizer.from_str(hf.backend_tokenizer.to_str())
    return DnaTokenizer(kind, PreTrainedTokenizerFast(tokenizer_object=backend, **SPECIAL_ROLES), params)


def _training_corpus(train_sequences, train_targets):
    """Normalized sequences (with their targets), sorted so the result does not depend on row order."""
    sequences = [normalize_sequence(str(s)) for s in train_sequences]
    if train_targets is None:
        return sorted(sequences), None
    targets = np.asarray(train_targets, dtype=float)
    if len(targets) != len(sequences):
        raise ValueError(f"{len(sequences)} sequences but {len(targets)} targets")
    order = sorted(range(len(sequences)), key=lambda i: (sequences[i], np.nan_to_num(targets[i], nan=np.inf)))
    return [sequences[i] for i in order], targets[order]


def _write_tokenizer_dir(out_dir: Path, hf, files: dict, meta: dict) -> None:
    """Write everything into a temporary directory, then move it in with tokenizer.json last."""
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


# ---------------------------------------------------------------------------------------------------
# Split file helpers (the Snakemake scripts use these)

SPLIT_COLUMNS = ("id", "sequence", "y", "split", "group")


def check_split_frame(frame: pd.DataFrame, where: str) -> pd.DataFrame:
    missing = [c for c in ("sequence", "split") if c not in frame.columns]
    if missing:
        raise InputError(where, f"lacks column(s) {', '.join(missing)}",
                         f"the split file has columns {', '.join(SPLIT_COLUMNS)}")
    return frame


def training_rows(split_frame: pd.DataFrame) -> tuple[list[str], np.ndarray | None]:
    """Sequences and targets of the rows with split == 'train' (and only those)."""
    train = split_frame[split_frame["split"] == "train"]
    targets = train["y"].to_numpy(dtype=float) if "y" in train.columns else None
    return train["sequence"].astype(str).tolist(), targets


def train_tokenizer_from_split(split_frame: pd.DataFrame, spec: dict, out_dir, seed: int, name: str | None = None,
                               where: str = "split file") -> DnaTokenizer:
    """Train on the training split only: valid/test sequences never reach the trainer."""
    check_split_frame(split_frame, where)
    sequences, targets = training_rows(split_frame)
    if not sequences:
        raise InputError(where, "has no rows with split == train", "check the split step")
    return train_tokenizer(spec, sequences, targets, out_dir, seed, name=name)


# ---------------------------------------------------------------------------------------------------
# Statistics

STATS_COLUMNS = ("tokenizer", "kind", "vocab_size", "mean_tokens", "median_tokens", "nt_per_token", "unk_rate_test",
                 "train_seconds")


def _tokenizers(tokenizer_dirs: dict) -> dict[str, DnaTokenizer]:
    return {name: t if isinstance(t, DnaTokenizer) else load_tokenizer(t) for name, t in tokenizer_dirs.items()}


def token_counts(tokenizer: DnaTokenizer, sequences) -> np.ndarray:
    """Tokens per sequence, [CLS]/[SEP] not counted."""
    special = set(tokenizer.hf.all_special_ids) - {tokenizer.unk_token_id}
    return np.array([sum(i not in special for i in ids) for ids in tokenizer.encode_many(sequences)], dtype=int)


def tokenizer_stats(tokenizer_dirs: dict, split_frame: pd.DataFrame) -> pd.DataFrame:
    """One row per tokenizer: vocabulary, tokens per sequence, nt per token, test UNK rate, time.

    Token counts are over all sequences of the split file (what a model is fed); unk_rate_test is the
    fraction of [UNK] among the tokens of the test split only, where vocabulary gaps show.
    """
    check_split_frame(split_frame, "split file")
    sequences = [normalize_sequence(str(s)) for s in split_frame["sequence"]]
    test = [s for s, part in zip(sequences, split_frame["split"]) if part == "test"]
    rows = []
    for name, tokenizer in _tokenizers(tokenizer_dirs).items():
        counts = token_counts(tokenizer, sequences)
        total = counts.sum()
        rows.append(
            {
                "tokenizer": name,
                "kind": tokenizer.kind,
                "vocab_size": tokenizer.vocab_size,
                "mean_tokens": counts.mean() if len(counts) else float("nan"),
                "median_tokens": float(np.median(counts)) if len(counts) else float("nan"),
                "nt_per_token": sum(map(len, sequences)) / total if total else float("nan"),
                "unk_rate_test": tokenizer.unk_rate(test),
                "train_seconds": tokenizer.meta.get("train_seconds", float("nan")),
            }
        )
    return pd.DataFrame(rows, columns=list(STATS_COLUMNS))


def plot_token_counts(counts: dict, path) -> None:
    """Box plot of tokens per sequence, one row per tokenizer, written atomically as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from decaylm.io import atomic_path

    names = list(counts)[::-1]  # boxplot draws bottom-up: list the first tokenizer at the top
    fig, ax = plt.subplots(figsize=(7, 1.0 + 0.45 * max(len(names), 1)))
    if names:
        data = [np.asarray(counts[n]) for n in names]
        ax.boxplot(data, orientation="horizontal", tick_labels=names, showfliers=False)
    ax.set_xlabel("tokens per sequence (without [CLS]/[SEP])")
    ax.set_title("Token counts per tokenizer")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)


def token_count_table(tokenizer_dirs: dict, sequences) -> dict[str, np.ndarray]:
    """Tokens per sequence for each tokenizer, for plot_token_counts."""
    sequences = [normalize_sequence(str(s)) for s in sequences]
    return {name: token_counts(t, sequences) for name, t in _tokenizers(tokenizer_dirs).items()}
