"""decaylm.workflow: the config as the workflow prepares it at start-up, and the names of its jobs.
(Every way a config is refused: tests/test_bad_input.py.)"""

from __future__ import annotations

import pytest

from decaylm.errors import InputError
from decaylm.workflow import (name_regex, on_fold_of, prepare_config, trained_by, training_jobs_of_kind,
                              units_of_kind)
from tests.helpers.configs import SCHEMA, default_config, merged, minimal_config
from tests.helpers.data import SMALL_HOURS, small_utrseq


def prepared(*layers: dict) -> tuple[dict, set]:
    config = merged(default_config(), minimal_config(), *layers)
    return config, prepare_config(config, SCHEMA)


def test_null_entries_are_dropped_and_predict_follows():
    config, removed = prepared({"models": {"CNN_A": {"kind": "cnn"}}, "predict": {"models": ["CNN", "CNN_A"]}})
    assert set(config["models"]) == {"KMER_RIDGE", "CNN_A"} and "CNN" in removed and "KMER_RIDGE" not in removed
    assert config["tokenizers"] == {} and config["pretraining"] == {}
    assert config["predict"]["models"] == ["CNN_A"]  # a removed model is not scored
    assert config["split"]["seed"] == default_config()["split"]["seed"]  # the schema's and config.yaml's defaults
    with pytest.raises(InputError, match=r"^predict\.models"):  # a name never configured is still an error
        prepared({"predict": {"models": ["NEVER_CONFIGURED"]}})


def test_one_library_is_folded_into_data(tmp_path):
    files = {name: str(small_utrseq(tmp_path) / f"reporter_{name}.txt") for name in ("counts", "seq")}
    config, _ = prepared({"data": {"source": "utrseq", "hours": SMALL_HOURS, "filter_hours": [2],
                                   "libraries": {"A": {"counts": files["counts"], "sequences": files["seq"]}}},
                          "target": {"from_hour": 2, "to_hour": 8}}, {"results": str(tmp_path / "results")})
    assert "libraries" not in config["data"] and config["data"]["counts"] == files["counts"]


def test_job_names_under_folds_and_repeats():
    config = {"split": {"folds": 3}, "repeats": 2,
              "models": {"R": {"kind": "kmer_ridge"}, "C": {"kind": "cnn"}, "B": {"kind": "bert", "repeats": 1}}}
    assert units_of_kind(config, "kmer_ridge") == ["R/fold1", "R/fold2", "R/fold3"]
    assert training_jobs_of_kind(config, "cnn")[:3] == ["C/fold1/repeat1", "C/fold1/repeat2", "C/fold2/repeat1"]
    assert training_jobs_of_kind(config, "bert") == ["B/fold1", "B/fold2", "B/fold3"]
    assert on_fold_of("nt", "C/fold2/repeat1") == "nt/fold2" and on_fold_of("nt", "C") == "nt"
    unfolded = {"split": {}, "repeats": 2, "models": config["models"]}
    assert trained_by(unfolded, "train_cnn") == "C/repeat1|C/repeat2"
    assert trained_by(unfolded, "finetune_pretrained") == "(?!)"  # matches no job
    assert name_regex(["b", "a/fold1"]) == "a/fold1|b"
