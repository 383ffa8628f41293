"""Tokenizers for 3'UTR reporter sequences: train one from the training split, save it, load it, encode.

Every tokenizer is a config entry `name -> {kind: ..., params...}` and lives in a directory holding a
Hugging Face `tokenizer.json` (special tokens [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4 for all kinds
trained here), a `meta.json` (kind, resolved params, seed, training time) and any model file of its
own. `encode` always gives [CLS] tokens... [SEP].

Where each job lives:
- specs: the config entries (kinds, default parameters, checks); free of transformers and torch, so
  the workflow checks every entry at start-up cheaply.
- dna_tokenizer: DnaTokenizer (encode/decode, and each token's nucleotide span), the special tokens, the folder's file names, and
  writing and loading a tokenizer folder.
- segment: the pre-segmentation done in Python (overlapping k-mers, motif windows).
- builders: one builder per kind (the BUILDERS table) making the Hugging Face tokenizer.
- morfessor_lexicon: training the Morfessor lexicon and turning it into a Unigram vocabulary.
- rbp_motifs: the k-mer motif tables of the rbp_window kind (known elements, learned, or a file).
- train: train_tokenizer, and training from a split file (training rows only).
- stats: per-tokenizer statistics, token counts and their figure.

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

The entry points below are importable from this package. They load on first use: importing
decaylm.tokenizers.specs (as the workflow does at start-up) must not pull in transformers or torch.
Inside decaylm, always import absolutely: `from tokenizers import ...` is the Hugging Face library.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

# Where each entry point lives. Keep __all__ and the TYPE_CHECKING imports in step with it.
_HOMES = {
    "decaylm.tokenizers.specs": ("DEFAULT_PARAMS", "KINDS", "resolve_spec"),
    "decaylm.tokenizers.dna_tokenizer": ("TOKENIZER_FILE", "DnaTokenizer", "load_tokenizer"),
    "decaylm.tokenizers.train": ("train_tokenizer", "train_tokenizer_from_split"),
    "decaylm.tokenizers.stats": ("plot_token_counts", "token_count_table", "token_counts", "tokenizer_stats"),
}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}
__all__ = [
    "DEFAULT_PARAMS", "KINDS", "resolve_spec",
    "TOKENIZER_FILE", "DnaTokenizer", "load_tokenizer",
    "train_tokenizer", "train_tokenizer_from_split",
    "plot_token_counts", "token_count_table", "token_counts", "tokenizer_stats",
]

if TYPE_CHECKING:  # for type checkers and editors; at run time __getattr__ imports on first use
    from decaylm.tokenizers.dna_tokenizer import TOKENIZER_FILE, DnaTokenizer, load_tokenizer
    from decaylm.tokenizers.specs import DEFAULT_PARAMS, KINDS, resolve_spec
    from decaylm.tokenizers.stats import plot_token_counts, token_count_table, token_counts, tokenizer_stats
    from decaylm.tokenizers.train import train_tokenizer, train_tokenizer_from_split


def __getattr__(name: str):
    home = _HOME_OF.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
