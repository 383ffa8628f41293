"""Training a tokenizer: on the training sequences given, or on the training rows of a split file.

train_tokenizer checks the config entry (decaylm.tokenizers.specs), sorts the corpus so row order
does not matter, draws the seeded sample of at most max_sequences that the searching kinds learn
from (vocabulary_sample), runs the kind's builder (decaylm.tokenizers.builders) and writes the folder
(decaylm.tokenizers.dna_tokenizer) with a meta.json of what was done.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd
from tokenizers import Tokenizer
from transformers import PreTrainedTokenizerFast

from decaylm import __version__
from decaylm.errors import InputError
from decaylm.provenance import provenance
from decaylm.sequences import normalize_sequence
from decaylm.tokenizers.builders import BUILDERS
from decaylm.tokenizers.dna_tokenizer import SPECIAL_ROLES, DnaTokenizer, load_tokenizer, write_tokenizer_dir
from decaylm.tokenizers.specs import resolve_spec

log = logging.getLogger(__name__)


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
    learn, learn_targets = vocabulary_sample(sequences, targets, params.get("max_sequences"), seed)
    log.info("training tokenizer %s (kind %s, %s) on %d sequences%s", name, kind, params, len(sequences),
             f" (vocabulary from a sample of {len(learn)})" if len(learn) < len(sequences) else "")
    wall, cpu = time.perf_counter(), time.process_time()
    hf, files, extra = BUILDERS[kind](learn, learn_targets, params, seed, name)
    seconds, cpu_seconds = time.perf_counter() - wall, time.process_time() - cpu
    meta = {
        "name": name,
        "kind": kind,
        "params": params,
        "seed": seed,
        "train_seconds": round(seconds, 3),
        "train_cpu_seconds": round(cpu_seconds, 3),
        "n_train_sequences": len(sequences),
        "n_vocab_sequences": _learned_from(kind, params, len(learn)),
        "vocab_size": len(hf),
        "special_tokens": SPECIAL_ROLES if kind != "pretrained" else {},
        "decaylm_version": __version__,
        **extra,
        **{k: v for k, v in provenance({}, seed).items() if k not in ("settings", "seed")},
    }
    if kind != "pretrained":  # over every training sequence, the sample's and the others
        meta["unk_rate_train"] = _in_memory_copy(kind, hf, params).unk_rate(sequences)
    write_tokenizer_dir(out_dir, hf, files, meta)
    log.info(
        "tokenizer %s: vocabulary %d, UNK rate on training sequences %s, trained in %.1f s (%.1f s CPU)",
        name, meta["vocab_size"], meta.get("unk_rate_train", "n/a"), seconds, cpu_seconds,
    )
    return load_tokenizer(out_dir)


def vocabulary_sample(sequences: list[str], targets, max_sequences: int | None, seed: int):
    """The training sequences (and targets) a vocabulary is learned from: all of them when there are at
    most `max_sequences` (or it is None), else a random sample of that many drawn with `seed`.

    `sequences` come sorted (_training_corpus), so the sample depends on the set of sequences and the
    seed only, and it keeps their sorted order.
    """
    if max_sequences is None or len(sequences) <= max_sequences:
        return sequences, targets
    rows = np.sort(np.random.default_rng(seed).choice(len(sequences), size=max_sequences, replace=False))
    return [sequences[i] for i in rows], None if targets is None else targets[rows]


def _learned_from(kind: str, params: dict, n_learned: int) -> int:
    """How many training sequences the vocabulary was learned from (meta.json's n_vocab_sequences):
    0 for a vocabulary fixed in advance (nucleotide, kmer, a known or given motif table, a checkpoint)."""
    if "max_sequences" in params or (kind == "rbp_window" and params["table"] == "train"):
        return n_learned
    return 0


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


# The split file (the Snakemake scripts use these)

SPLIT_COLUMNS = ("id", "sequence", "y", "split", "group")


def check_split_frame(frame: pd.DataFrame, where: str) -> pd.DataFrame:
    """The frame, once it has the columns sequence and split; `where` names the file in the error."""
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
