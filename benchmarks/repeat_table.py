"""The seed table of a run with repeats: each repeated row's valid and test R2 per repeat, mean and
spread (max - min), from models/*/repeats.tsv; rows without repeats from comparison.tsv.

    .venv/bin/python benchmarks/repeat_table.py results/utrseq_repeats
    .venv/bin/python benchmarks/repeat_table.py results/utrseq_repeats --valid-only TUNE_KMER6_E4 ...

--valid-only prints the valid figures of the named models (from their repeats.tsv) and nothing
of test: what settings are chosen on.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd


def repeat_table(results: Path) -> pd.DataFrame:
    comparison = pd.read_csv(results / "comparison.tsv", sep="\t").set_index("model")
    rows = []
    for model in comparison.index:
        path = results / "models" / model / "repeats.tsv"
        status = comparison.loc[model, "status"]
        if path.exists() and status == "ok":
            table = pd.read_csv(path, sep="\t")
            rows.append({"model": model, "seeds": ", ".join(map(str, table["seed"])),
                         "valid_r2": ", ".join(f"{v:.3f}" for v in table["valid_r2"]),
                         "valid_mean": table["valid_r2"].mean(), "valid_spread": table["valid_r2"].max() - table["valid_r2"].min(),
                         "test_r2": ", ".join(f"{v:.3f}" for v in table["r2"]),
                         "test_mean": table["r2"].mean(), "test_spread": table["r2"].max() - table["r2"].min()})
        elif status == "ok":
            rows.append({"model": model, "seeds": "(one job)", "valid_r2": f"{comparison.loc[model, 'valid_r2']:.3f}",
                         "valid_mean": comparison.loc[model, "valid_r2"], "valid_spread": float("nan"),
                         "test_r2": f"{comparison.loc[model, 'r2']:.3f}", "test_mean": comparison.loc[model, "r2"],
                         "test_spread": float("nan")})
        else:
            rows.append({"model": model, "seeds": status})
    return pd.DataFrame(rows)


def valid_only(results: Path, models: list[str]) -> pd.DataFrame:
    rows = []
    for model in models:
        table = pd.read_csv(results / "models" / model / "repeats.tsv", sep="\t")
        rows.append({"model": model, "seeds": ", ".join(map(str, table["seed"])),
                     "valid_r2": ", ".join(f"{v:.3f}" for v in table["valid_r2"]), "valid_mean": table["valid_r2"].mean(),
                     "valid_spread": table["valid_r2"].max() - table["valid_r2"].min()})
    return pd.DataFrame(rows)


if __name__ == "__main__":
    if "--valid-only" in sys.argv:
        at = sys.argv.index("--valid-only")
        table = valid_only(Path(sys.argv[1]), sys.argv[at + 1:])
    else:
        table = repeat_table(Path(sys.argv[1]))
    print(table.to_markdown(index=False, floatfmt=".3f"))
