"""The final real-data table of the repeats run with the settings chosen on valid (docs/training.md,
section 5): the rows of a config/utrseq_repeats.yaml run, with BERT_KMER6 and BERT_BPE_MLM taken
from the tuning rows that have the chosen settings (same spec, data, tokenizers, pretraining and
seeds as a run of the current config/utrseq.yaml trains under those names), BERT_KMER6_SEEDS as
their mean, and ENSEMBLE re-chosen on valid by the pipeline's own code (members: auto). Scored by
the comparison's code: mean over repeats, grouped bootstrap, paired differences, noise ceiling.

    .venv/bin/python benchmarks/tuning/assemble_final.py /work/cc/results/utrseq_repeats

It prints the table and writes it to RESULTS/comparison_final.tsv.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from decaylm.evaluate import (add_ceiling, add_intervals, comparison_markdown, comparison_table,  # noqa: E402
                              model_metrics, ordered_columns, repeat_metrics)
from decaylm.io import read_tsv  # noqa: E402
from decaylm.models.ensemble import average_predictions, choose_members  # noqa: E402

CHOSEN = {"BERT_KMER6": "TUNE_KMER6_E4", "BERT_BPE_MLM": "TUNE_BPE_MLM_EMA"}  # row -> folder with its settings
REPEATED = ["CNN", "HYBRID", "BERT_KMER6", "BERT_BPE", "BERT_BPE_MLM", "BERT_MORFESSOR", "MORPH_O", "MORPH_D", "BERT_NT"]
SEEDS_ROWS = {"CNN_SEEDS": "CNN", "HYBRID_SEEDS": "HYBRID", "BERT_KMER6_SEEDS": "BERT_KMER6"}


def main(results: Path) -> None:
    models = results / "models"
    folder = lambda name: models / CHOSEN.get(name, name)  # noqa: E731
    split = read_tsv(results / "data" / "split.tsv")
    metrics, scored, means = [], {}, {}
    for name in REPEATED:
        repeats = [read_tsv(path) for path in sorted(folder(name).glob("repeat*/predictions.tsv"))]
        assert len(repeats) == 3, (name, len(repeats))
        metrics.append(repeat_metrics(name, repeats, {"status": "ok"}))
        scored[name] = repeats
        means[name] = read_tsv(folder(name) / "predictions.tsv")
    ridge = read_tsv(models / "KMER_RIDGE" / "predictions.tsv")
    metrics.append(model_metrics("KMER_RIDGE", ridge, {"status": "ok"}))
    scored["KMER_RIDGE"] = means["KMER_RIDGE"] = ridge
    for name, of in SEEDS_ROWS.items():
        metrics.append(model_metrics(name, means[of], {"status": "ok"}))
        scored[name] = means[of]
    members, selection, excluded = choose_members(dict(means), max_size=3)  # valid rows only
    ensemble = average_predictions({m: means[m] for m in members})
    run = {"status": "ok", "members": members, "chosen_on_valid": True}
    metrics.append(model_metrics("ENSEMBLE", ensemble, run))
    scored["ENSEMBLE"] = ensemble
    metrics.append({"model": "DNABERT2", "status": "not run: weights not available offline"})
    table = add_intervals(comparison_table(metrics), scored, split, 1000, 0)
    ceiling = json.loads((results / "noise_ceiling.json").read_text())
    table = ordered_columns(add_ceiling(table, ceiling))
    print(f"ENSEMBLE members chosen on valid: {members} (valid R2 of the best combinations:)")
    print(selection.head(5).to_string(index=False))
    print(comparison_markdown(table, ceiling, 1000))
    table.to_csv(results / "comparison_final.tsv", sep="\t", index=False)  # the rows' R2 for bench_interpret


if __name__ == "__main__":
    main(Path(sys.argv[1]))
