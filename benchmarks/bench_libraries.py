"""Multi-library rows against single-library rows: the paired grouped-bootstrap difference of test R2.

    .venv/bin/python benchmarks/bench_libraries.py RESULTS [RESULTS ...] [--pairs CNN_BOTH:CNN HYBRID_BOTH:HYBRID]

RESULTS are results roots of runs with several data.libraries (for example the same config at two
seeds: the split is the same, so the test groups and the resamples are too). For each library and
pair, prints R2(multi) - R2(single) per run with its 95% interval (1000 resamples of whole test
overlap groups, the comparison's bootstrap), and over all runs the mean difference with the interval
of that mean (each resample scores every run's predictions).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import r2_score

from decaylm.evaluate import bootstrap_r2, percentile_interval


def test_predictions(results: Path, library: str, model: str, test: pd.DataFrame) -> np.ndarray:
    frame = pd.read_csv(results / library / "models" / model / "predictions.tsv", sep="\t")
    rows = test.merge(frame[frame["split"] == "test"][["id", "y_pred"]], on="id", how="left")
    return rows["y_pred"].to_numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", nargs="+", type=Path)
    parser.add_argument("--pairs", nargs="+", default=["CNN_BOTH:CNN", "HYBRID_BOTH:HYBRID"])
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    libraries = [p.parent.name for p in sorted(args.results[0].glob("*/comparison.tsv"))]
    print("| library | multi - single | " + " | ".join(r.name for r in args.results) + " | mean over runs |")
    print("|---" * (3 + len(args.results)) + "|")
    for library in libraries:
        split = pd.read_csv(args.results[0] / library / "data" / "split.tsv", sep="\t")
        test = split[split["split"] == "test"][["id", "y", "group"]].reset_index(drop=True)
        for pair in args.pairs:
            multi, single = pair.split(":")
            columns = [test_predictions(r, library, m, test) for r in args.results for m in (multi, single)]
            r2 = bootstrap_r2(test["y"].to_numpy(), np.column_stack(columns), test["group"].to_numpy(),
                              args.resamples, args.seed)
            point = np.array([r2_score(test["y"], c) for c in columns])
            cells = []
            for run in range(len(args.results)):
                d = r2[:, 2 * run] - r2[:, 2 * run + 1]
                low, high = percentile_interval(d[:, None])
                cells.append(f"{point[2 * run] - point[2 * run + 1]:+.3f} [{low[0]:+.3f}, {high[0]:+.3f}]")
            d_mean = (r2[:, 0::2] - r2[:, 1::2]).mean(axis=1)
            low, high = percentile_interval(d_mean[:, None])
            mean = (point[0::2] - point[1::2]).mean()
            print(f"| {library} | {multi} - {single} | " + " | ".join(cells) + f" | {mean:+.3f} [{low[0]:+.3f}, {high[0]:+.3f}] |")


if __name__ == "__main__":
    main()
