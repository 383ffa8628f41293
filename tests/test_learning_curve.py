"""The learning curve (decaylm/learning_curve.py, rules/learning_curve.smk): nested subsets of whole
training overlap groups with valid and test untouched, models that ignore the unused reporters, the
config's checks, and a small pipeline run that scores every (row, fraction) on test."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from decaylm.io import read_tsv, write_tsv
from decaylm.learning_curve import UNUSED, training_subset
from decaylm.metrics import r2_score
from decaylm.split import split_table
from tests.helpers.configs import ConfigRefused, libraries_config, one_model_config, workflow_config
from tests.helpers.data import write_libraries

FRACTIONS = (0.1, 0.25, 0.5, 1.0)


def tiled_split(seed: int = 0) -> pd.DataFrame:
    """A library that tiles 3'UTRs as the real one does: 80-nt windows every 20 nt along 150 random
    'UTRs' of 80-180 nt (1 to 6 windows each, sharing 60 nt with their neighbours), split by the
    workflow's overlap split, so each UTR's windows form one overlap group."""
    rng = np.random.default_rng(seed)
    sequences, y = [], []
    for _ in range(150):
        utr = "".join(rng.choice(list("ACGT"), size=int(rng.choice([80, 100, 120, 140, 160, 180]))))
        for start in range(0, len(utr) - 80 + 1, 20):
            window = utr[start:start + 80]
            sequences.append(window)
            y.append(window.count("TAT") - 0.5 * window.count("GC") + rng.normal(0, 0.2))
    target = pd.DataFrame({"id": [f"r{i}" for i in range(len(sequences))], "sequence": sequences, "y": y})
    return split_table(target, "overlap", {"train": 0.7, "valid": 0.15, "test": 0.15}, seed=seed, min_overlap=30)


def training_ids(split: pd.DataFrame) -> set:
    return set(split.loc[split["split"] == "train", "id"])


@pytest.mark.parametrize("seed", [0, 1])
def test_subsets_are_nested_whole_groups_near_the_fraction(seed):
    split = tiled_split()
    assert split["group"].value_counts().max() > 3  # whole UTRs of several windows to keep together
    train = split["split"] == "train"
    n_train, largest = int(train.sum()), int(split.loc[train, "group"].value_counts().max())
    subsets = {f: training_subset(split, f, seed) for f in FRACTIONS}
    previous: set = set()
    for fraction, subset in subsets.items():
        kept = training_ids(subset)
        assert previous <= kept  # nested: the smaller subset lies inside the larger
        previous = kept
        # the first groups of the seeded order reaching the fraction: at most one group over it
        assert fraction * n_train <= len(kept) < fraction * n_train + largest
        # valid and test untouched; a training reporter is kept or unused, never moved to another part
        held_out = ~train
        pd.testing.assert_frame_equal(subset[held_out], split[held_out])
        assert set(subset.loc[train, "split"]) <= {"train", UNUSED}
        # group-aware: a training group is wholly kept or wholly unused
        parts_per_group = subset[train].groupby("group")["split"].nunique()
        assert (parts_per_group == 1).all()
    pd.testing.assert_frame_equal(subsets[1.0], split)  # fraction 1 is the split itself
    other_seed = training_ids(training_subset(split, 0.25, seed + 10))
    assert other_seed != training_ids(subsets[0.25])  # the seed chooses the groups


def test_models_ignore_unused_reporters(tmp_path):
    """A model trained on a subset's split is the model trained on a split without the unused rows:
    the unused reporters are not read (predictions.tsv still covers them, as split "unused")."""
    from decaylm.models.jobs import run_model_job

    subset = training_subset(tiled_split(), 0.25, seed=0)
    spec = {"kind": "kmer_ridge", "k_max": 3, "cv_folds": 3}
    predictions = {}
    for name, frame in (("subset", subset), ("dropped", subset[subset["split"] != UNUSED])):
        write_tsv(frame, tmp_path / name / "split.tsv")
        run_model_job("R", spec, tmp_path / name / "split.tsv", tmp_path / name / "predictions.tsv",
                      tmp_path / name / "run.json", seed=0)
        predictions[name] = read_tsv(tmp_path / name / "predictions.tsv")
    assert (predictions["subset"]["split"] == UNUSED).sum() == (subset["split"] == UNUSED).sum() > 0
    merged = predictions["dropped"].merge(predictions["subset"], on="id", suffixes=("", "_subset"))
    assert len(merged) == len(predictions["dropped"])
    np.testing.assert_allclose(merged["y_pred"], merged["y_pred_subset"], rtol=0, atol=1e-9)


def test_config_of_the_curve(tmp_path):
    two = one_model_config({"RIDGE": {"kind": "kmer_ridge"}, "CNN": {"kind": "cnn"},
                            "BOTH": {"kind": "ensemble", "members": ["RIDGE", "CNN"]}})
    # models [] is every row that trains (not the ensemble)
    assert workflow_config(two, {"learning_curve": {"fractions": [0.5]}})["learning_curve"]["models"] == ["CNN", "RIDGE"]
    # off unless fractions are given: no rows
    assert workflow_config(two)["learning_curve"] == {"fractions": [], "models": [], "seed": 0}
    # a row removed with NAME: null drops out, as from predict.models
    config = workflow_config(two, {"models": {"CNN": None, "BOTH": None}, "learning_curve": {"fractions": [0.5], "models": ["CNN", "RIDGE"]}})
    assert config["learning_curve"]["models"] == ["RIDGE"]
    refused = {
        "learning_curve.models: 'NOPE' is not a configured model": {"models": ["NOPE"]},
        "learning_curve.models: 'BOTH' (kind ensemble) averages other rows": {"models": ["BOTH"]},
        "learning_curve.fractions.0: 0 is out of range": {"fractions": [0]},
        "learning_curve.fractions.1: 1.5 is out of range": {"fractions": [0.5, 1.5]},
    }
    for message, curve in refused.items():
        with pytest.raises(ConfigRefused, match="^config error: " + re.escape(message)):
            workflow_config(two, {"learning_curve": {"fractions": [0.5], **curve}})
    with pytest.raises(ConfigRefused, match=r"^config error: learning_curve: does not combine with split.folds \("):
        workflow_config(two, {"split": {"folds": 3}, "learning_curve": {"fractions": [0.5]}})
    libraries = libraries_config(write_libraries(tmp_path / "data"))
    with pytest.raises(ConfigRefused, match=r"^config error: learning_curve: does not combine with data.libraries \("):
        workflow_config(libraries, {"results": str(tmp_path / "results"), "learning_curve": {"fractions": [0.5]}})


def test_learning_curve_run(learning_curve_run):
    """Simulated data through the pipeline up to learning_curve.tsv: a k-mer ridge and a tiny CNN at
    0.25, 0.5 and 1 (the rows themselves), scored on the test reporters of split.tsv."""
    results = learning_curve_run
    table = read_tsv(results / "learning_curve.tsv")
    split = read_tsv(results / "data" / "split.tsv")
    n_train = int((split["split"] == "train").sum())
    assert sorted(zip(table["model"], table["fraction"])) == [(m, f) for m in ("CNN", "KMER_RIDGE") for f in (0.25, 0.5, 1.0)]
    assert (table["status"] == "ok").all()
    test_ids = set(split.loc[split["split"] == "test", "id"])
    for model, rows in table.groupby("model"):
        rows = rows.set_index("fraction")
        assert rows["n_train"].is_monotonic_increasing and rows.loc[1.0, "n_train"] == n_train
        assert rows.loc[0.25, "n_train"] >= 0.25 * n_train
        assert (rows["r2_ci_low"] <= rows["test_r2"]).all() and (rows["test_r2"] <= rows["r2_ci_high"]).all()
        assert rows.loc[1.0, "d_r2_full"] == 0
        for fraction, job in ((0.25, f"{model}/frac0.25"), (0.5, f"{model}/frac0.5"), (1.0, model)):
            predictions = read_tsv(results / "models" / job / "predictions.tsv")
            test = predictions[predictions["split"] == "test"]
            assert set(test["id"]) == test_ids  # every point on the same test reporters
            assert rows.loc[fraction, "test_r2"] == pytest.approx(r2_score(test["y_true"], test["y_pred"]), abs=1e-5)
            assert (predictions["split"] == "train").sum() == rows.loc[fraction, "n_train"]
            assert rows.loc[fraction, "d_r2_full"] == pytest.approx(rows.loc[fraction, "test_r2"] - rows.loc[1.0, "test_r2"],
                                                                    abs=1e-5)
    # the subsets are nested, and their logs count each part
    subsets = [read_tsv(results / "data" / "learning_curve" / f"split_{f}.tsv") for f in ("0.25", "0.5")]
    assert training_ids(subsets[0]) < training_ids(subsets[1]) < training_ids(split)
    assert "'unused'" in (results / "logs" / "learning_curve" / "split_0.25.log").read_text()
    assert set(table["rank"]) == {1, 2}
    assert (results / "figures" / "learning_curve.png").stat().st_size > 10_000
