"""Shared data of the tokenizer tests: a small synthetic corpus with planted motifs, a split file, the
config entry of every kind, and a stand-in for Snakemake's `snakemake` object."""

from __future__ import annotations

import random
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

from decaylm.tokenizers import train_tokenizer

LENGTH = 110
UP, DOWN = "GGATCCA", "CTCGAGT"  # planted motifs that raise / lower y
LEAK = "GATTACAGATTACAGATTACA"  # planted in valid/test rows only

SPECS = {
    "nucleotide": {"kind": "nucleotide"},
    "kmer": {"kind": "kmer", "k": 6},
    "kmer_chunks": {"kind": "kmer", "k": 6, "overlapping": False},
    "bpe": {"kind": "bpe", "vocab_size": 300},
    "wordpiece": {"kind": "wordpiece", "vocab_size": 300},
    "morfessor": {"kind": "morfessor"},
    "rbp_known": {"kind": "rbp_window", "table": "known"},
    "rbp_train": {"kind": "rbp_window", "table": "train", "min_count": 3, "top": 40},
}
LOSSLESS = ["nucleotide", "kmer", "kmer_chunks", "bpe", "wordpiece", "morfessor"]
CONCATENATING = ["nucleotide", "kmer_chunks", "bpe", "wordpiece", "morfessor"]  # tokens join to s
WHOLLY_HF = CONCATENATING  # tokenizer.json alone does the whole job
TRAINABLE = ["bpe", "wordpiece", "morfessor", "rbp_train"]


def random_sequences(n: int, seed: int, length: int = LENGTH) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice("ACGT") for _ in range(length)) for _ in range(n)]


def plant(sequence: str, motif: str, position: int) -> str:
    return sequence[:position] + motif + sequence[position + len(motif) :]


def make_corpus(n: int = 200, seed: int = 0):
    """Random training sequences; a third carry UP (y + 2), a third DOWN (y - 2); y also has noise."""
    rng = np.random.default_rng(seed)
    sequences, targets = [], []
    for i, sequence in enumerate(random_sequences(n, seed)):
        y = rng.normal(0, 0.5)
        if i % 3 == 0:
            sequence, y = plant(sequence, UP, 10 + i % 80), y + 2
        elif i % 3 == 1:
            sequence, y = plant(sequence, DOWN, 10 + i % 80), y - 2
        sequences.append(sequence)
        targets.append(y)
    return sequences, np.array(targets)


def train_every_spec(root: Path, corpus) -> dict:
    """Every kind of SPECS trained on `corpus` (sequences, targets) with seed 1, under `root`/name."""
    sequences, targets = corpus
    return {name: train_tokenizer(spec, sequences, targets, root / name, seed=1) for name, spec in SPECS.items()}


def split_frame(n_train: int = 200, n_other: int = 60) -> pd.DataFrame:
    """A split file: make_corpus rows for training, valid/test rows carrying LEAK and an extreme y."""
    sequences, y = make_corpus(n_train)
    others = [plant(s, LEAK, 30) for s in random_sequences(n_other, seed=7)]
    return pd.DataFrame(
        {
            "id": [f"r{i}" for i in range(n_train + n_other)],
            "sequence": sequences + others,
            "y": list(y) + [5.0] * n_other,  # the leaked rows also carry an extreme target
            "split": ["train"] * n_train + ["valid", "test"] * (n_other // 2),
            "group": range(n_train + n_other),
        }
    )


def fake_snakemake(**sections) -> SimpleNamespace:
    """The parts of Snakemake's `snakemake` object a script reads (input, output, params, wildcards, log)."""
    return SimpleNamespace(**{
        key: SimpleNamespace(**value) if isinstance(value, dict) else value for key, value in sections.items()
    })
