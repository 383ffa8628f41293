"""Choose ENSEMBLE members on the validation split of a finished run (never on test).

The pipeline does this itself with `members: auto` (models/ENSEMBLE/selection.tsv); this script
runs the same code (decaylm.models.ensemble.choose_members) over any finished results folder, for
example one whose ensemble was hand-written. It averages every combination of up to --most trained
rows (ensembles and rows that did not run left out), ranks them by valid R² and prints the best few.
choose_members reads only the valid rows: test figures appear once, in the pipeline's table.

    .venv/bin/python benchmarks/choose_ensemble.py results/utrseq [--most 3]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from decaylm.config import ENSEMBLE_KINDS
from decaylm.models.ensemble import choose_members


def candidate_predictions(results: Path) -> dict[str, pd.DataFrame]:
    """Each row's predictions.tsv, leaving out rows that average other rows (ensembles)."""
    out = {}
    for path in sorted((results / "models").glob("*/predictions.tsv")):
        kind = json.loads((path.parent / "run.json").read_text())["settings"]["spec"]["kind"]
        if kind not in ENSEMBLE_KINDS:
            out[path.parent.name] = pd.read_csv(path, sep="\t")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", type=Path)
    parser.add_argument("--most", type=int, default=3, help="largest number of members")
    parser.add_argument("--show", type=int, default=8)
    args = parser.parse_args()
    members, table, excluded = choose_members(candidate_predictions(args.results), args.most)
    for _, row in table[table["size"] >= 2].head(args.show).iterrows():
        print(f"valid R2 {row['valid_r2']:.4f}  {' + '.join(row['members'].split(','))}")
    singles = table[table["size"] == 1]
    print("\nalone: " + ", ".join(f"{m} {r:.4f}" for m, r in zip(singles["members"], singles["valid_r2"])))
    if excluded:
        print("left out: " + ", ".join(f"{m} ({why})" for m, why in excluded.items()))
    best = table[table["chosen"]].iloc[0]
    print(f"\nchosen on valid: members: [{', '.join(members)}]  (valid R2 {best['valid_r2']:.4f}, "
          f"n_valid {best['n_valid']})")


if __name__ == "__main__":
    main()
