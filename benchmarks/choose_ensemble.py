"""Choose ENSEMBLE members on the validation split of a finished run (never on test).

Averages every combination of up to --most trained models' predictions, ranks them by valid R²
and prints the best few. It reads no test row: test figures appear once, in the pipeline's table.

    .venv/bin/python benchmarks/choose_ensemble.py results/utrseq [--most 4]
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import r2_score


def trained_predictions(results: Path) -> dict[str, pd.DataFrame]:
    """Each model's predictions.tsv, leaving out ensembles and models that did not run."""
    out = {}
    for path in sorted((results / "models").glob("*/predictions.tsv")):
        frame = pd.read_csv(path, sep="\t")
        kind = json.loads((path.parent / "run.json").read_text())["settings"]["spec"]["kind"]
        if kind != "ensemble" and not frame["y_pred"].isna().all():
            out[path.parent.name] = frame
    return out


def ranked_combinations(predictions: dict[str, pd.DataFrame], most: int) -> list[tuple[float, tuple]]:
    """(valid R², members) for every combination of 2..most models, best valid first."""
    first = next(iter(predictions.values()))
    valid = (first["split"] == "valid").to_numpy()
    y = first["y_true"].to_numpy()[valid]
    rows = []
    for size in range(2, most + 1):
        for members in itertools.combinations(predictions, size):
            mean = np.mean([predictions[m]["y_pred"].to_numpy()[valid] for m in members], axis=0)
            rows.append((r2_score(y, mean), members))
    return sorted(rows, key=lambda row: row[0], reverse=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", type=Path)
    parser.add_argument("--most", type=int, default=4, help="largest number of members")
    parser.add_argument("--show", type=int, default=8)
    args = parser.parse_args()
    rows = ranked_combinations(trained_predictions(args.results), args.most)
    for valid_r2, members in rows[: args.show]:
        print(f"valid R2 {valid_r2:.4f}  {' + '.join(members)}")
    valid_r2, members = rows[0]
    print(f"\nchosen on valid: members: [{', '.join(members)}]  (valid R2 {valid_r2:.4f})")


if __name__ == "__main__":
    main()
