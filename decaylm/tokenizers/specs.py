"""Tokenizer config entries: kinds, default parameters and checks.

Kept free of transformers and torch (unlike the rest of decaylm.tokenizers) so that the workflow
can check every tokenizer entry at start-up without paying for those imports.
"""

from __future__ import annotations

import os

from decaylm.errors import InputError

# max_sequences: the kinds that search for a vocabulary in the corpus (bpe, wordpiece, morfessor) learn
# it from a seeded random sample of at most this many training sequences (decaylm.tokenizers.train);
# null learns from all of them. Their training cost grows with the corpus (Morfessor: pure-Python
# Viterbi over every sequence, 3 epochs) while a vocabulary of a few thousand pieces of at most a few
# nt is settled long before 10^5 sequences. 100,000 is above every shipped config's training split
# (the UTR-seq data: 12,322 reporters, ~9.9k train; the 42k library: at most ~31k train; the
# simulator's 4,000), so those configs learn from every sequence, as before the cap. Only screens of
# over 10^5 training reporters are sampled (docs/scale.md). rbp_window with table: train has no cap:
# its t-statistics are one linear numpy pass, and a sample would only weaken them.
MAX_SEQUENCES = 100_000

# Defaults per kind; a config entry may override any of these and nothing else.
DEFAULT_PARAMS: dict[str, dict] = {
    "nucleotide": {},
    "kmer": {"k": 6, "overlapping": True},
    # min_frequency 2: a merge seen once only memorizes one training sequence.
    "bpe": {"vocab_size": 4096, "min_frequency": 2, "max_sequences": MAX_SEQUENCES},
    "wordpiece": {"vocab_size": 4096, "min_frequency": 2, "max_sequences": MAX_SEQUENCES},
    # See decaylm.tokenizers.morfessor_lexicon.train_morfessor for why these.
    "morfessor": {"max_len": 7, "corpus_weight": 1.0, "max_epochs": 3, "addcount": 1.0, "vocab_size": 4096,
                  "max_sequences": MAX_SEQUENCES},
    # A k-mer is kept when abs(score) > threshold: tables may hold signed associations, and a
    # destabilizing element informs as much as a stabilizing one. top: at most this many of the
    # strongest; None = all of them, except for table: train, where None means 500.
    "rbp_window": {"k": 7, "table": "known", "threshold": 0.0, "top": None, "min_count": 20},
    "pretrained": {"checkpoint": None},
}
KINDS = tuple(DEFAULT_PARAMS)
TRAIN_TABLE_TOP = 500

_POSITIVE_INTS = {"k", "vocab_size", "max_len", "max_epochs", "min_count", "top", "max_sequences"}
_NULLABLE = {"top", "max_sequences"}  # None: no limit
_NON_NEGATIVE_INTS = {"min_frequency"}
_POSITIVE_FLOATS = {"corpus_weight", "addcount"}
_MAX_K = 8  # 4**8 = 65,536 k-mers; longer k-mers make vocabularies of mostly unseen tokens


def resolve_spec(name: str, spec) -> tuple[str, dict]:
    """Check a config entry `tokenizers.<name>` and return (kind, params with defaults filled in)."""
    where = f"tokenizers.{name}"
    if not isinstance(spec, dict) or "kind" not in spec:
        raise InputError(where, "has no kind", f"give kind: one of {', '.join(KINDS)}")
    kind = spec["kind"]
    if kind not in DEFAULT_PARAMS:
        raise InputError(f"{where}.kind", f"unknown kind {kind!r}", f"use one of {', '.join(KINDS)}")
    params = dict(DEFAULT_PARAMS[kind])
    for key, value in spec.items():
        if key in ("kind", "seed"):  # the seed reaches train_tokenizer separately
            continue
        if key not in params:
            accepted = ", ".join(DEFAULT_PARAMS[kind]) or "none"
            raise InputError(f"{where}.{key}", f"not a parameter of kind {kind}", f"accepted: {accepted}")
        params[key] = _check_param(f"{where}.{key}", key, value)
    if kind == "pretrained" and not params["checkpoint"]:
        raise InputError(f"{where}.checkpoint", "missing", "give the local directory of a pretrained checkpoint")
    if "k" in params and params["k"] > _MAX_K:
        raise InputError(f"{where}.k", f"{params['k']} is too large", f"use k <= {_MAX_K}")
    return kind, params


def _check_param(where: str, key: str, value):
    if key in _POSITIVE_INTS | _NON_NEGATIVE_INTS:
        if key in _NULLABLE and value is None:
            return None
        low = 1 if key in _POSITIVE_INTS else 0
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise InputError(where, f"{value!r} is not an integer >= {low}", "give a whole number")
    elif key in _POSITIVE_FLOATS:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise InputError(where, f"{value!r} is not a number > 0", "give a positive number")
        value = float(value)
    elif key == "threshold":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InputError(where, f"{value!r} is not a number", "give a number")
        value = float(value)
    elif key == "overlapping":
        if not isinstance(value, bool):
            raise InputError(where, f"{value!r} is not true/false", "give true or false")
    elif key in ("table", "checkpoint"):
        if not isinstance(value, (str, os.PathLike)) or not str(value):
            raise InputError(where, f"{value!r} is not a name or path", "give a string")
        value = str(value)
    return value
