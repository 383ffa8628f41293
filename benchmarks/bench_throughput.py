"""Training and ISM throughput of every neural kind on this CPU, against its measured matmul peak.

For each row (config.yaml's CNN, BERT_NT, BERT_KMER6, BERT_BPE, HYBRID and mlm_bpe; config/library.yaml's
LEGNET; their settings as the configs give them) the kind's own job code trains one epoch of `--steps`
batches (`train`, or `pretrain` for MLM, through decaylm.models.training.fit, as the pipeline runs it)
on 110-nt reporters of the real UTR-seq data (or random ones, `--data simulated`). Printed per row and
thread count:

- reporters/s and tokens/s of fit's training loop (fit's own clock: forward, backward, optimizer,
  collate), and the ms per batch split into data preparation (the collate fit is given: stacking,
  padding, MLM masking; timed around each call) and the model step (the rest of the loop);
- prep: the once-per-run preparation per reporter (tokenization and items, from the job's start to
  fit), which the pipeline pays once, not per epoch;
- GFLOP per reporter, forward + backward, counted with torch.utils.flop_counter.FlopCounterMode on one
  training batch (exact for matmuls and convolutions; elementwise work is not counted);
- achieved GFLOP/s and its share of this CPU's float32 matmul peak at the same thread count (a large
  torch.matmul, `--peak-size`, best of a few);
- ISM mutants/s: decaylm.interpret.attribution.ism through the saved model's predict (the interpret
  stage's path), on `--ism-sequences` reporters (regressors only).

    flock /tmp/cpu.lock .venv/bin/python benchmarks/bench_throughput.py --threads 1 2
    .venv/bin/python benchmarks/bench_throughput.py --kinds CNN HYBRID --steps 10 --ism-sequences 5

docs/throughput.md has the figures on the project's 2-core machine and what they mean.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml
from torch.utils.flop_counter import FlopCounterMode, sdpa_backward_flop_count, sdpa_flop_count

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from decaylm.models import bert, cnn, legnet, mlm  # noqa: E402
from decaylm.models.registry import parse_model_spec, parse_pretraining_spec  # noqa: E402

# row -> (config file, section): the settings measured are the configs' own
ROWS = {"CNN": ("config.yaml", "models"), "LEGNET": ("config/library.yaml", "models"),
        "BERT_NT": ("config.yaml", "models"), "BERT_KMER6": ("config.yaml", "models"),
        "BERT_BPE": ("config.yaml", "models"), "HYBRID": ("config.yaml", "models"),
        "mlm_bpe": ("config.yaml", "pretraining")}
TRAINERS = {"cnn": cnn.train, "legnet": legnet.train, "bert": bert.train}
FIT_CALLERS = {"cnn": cnn, "legnet": cnn, "bert": bert, "mlm": mlm}  # the module whose `fit` a kind's job calls
HOURS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12]  # config.yaml's data.hours
LENGTH = 110  # the UTR-seq reporters' length, and the simulated ones'


# ------------------------------------------------------------------------------------------
# data and settings


def reporters(source: str, n: int, seed: int) -> pd.DataFrame:
    """id, sequence and y of `n` reporters: the real UTR-seq data (config.yaml's target) or random 110-nt sequences."""
    rng = np.random.default_rng(seed)
    if source == "simulated":
        sequences = ["".join(row) for row in rng.choice(list("ACGT"), size=(n, LENGTH))]
        return pd.DataFrame({"id": [f"r{i}" for i in range(n)], "sequence": sequences, "y": rng.normal(size=n)})
    from decaylm.expression import normalize_counts
    from decaylm.sources import read_utrseq
    from decaylm.target import compute_target

    table = compute_target(normalize_counts(read_utrseq(str(ROOT / "data" / "utrseq"), HOURS), 1, 20, [2.0]),
                           "difference", 2, 8)
    table = table[["id", "sequence", "y"]].dropna()
    table = table[table["sequence"].str.len() == LENGTH]
    return table.iloc[rng.permutation(len(table))[:n]].reset_index(drop=True)


def row_settings(name: str) -> tuple[dict, dict | None]:
    """(the row's config entry, its tokenizer's entry or None), read from the config file that defines it."""
    path, section = ROWS[name]
    config = yaml.safe_load((ROOT / path).read_text())
    entry = dict(config[section][name])
    tokenizers = {**yaml.safe_load((ROOT / "config.yaml").read_text())["tokenizers"], **(config.get("tokenizers") or {})}
    return entry, tokenizers[entry["tokenizer"]] if "tokenizer" in entry else None


def split_of(table: pd.DataFrame, n_train: int, n_valid: int) -> pd.DataFrame:
    part = ["train"] * n_train + ["valid"] * n_valid
    split = table.iloc[:len(part)].assign(split=part)
    return split.assign(group=np.arange(len(split)))


# ------------------------------------------------------------------------------------------
# measurements


def matmul_peak(threads: int, size: int, repeats: int = 10) -> float:
    """GFLOP/s of the best of `repeats` float32 size x size matmuls on `threads` threads."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    a, b = torch.randn(size, size), torch.randn(size, size)
    torch.matmul(a, b)  # warm-up: thread pool and caches
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        torch.matmul(a, b)
        best = min(best, time.perf_counter() - started)
    torch.set_num_threads(before)
    return 2 * size ** 3 / best / 1e9


class TimedCollate:
    """The collate fit is given, timed: the seconds spent in training batches (epoch >= 1) are summed;
    validation's and BatchNorm refresh's calls are not counted. Per-epoch collates (MLM masks) stay per-epoch."""

    def __init__(self, collate, clock: dict, counted: bool = False):
        self.collate, self.clock, self.counted = collate, clock, counted

    def for_epoch(self, epoch: int) -> TimedCollate:
        inner = self.collate.for_epoch(epoch) if hasattr(self.collate, "for_epoch") else self.collate
        return TimedCollate(inner, self.clock, counted=epoch >= 1)

    def __call__(self, items):
        started = time.perf_counter()
        batch = self.collate(items)
        if self.counted:
            self.clock["collate_seconds"] += time.perf_counter() - started
            self.clock["batches"] += 1
        return batch


@contextmanager
def timed_fit(module, clock: dict):
    """`module.fit` (the shared loop, as the kind's job calls it) with its collate timed; records the
    model, items, collate and result it saw, and when the job reached it."""
    real_fit = module.fit

    def fit(model, train_items, valid_items, collate, *args, **kwargs):
        clock.update(fit_called=time.perf_counter(), model=model, items=train_items, collate=collate)
        result = real_fit(model, train_items, valid_items, TimedCollate(collate, clock), *args, **kwargs)
        clock["result"] = result
        return result

    module.fit = fit
    try:
        yield
    finally:
        module.fit = real_fit


# torch's CPU flash attention (sdpa on the CPU) is missing from FlopCounterMode's table; its count is sdpa's
CPU_ATTENTION_FLOPS = {
    torch.ops.aten._scaled_dot_product_flash_attention_for_cpu:
        lambda q, k, v, *args, out_shape=None, **kwargs: sdpa_flop_count(q, k, v),
    torch.ops.aten._scaled_dot_product_flash_attention_for_cpu_backward:
        lambda grad, q, k, v, *args, out_shape=None, **kwargs: sdpa_backward_flop_count(grad, q, k, v),
}


def flops_per_reporter(model, items: list, collate, batch_size: int) -> float:
    """Forward + backward FLOPs of one training batch, per reporter."""
    batch = collate.for_epoch(1)(items[:batch_size]) if hasattr(collate, "for_epoch") else collate(items[:batch_size])
    model.train()
    counter = FlopCounterMode(display=False, custom_mapping=CPU_ATTENTION_FLOPS)
    with counter:
        _, loss = model(**batch)
        loss.backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops() / len(items[:batch_size])


def ism_rate(model_dir: Path, sequences: list[str]) -> float:
    """Mutants/s of the interpret stage's ISM through the saved model's predict."""
    from decaylm.interpret.attribution import ism
    from decaylm.models import load_model

    model = load_model(model_dir)
    started = time.perf_counter()
    ism(model, sequences)
    return len(sequences) * 3 * len(sequences[0]) / (time.perf_counter() - started)


def measure_row(name: str, table: pd.DataFrame, steps: int, threads: int, peaks: dict, ism_sequences: int,
                work: Path) -> dict:
    """One row's figures at `threads` threads: one epoch of `steps` batches through the kind's job code."""
    from decaylm.tokenizers import train_tokenizer

    torch.set_num_threads(threads)
    entry, tokenizer_spec = row_settings(name)
    pretraining = ROWS[name][1] == "pretraining"
    entry = {**entry, "epochs": 1, "patience": 1}
    spec = parse_pretraining_spec(name, entry, 42) if pretraining else parse_model_spec(name, entry, 42)
    batch_size = spec.training.batch_size
    n_valid = batch_size
    n_train = steps * batch_size
    if pretraining:  # holdout_fraction of the training sequences is its validation
        n_train = int(np.ceil(n_train / (1 - spec.architecture.holdout_fraction)))
    if n_train + n_valid + ism_sequences > len(table):
        raise SystemExit(f"{name}: {steps} steps of {batch_size} need {n_train + n_valid + ism_sequences} reporters; "
                         f"there are {len(table)}")
    split = split_of(table, n_train, n_valid)
    out = work / f"{name}_{threads}"
    inputs = {}
    if tokenizer_spec is not None:
        train = split[split["split"] == "train"]
        train_tokenizer(tokenizer_spec, train["sequence"].tolist(), train["y"].to_numpy(), work / entry["tokenizer"],
                        seed=42)
        inputs["tokenizer_dir"] = work / entry["tokenizer"]
    clock = {"collate_seconds": 0.0, "batches": 0}
    with timed_fit(FIT_CALLERS[spec.kind], clock):
        started = time.perf_counter()
        if pretraining:
            mlm.pretrain(split, spec, inputs["tokenizer_dir"], out)
        else:
            TRAINERS[spec.kind](split, spec, out, **inputs)
    result, items = clock["result"], clock["items"]
    loop = result.train_seconds  # fit's clock around its training loop (history rounds it)
    per_reporter = flops_per_reporter(clock["model"], items, clock["collate"], batch_size)
    rate = len(items) / loop
    row = {"row": name, "kind": spec.kind, "threads": threads, "batch_size": batch_size, "reporters": len(items),
           "reporters_per_s": rate, "tokens_per_s": result.train_tokens_per_second,
           "tokens_per_reporter": round(result.train_tokens_per_second * loop) / len(items),  # fit counts whole tokens
           "gflop_per_reporter": per_reporter / 1e9, "gflop_per_s": per_reporter * rate / 1e9,
           "peak_gflop_per_s": peaks[threads], "ms_per_batch": 1e3 * loop / clock["batches"],
           "collate_ms_per_batch": 1e3 * clock["collate_seconds"] / clock["batches"],
           "prep_us_per_reporter": 1e6 * (clock["fit_called"] - started) / (n_train + n_valid)}
    row["step_ms_per_batch"] = row["ms_per_batch"] - row["collate_ms_per_batch"]
    row["share_of_peak"] = row["gflop_per_s"] / peaks[threads]
    if not pretraining and ism_sequences:
        chosen = table.iloc[len(split):len(split) + ism_sequences]["sequence"].tolist()
        row["ism_mutants_per_s"] = ism_rate(out, chosen)
    return row


COLUMNS = [("row", "row", "{}"), ("threads", "thr", "{}"), ("reporters_per_s", "reporters/s", "{:.0f}"),
           ("tokens_per_s", "tokens/s", "{:.0f}"), ("gflop_per_reporter", "GFLOP/reporter", "{:.4f}"),
           ("gflop_per_s", "GFLOP/s", "{:.1f}"), ("peak_gflop_per_s", "peak", "{:.0f}"),
           ("share_of_peak", "of peak", "{:.1%}"), ("ms_per_batch", "ms/batch", "{:.1f}"),
           ("collate_ms_per_batch", "collate ms", "{:.2f}"), ("step_ms_per_batch", "step ms", "{:.1f}"),
           ("prep_us_per_reporter", "prep us/rep", "{:.0f}"), ("ism_mutants_per_s", "ISM mutants/s", "{:.0f}")]


def format_row(row: dict) -> str:
    return "\t".join(fmt.format(row[key]) if key in row else "-" for key, _, fmt in COLUMNS)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kinds", nargs="+", default=list(ROWS), choices=list(ROWS), help="rows to measure")
    parser.add_argument("--threads", nargs="+", type=int, default=[1], help="torch threads (the pipeline's jobs use 1)")
    parser.add_argument("--steps", type=int, default=30, help="training batches per row")
    parser.add_argument("--data", choices=["real", "simulated"], default="real")
    parser.add_argument("--reporters", type=int, default=12_322, help="reporters drawn (simulated: made)")
    parser.add_argument("--ism-sequences", type=int, default=10, help="reporters ISM runs on (0: no ISM)")
    parser.add_argument("--peak-size", type=int, default=2048, help="side of the matmul measuring the peak")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, help="work folder (default: a temporary one)")
    parser.add_argument("--out", type=Path, help="also write the rows as JSON")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    peaks = {threads: matmul_peak(threads, args.peak_size) for threads in sorted({1, 2, *args.threads})}
    print(f"# torch {torch.__version__}; float32 matmul peak ({args.peak_size}^2): "
          + ", ".join(f"{t} thread{'s' * (t > 1)} {p:.0f} GFLOP/s" for t, p in peaks.items()), flush=True)
    table = reporters(args.data, args.reporters, args.seed)
    print("\t".join(header for _, header, _ in COLUMNS), flush=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="decaylm_throughput_") as scratch:
        work = args.work or Path(scratch)
        for name in args.kinds:
            for threads in args.threads:
                rows.append(measure_row(name, table, args.steps, threads, peaks, args.ism_sequences, work))
                print(format_row(rows[-1]), flush=True)
    if args.out:
        args.out.write_text(json.dumps({"peaks": peaks, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
