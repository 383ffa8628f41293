"""Comparing trained tokenizers: one statistics row each, tokens per sequence, and their figure."""

from __future__ import annotations

import numpy as np
import pandas as pd

from decaylm.sequences import normalize_sequence
from decaylm.tokenizers.dna_tokenizer import DnaTokenizer, load_tokenizer
from decaylm.tokenizers.train import check_split_frame

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

    from decaylm.io import save_figure

    names = list(counts)[::-1]  # boxplot draws bottom-up: list the first tokenizer at the top
    fig, ax = plt.subplots(figsize=(7, 1.0 + 0.45 * max(len(names), 1)))
    if names:
        data = [np.asarray(counts[n]) for n in names]
        ax.boxplot(data, orientation="horizontal", tick_labels=names, showfliers=False)
    ax.set_xlabel("tokens per sequence (without [CLS]/[SEP])")
    ax.set_title("Token counts per tokenizer")
    save_figure(fig, path, dpi=120)


def token_count_table(tokenizer_dirs: dict, sequences) -> dict[str, np.ndarray]:
    """Tokens per sequence for each tokenizer, for plot_token_counts."""
    sequences = [normalize_sequence(str(s)) for s in sequences]
    return {name: token_counts(t, sequences) for name, t in _tokenizers(tokenizer_dirs).items()}
