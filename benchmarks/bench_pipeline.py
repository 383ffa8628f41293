"""Time the pipeline from scratch and print seconds per rule from Snakemake's benchmark files.

    .venv/bin/python benchmarks/bench_pipeline.py [--configfile FILE ...] [--results DIR] [--cores N]

Default: the default config (embedded simulated data) into a fresh temporary results folder.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]


def rule_seconds(results: Path) -> pd.DataFrame:
    rows = []
    for path in sorted((results / "benchmarks").rglob("*.tsv")):
        name = str(path.relative_to(results / "benchmarks").with_suffix(""))
        record = pd.read_csv(path, sep="\t").iloc[0]
        rows.append({"job": name, "seconds": record["s"], "max_rss_mb": record["max_rss"]})
    return pd.DataFrame(rows).sort_values("seconds", ascending=False)


def model_table(results: Path) -> pd.DataFrame:
    """The comparison with each model's training seconds and tokens per second (nucleotides for the CNN)."""
    table = pd.read_csv(results / "comparison.tsv", sep="\t")
    seconds, throughput = [], []
    for model in table["model"]:
        record = results / "models" / model / "training.json"
        run = json.loads((results / "models" / model / "run.json").read_text())
        training = json.loads(record.read_text()) if record.exists() else {}
        seconds.append(run.get("train_seconds"))
        throughput.append(training.get("train_tokens_per_second"))
    table["train_seconds"], table["tokens_per_second"] = seconds, throughput
    return table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configfile", nargs="*", default=[])
    parser.add_argument("--results", type=Path, default=None)
    parser.add_argument("--cores", default="all")
    args = parser.parse_args()
    results = args.results or Path(tempfile.mkdtemp(prefix="decaylm-bench-"))
    command = [sys.executable, "-m", "snakemake", "--cores", str(args.cores), "--config", f"results={results}", "-q"]
    if args.configfile:
        command[3:3] = ["--configfile", *args.configfile]
    started = time.perf_counter()
    subprocess.run(command, cwd=REPO, check=True)
    wall = time.perf_counter() - started
    table = rule_seconds(results)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.1f}"))
    print(f"\nwall time: {wall:.1f} s for {len(table)} jobs (sum of job times {table['seconds'].sum():.1f} s); "
          f"results in {results}")
    columns = ["model", "r2", "pearson", "spearman", "n_test", "train_seconds", "tokens_per_second", "status"]
    print("\n" + model_table(results)[columns].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
