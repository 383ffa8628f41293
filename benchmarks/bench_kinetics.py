"""Time the kinetic target (two-phase fit, `target.kind: kinetic`) on the real UTR-seq data.

Reads the counts (by default the UTR-seq example, 12,322 reporters; `--counts` takes another
table such as the DeepUTR A+ one), normalizes them as the pipeline does (no read filter unless
--min-reads, so every reporter is fitted), fits every reporter and prints the fit time, how many
onsets are determined, and the agreement with Rabani et al.'s own fitted parameters where the
file is there (../shared/data/rabani_fits/).

    nice -n 10 .venv/bin/python benchmarks/bench_kinetics.py
    nice -n 10 .venv/bin/python benchmarks/bench_kinetics.py --from-hour 1 --to-hour 10 --onset-range 1 8
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from decaylm.expression import normalize_counts  # noqa: E402
from decaylm.sources import read_counts  # noqa: E402
from decaylm.target import KineticSettings, kinetic_target  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
HOURS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12]
RABANI = {"A-": DATA / "rabani_fits" / "3U.models.3U.00A.seq1022_param.txt",
          "A+": DATA / "rabani_fits" / "3U.models.3U.40A.seq1022_param.txt"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default=str(DATA / "utrseq" / "reporter_counts.txt"))
    parser.add_argument("--sequences", default=str(DATA / "utrseq" / "reporter_seq.txt"))
    parser.add_argument("--hours", type=float, nargs="+", default=None,
                        help="one per ARnn column (default: 0..8,10,12, or 0..8,10 for a 10-column table)")
    parser.add_argument("--library", choices=sorted(RABANI), default="A-", help="which Rabani fits to compare with")
    parser.add_argument("--from-hour", type=float, default=2)
    parser.add_argument("--to-hour", type=float, default=8)
    parser.add_argument("--onset-range", type=float, nargs=2, default=[2, 6])
    parser.add_argument("--onset-tolerance", type=float, default=1.0)
    parser.add_argument("--weights", choices=["level", "uniform"], default="level")
    parser.add_argument("--refine", action="store_true", help="polish with scipy least_squares (target.refine)")
    parser.add_argument("--min-reads", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    header = Path(args.counts).open().readline().split("\t")
    hours = args.hours or HOURS[:len(header) - 1]
    raw = read_counts(args.counts, args.sequences, hours, require_sequences=False)
    expression = normalize_counts(raw, 1, args.min_reads, [2] if args.min_reads else [])
    settings = KineticSettings(onset_range=tuple(args.onset_range), onset_tolerance=args.onset_tolerance,
                               weights=args.weights, refine=args.refine)
    started = time.perf_counter()
    table = kinetic_target(expression, args.from_hour, args.to_hour, settings)
    seconds = time.perf_counter() - started
    determined = int(table["onset_determined"].sum())
    print(f"fit: {len(table)} reporters, hours {args.from_hour:g}-{args.to_hour:g}, onsets {args.onset_range}, "
          f"weights {args.weights}, refine {args.refine}: {seconds:.2f} s")
    print(f"onset determined (interval <= {args.onset_tolerance:g} h): {determined} ({determined / len(table):.1%}); "
          f"one-phase: {int(table['one_phase'].sum())}; rate at 0: {int((table['rate'] <= 1e-9).sum())}")
    print(f"rate: median {table['rate'].median():.3f}, sd {table['rate'].std():.3f} log2/h; "
          f"onset: median {table['onset'].median():.2f} h; residual (weighted RMS): median {table['residual'].median():.3f}")
    difference = (expression[f"{args.to_hour:g}h"] - expression[f"{args.from_hour:g}h"]).to_numpy()
    print(f"rate vs log2 {args.to_hour:g}h/{args.from_hour:g}h: r = {np.corrcoef(table['rate'], difference)[0, 1]:.3f}")
    path = RABANI[args.library]
    if path.exists():
        theirs = pd.read_csv(path, sep="\t", header=None, names=["id", "log2_rate", "log2_x0", "their_onset"]).set_index("id")
        shared = table.set_index("id").join(theirs, how="inner")
        positive = shared["rate"] > 0
        print(f"against Rabani's {args.library} fits ({len(shared)} shared): log2 rate vs log2 of ours (rate > 0, "
              f"n={int(positive.sum())}): r = {np.corrcoef(np.log2(shared.loc[positive, 'rate']), shared.loc[positive, 'log2_rate'])[0, 1]:.3f}; "
              f"rate vs 2^their log2 rate: Spearman {shared['rate'].corr(np.exp2(shared['log2_rate']), method='spearman'):.3f}; "
              f"onset: r = {np.corrcoef(shared['onset'], shared['their_onset'])[0, 1]:.3f} "
              f"(theirs at 1 h: {int((shared['their_onset'] <= 1).sum())})")


if __name__ == "__main__":
    main()
