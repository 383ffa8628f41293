"""Grouped K-fold cross-validation (decaylm/folds.py): folds share no 30-mer, nothing trained for
fold k sees fold k, and the pooled out-of-fold predictions cover every reporter once."""

import copy
import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import r2_score

from decaylm.config import check_config
from decaylm.errors import InputError
from decaylm.folds import deal_folds, fold_splits
from decaylm.io import read_tsv
from decaylm.split import count_test_leaks, overlap_groups
from tests.helpers.paths import REAL_DATA


def test_folds_share_no_30mer_between_train_and_test():
    """On real reporters (the library tiles 3'UTRs, so neighbours overlap): no fold's test reporter
    shares 30 nt with a training reporter of that fold, and every reporter is tested once."""
    path = REAL_DATA / "reporter_seq.txt"
    if not path.exists():
        pytest.skip(f"real UTR-seq data not found at {REAL_DATA}")
    frame = pd.read_csv(path, sep="\t", header=None, names=["id", "sequence"]).head(3000)
    frame["group"] = overlap_groups(frame["sequence"].tolist(), 30)
    assert frame["group"].nunique() < len(frame)  # there are overlaps to keep together
    tables = fold_splits(frame, 5, {"train": 0.8, "valid": 0.1, "test": 0.1}, seed=1)
    tested = pd.concat([t.loc[t["split"] == "test", "id"] for t in tables.values()])
    assert sorted(tested) == sorted(frame["id"])
    for fold, table in tables.items():
        assert count_test_leaks(table, 30) == 0, fold
        valid = table.loc[table["split"] == "valid", "sequence"].tolist()
        assert count_test_leaks(table.assign(split=table["split"].replace({"valid": "test", "test": "x"})), 30) == 0
        assert 0.08 < len(valid) / len(table) < 0.12  # the valid share of the rest: 0.1 / 0.9 of 80%
    sizes = pd.Series(deal_folds(frame["group"], 5, seed=1)).value_counts()
    assert sizes.max() - sizes.min() <= frame.groupby("group").size().max()  # folds as even as whole groups allow


def test_folds_and_repeats_do_not_combine(config):
    bad = copy.deepcopy(config)
    bad["split"]["folds"] = 3
    bad["repeats"] = 2
    with pytest.raises(InputError, match="repeats and split.folds"):
        check_config(bad)


def test_folds_run(folds_run):
    split = read_tsv(folds_run / "data" / "split.tsv")
    folds = {k: read_tsv(folds_run / "data" / "folds" / f"fold{k}" / "split.tsv") for k in (1, 2, 3)}
    table = read_tsv(folds_run / "comparison.tsv").set_index("model")
    for model in ("RIDGE", "CNN", "BPE"):
        pooled = read_tsv(folds_run / "models" / model / "predictions.tsv")
        # every reporter exactly once, predicted by the model of the fold that held it out
        assert sorted(pooled["id"]) == sorted(split["id"]) and not pooled["id"].duplicated().any()
        for k, fold_split in folds.items():
            own = read_tsv(folds_run / "models" / model / f"fold{k}" / "predictions.tsv")
            test_ids = set(fold_split.loc[fold_split["split"] == "test", "id"])
            assert set(own.loc[own["split"] == "test", "id"]) == test_ids
            assert set(pooled.loc[pooled["fold"] == f"fold{k}", "id"]) == test_ids
            merged = pooled.merge(own[own["split"] == "test"], on="id", suffixes=("", "_own"))
            np.testing.assert_allclose(merged["y_pred"], merged["y_pred_own"])
        # the table scores the pooled predictions: n = every reporter
        assert table.loc[model, "n_test"] == len(split)
        assert table.loc[model, "r2"] == pytest.approx(r2_score(pooled["y_true"], pooled["y_pred"]), abs=1e-4)
        per_fold = read_tsv(folds_run / "models" / model / "folds.tsv")
        assert table.loc[model, "r2_fold_sd"] == pytest.approx(per_fold["r2"].std(ddof=1), abs=1e-4)
        assert table.loc[model, "valid_r2"] == pytest.approx(per_fold["valid_r2"].mean(), abs=1e-4)
    # nothing trained for fold k saw fold k: each fold's tokenizer and models read that fold's split
    vocabularies = [json.loads((folds_run / "tokenizers" / "bpe" / f"fold{k}" / "tokenizer.json").read_text())
                    for k in (1, 2, 3)]
    assert vocabularies[0] != vocabularies[1]  # trained on different training reporters
    for k, fold_split in folds.items():
        n_train = int((fold_split["split"] == "train").sum())
        log = (folds_run / "logs" / "train_tokenizer" / "bpe" / f"fold{k}.log").read_text()
        assert f"on {n_train} sequences" in log  # fold k's training reporters, not all of them
        run = json.loads((folds_run / "models" / "BPE" / f"fold{k}" / "run.json").read_text())
        assert run["settings"]["tokenizer_dir"].endswith(f"tokenizers/bpe/fold{k}")  # its own fold's vocabulary
    ceiling = json.loads((folds_run / "noise_ceiling.json").read_text())
    assert ceiling["n_test"] == len(split)  # the ceiling of the pooled reporters: all of them
    from decaylm.models import load_model

    sequences = split["sequence"].head(10).tolist()
    members = [load_model(folds_run / "models" / "CNN" / f"fold{k}").predict(sequences) for k in (1, 2, 3)]
    np.testing.assert_allclose(load_model(folds_run / "models" / "CNN").predict(sequences), np.mean(members, axis=0),
                               rtol=1e-5)
