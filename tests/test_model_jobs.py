"""decaylm.models.jobs: one model job writes the predictions its saved model gives and a run record; a
model that cannot run here (hub weights offline) gets a row of NaN and the reason, not a failure.
(Every kind's job end to end: tests/test_model_contract.py.)"""

from __future__ import annotations

import json

import numpy as np

from decaylm.io import read_tsv, write_tsv
from decaylm.models import load_model
from decaylm.models.artifact import MODEL_FILE
from decaylm.models.jobs import run_model_job
from tests.helpers.models import motif_split


def test_the_predictions_are_the_saved_models_and_the_record_says_ok(tmp_path):
    split = motif_split(n=120)
    write_tsv(split, tmp_path / "split.tsv")
    out = tmp_path / "models" / "RIDGE"
    run_model_job("RIDGE", {"kind": "kmer_ridge", "k_max": 3, "cv_folds": 3}, tmp_path / "split.tsv",
                  out / "predictions.tsv", out / "run.json", seed=4)
    table = read_tsv(out / "predictions.tsv")
    assert table.columns.tolist() == ["id", "split", "y_true", "y_pred"]
    assert table["id"].tolist() == split["id"].tolist()
    np.testing.assert_allclose(table["y_pred"], load_model(out).predict(split["sequence"].tolist()), rtol=1e-6)
    run = json.loads((out / "run.json").read_text())
    assert run["status"] == "ok" and run["seed"] == 4 and run["settings"]["model"] == "RIDGE"


def test_a_model_unavailable_here_is_a_row_that_says_why(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty_cache"))
    split = motif_split(n=30)
    write_tsv(split, tmp_path / "split.tsv")
    out = tmp_path / "models" / "DNABERT2"
    run_model_job("DNABERT2", {"kind": "pretrained", "checkpoint": "zhihan1996/DNABERT-2-117M"},
                  tmp_path / "split.tsv", out / "predictions.tsv", out / "run.json", seed=0)
    run = json.loads((out / "run.json").read_text())
    assert run["status"] == "not_run" and "not available offline" in run["reason"]
    table = read_tsv(out / "predictions.tsv")
    assert len(table) == len(split) and table["y_pred"].isna().all()
    assert not (out / MODEL_FILE).exists()
