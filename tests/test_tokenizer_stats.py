"""Tokenizer statistics: the table's numbers, token counts, the figure, and the Snakemake script."""

from __future__ import annotations

import runpy

import pandas as pd
import pytest

from decaylm.tokenizers import plot_token_counts, stats, token_count_table, tokenizer_stats
from tests.helpers.paths import REPO
from tests.helpers.tokenizers import LENGTH, fake_snakemake, plant, split_frame


def test_stats_and_figure(tmp_path, trained_tokenizers):
    frame = split_frame(20, 10)
    frame.loc[frame.index[-1], "sequence"] = plant(frame["sequence"].iat[-1], "N", 50)  # a test row
    dirs = {name: trained_tokenizers[name].path for name in ("nucleotide", "kmer", "rbp_known")}
    table = tokenizer_stats(dirs, frame)
    assert list(table.columns) == list(stats.STATS_COLUMNS)
    rows = table.set_index("tokenizer")
    assert rows.loc["nucleotide", "mean_tokens"] == LENGTH and rows.loc["nucleotide", "nt_per_token"] == 1.0
    assert rows.loc["kmer", "median_tokens"] == LENGTH - 5 and rows.loc["kmer", "kind"] == "kmer"
    n_test = (frame["split"] == "test").sum()
    assert rows.loc["kmer", "unk_rate_test"] == pytest.approx(6 / (n_test * (LENGTH - 5)))
    assert rows.loc["nucleotide", "unk_rate_test"] == 0.0
    assert rows.loc["kmer", "vocab_size"] == 4**6 + 5
    assert rows.loc["rbp_known", "train_seconds"] == trained_tokenizers["rbp_known"].meta["train_seconds"]
    counts = token_count_table(dirs, frame["sequence"])
    assert list(counts["kmer"]) == [LENGTH - 5] * len(frame)
    plot_token_counts(counts, tmp_path / "counts.png")
    assert (tmp_path / "counts.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_tokenizer_stats_script(tmp_path, trained_tokenizers):
    split_path = tmp_path / "split.tsv"
    split_frame(20, 10).to_csv(split_path, sep="\t", index=False)
    paths = [str(trained_tokenizers[name].path / "tokenizer.json") for name in ("nucleotide", "bpe")]
    snakemake = fake_snakemake(
        input={"split": str(split_path), "tokenizers": paths},
        output={"table": str(tmp_path / "stats.tsv"), "figure": str(tmp_path / "counts.png")},
        params={"names": ["nucleotide", "bpe"]},  # the rule names them (under folds every folder is foldK)
        log=[str(tmp_path / "s.log")],
    )
    runpy.run_path(str(REPO / "scripts" / "tokenizer_stats.py"), init_globals={"snakemake": snakemake})
    table = pd.read_csv(tmp_path / "stats.tsv", sep="\t")
    assert list(table["tokenizer"]) == ["nucleotide", "bpe"]
    assert (tmp_path / "counts.png").stat().st_size > 0
