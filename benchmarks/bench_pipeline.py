"""Time the pipeline from scratch and print seconds per rule from Snakemake's benchmark files.

    .venv/bin/python benchmarks/bench_pipeline.py [--configfile FILE ...] [--results DIR] [--cores N]

Default: the default config (embedded simulated data) into a fresh temporary results folder.
"""

from __future__ import annotations

import argparse
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
    print("\n" + (results / "comparison.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
