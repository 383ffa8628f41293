"""KMER_RIDGE (decaylm/models/kmer_ridge.py): learns a planted k-mer, saves a model folder whose weight
tables give the fitted pipeline's predictions, and refuses more CV folds than overlap groups."""

from __future__ import annotations

import json

import numpy as np
import pytest

from decaylm.errors import InputError
from decaylm.models import kmer_ridge, load_model
from decaylm.models.registry import parse_model_spec
from tests.helpers.models import motif_split, r2


def spec(**settings):
    return parse_model_spec("KMER_RIDGE", {"kind": "kmer_ridge", "k_max": 5, "cv_folds": 3, **settings}, 0)


def test_learns_a_planted_kmer_and_reloads_to_the_pipelines_predictions(tmp_path):
    split = motif_split(n=300)
    kmer_ridge.train(split, spec(), tmp_path)
    model = load_model(tmp_path)
    pred = model.predict(split["sequence"].tolist())
    assert r2(split, pred) > 0.8, r2(split, pred)
    record = json.loads((tmp_path / "model.json").read_text())
    assert record["kind"] == "kmer_ridge" and record["files"] == {"weights": kmer_ridge.WEIGHTS}
    assert record["input_length"] == 40 and record["alpha"] > 0
    # the weight tables are the pipeline: the same numbers for other lengths and unseen letters too
    others = ["GGGCC" * 3, "ACGTNNACGT", "A", "GGGCCRGGGCC"]
    np.testing.assert_allclose(model.predict(others), model.pipeline.predict(others), rtol=1e-5, atol=1e-5)
    assert model.predict(["AAGGGCCAA"])[0] > model.predict(["AAGGACCAA"])[0]  # the motif raises y


def test_more_folds_than_overlap_groups_is_one_line(tmp_path):
    split = motif_split(n=60).assign(group=lambda frame: frame.index % 2)
    with pytest.raises(InputError, match=r"^models\.KMER_RIDGE\.cv_folds: 3 folds but only 2 overlap groups"):
        kmer_ridge.train(split, spec(), tmp_path)
    assert not (tmp_path / "model.json").exists()
