"""Inference speed of every trained model of a results folder, against its training speed.

For each model folder (results/models/NAME with a model.json) it prints the sequences scored
per second on 110-nt windows (the reporters of the split: no autograd, batches sorted by length,
bf16 where the model trained in it), the sequences per second its training processed
(training sequences x epochs run / training seconds, from training.json), their ratio, and the
time to tile and score a file of long sequences (by default the 31 full-length zebrafish 3'UTRs)
with every model at stride 10.

    .venv/bin/python benchmarks/bench_predict.py results/utrseq --threads 1

`--models` names the folders under results/models to time (default: every one), e.g. the single
seeds `CNN/repeat1 ...` of a repeats run, whose row folders hold the mean of three models.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from decaylm.models import load_model  # noqa: E402
from decaylm.models.artifact import MODEL_FILE  # noqa: E402
from decaylm.predict import score_windows  # noqa: E402
from decaylm.sequences import read_sequences  # noqa: E402

UTRS = Path(__file__).resolve().parents[2] / "shared" / "data" / "utrseq" / "test_seq.txt"


def training_rate(folder: Path, n_train: int) -> float | None:
    """Training sequences per second (forward and backward), None for models without a loop."""
    path = folder / "training.json"
    if not path.exists():
        return None
    record = json.loads(path.read_text())
    epochs = len(record.get("history", []))
    return n_train * epochs / record["train_seconds"] if epochs and record.get("train_seconds") else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", type=Path)
    parser.add_argument("--long", type=Path, default=UTRS, help="long sequences to tile (FASTA or TSV)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the training jobs used 1)")
    parser.add_argument("--repeats", type=int, default=2, help="timed passes; the fastest is reported")
    parser.add_argument("--models", nargs="*", default=None, help="folders under RESULTS/models (default: all)")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    split = pd.read_csv(args.results / "data" / "split.tsv", sep="\t")
    sequences = split["sequence"].tolist()
    n_train = int((split["split"] == "train").sum())
    rows, models = [], []
    folders = ([args.results / "models" / name for name in args.models] if args.models else
               sorted(p for p in (args.results / "models").iterdir() if (p / MODEL_FILE).exists()))
    for folder in folders:
        model = load_model(folder)
        model.predict(sequences[:256])  # warm-up
        seconds = min(_timed(model.predict, sequences) for _ in range(args.repeats))
        train = training_rate(folder, n_train)
        rate = len(sequences) / seconds
        rows.append({"model": folder.relative_to(args.results / "models").as_posix(), "kind": model.kind, "predict seq/s": round(rate),
                     "train seq/s": round(train) if train else None,
                     "ratio": round(rate / train, 1) if train else None})
        models.append(model)
        print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    print(f"\n{len(sequences)} windows of {split['sequence'].str.len().median():.0f} nt, {args.threads} thread(s)")
    print(table.to_markdown(index=False) if _has_tabulate() else table.to_string(index=False))
    if args.long.exists():
        long = read_sequences(args.long)
        started = time.perf_counter()
        windows = score_windows(models, long, stride=10)
        print(f"\n{len(long)} sequences of {args.long.name} ({long['sequence'].str.len().sum():,} nt): "
              f"{len(windows)} windows scored by {len(models)} models in {time.perf_counter() - started:.1f} s")


def _timed(function, sequences) -> float:
    started = time.perf_counter()
    function(sequences)
    return time.perf_counter() - started


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
        return True
    except ImportError:
        return False


if __name__ == "__main__":
    main()
