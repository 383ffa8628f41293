"""Benchmark the tokenizers on the real UTR-seq reporters (the Morfessor one must train in <= 120 s).

Trains each kind on a seeded random 80% of ../shared/data/utrseq/reporter_seq.txt and prints, per
tokenizer: training seconds (wall and CPU), vocabulary size, mean tokens per sequence and nt per
token on the held-out 20%, and the UNK rate there. The rbp_window `train` table uses random targets
(seeded): the benchmark measures speed and sizes, not biology.

    .venv/bin/python benchmarks/bench_morfessor.py              # every kind
    .venv/bin/python benchmarks/bench_morfessor.py --kinds morfessor
Exits 1 when the Morfessor training takes longer than --max-seconds (wall clock).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without installing the package

from decaylm.tokenizers import token_counts, train_tokenizer  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "utrseq" / "reporter_seq.txt"

SPECS = {
    "nucleotide": {"kind": "nucleotide"},
    "kmer6": {"kind": "kmer", "k": 6},
    "kmer6_nonoverlap": {"kind": "kmer", "k": 6, "overlapping": False},
    "bpe": {"kind": "bpe"},
    "wordpiece": {"kind": "wordpiece"},
    "morfessor": {"kind": "morfessor"},
    "rbp_known": {"kind": "rbp_window", "table": "known"},
    "rbp_train": {"kind": "rbp_window", "table": "train"},
}


def read_sequences(path: Path) -> list[str]:
    """The sequence column of the tab-separated, header-less id/sequence file."""
    with open(path) as handle:
        return [line.rstrip("\n").split("\t")[1] for line in handle if line.strip()]


def split_80_20(sequences: list[str], seed: int) -> tuple[list[str], list[str]]:
    order = list(range(len(sequences)))
    random.Random(seed).shuffle(order)
    cut = int(0.8 * len(order))
    return [sequences[i] for i in order[:cut]], [sequences[i] for i in order[cut:]]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="reporter_seq.txt (id<TAB>sequence)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--kinds", nargs="+", default=list(SPECS), choices=list(SPECS), metavar="NAME")
    parser.add_argument("--max-seconds", type=float, default=120.0, help="limit for the Morfessor training")
    args = parser.parse_args(argv)

    train, held_out = split_80_20(read_sequences(args.data), args.seed)
    targets = np.random.default_rng(args.seed).normal(size=len(train))
    print(f"{len(train)} training / {len(held_out)} held-out sequences from {args.data}")
    print("pretrained: skipped (needs a local checkpoint directory)")
    header = (f"{'tokenizer':<18}{'seconds':>9}{'cpu_s':>8}{'vocab':>8}"
              f"{'tokens/seq':>12}{'nt/token':>10}{'unk_rate':>10}")
    print(header)
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.kinds:
            tokenizer = train_tokenizer(SPECS[name], train, targets, Path(tmp) / name, seed=args.seed)
            counts = token_counts(tokenizer, held_out)
            nt_per_token = sum(map(len, held_out)) / counts.sum() if counts.sum() else float("nan")
            meta = tokenizer.meta
            print(
                f"{name:<18}{meta['train_seconds']:>9.1f}{meta['train_cpu_seconds']:>8.1f}{tokenizer.vocab_size:>8}"
                f"{counts.mean():>12.1f}{nt_per_token:>10.2f}{tokenizer.unk_rate(held_out):>10.4f}",
                flush=True,
            )
            if name == "morfessor" and meta["train_seconds"] > args.max_seconds:
                print(f"FAIL: morfessor trained in {meta['train_seconds']:.1f} s > {args.max_seconds:g} s")
                failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
