"""Valid R2 of every trained row of a results folder, and nothing of test: what the library's rows were
chosen on (docs/library.md). Repeats (models/NAME/repeatN) are listed one line each.

    .venv/bin/python benchmarks/tuning/valid_table.py results/library
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from decaylm.io import read_tsv  # noqa: E402
from decaylm.metrics import part_r2  # noqa: E402


def main(results: Path) -> None:
    print("model\tvalid_r2\tbest_epoch\tepochs\ttrain_seconds\tparameters")
    for path in sorted((results / "models").glob("**/predictions.tsv")):
        folder = path.parent
        training = folder / "training.json"
        record = json.loads(training.read_text()) if training.exists() else {}
        epochs = len(record.get("history", [])) or ""
        print(f"{folder.relative_to(results / 'models')}\t{part_r2(read_tsv(path), 'valid'):.4f}\t"
              f"{record.get('best_epoch', '')}\t{epochs}\t{record.get('train_seconds', 0):.0f}\t"
              f"{record.get('parameters', '')}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
