"""`decaylm predict` on the model folders of a pipeline run gives back each job's test predictions."""

from __future__ import annotations

import pandas as pd

from decaylm.cli import main
from decaylm.models.artifact import MODEL_FILE


def test_predict_on_every_model_folder_reproduces_its_test_rows(tiny_run, tmp_path):
    split = pd.read_csv(tiny_run / "data" / "split.tsv", sep="\t")
    test = split[split["split"] == "test"]
    sequences = tmp_path / "test_reporters.tsv"
    test[["id", "sequence"]].to_csv(sequences, sep="\t", index=False, header=False)  # the reporter_seq.txt layout
    folders = sorted(p for p in (tiny_run / "models").iterdir() if (p / MODEL_FILE).exists())
    assert {p.name for p in folders} >= {"KMER_RIDGE", "CNN", "HYBRID", "BERT_BPE_MLM", "ENSEMBLE"}
    out = tmp_path / "scores.tsv"
    main(["predict", *map(str, folders), str(sequences), "-o", str(out)])
    scores = pd.read_csv(out, sep="\t").set_index("id")
    assert (scores["start"] == 1).all() and len(scores) == len(test)  # one window per reporter
    for folder in folders:
        job = pd.read_csv(folder / "predictions.tsv", sep="\t").set_index("id").loc[test["id"]]
        pd.testing.assert_series_equal(scores.loc[test["id"], folder.name], job["y_pred"], check_names=False,
                                       atol=1e-5, rtol=0)
