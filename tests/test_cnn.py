"""CNN baseline: learns a planted motif; with auxiliary hours, trains extra outputs and reports the target."""

import numpy as np
import pandas as pd
import pytest
import torch

from decaylm.errors import InputError
from decaylm.models import cnn
from tests.test_bert import motif_split, r2

pytestmark = pytest.mark.usefixtures("one_thread")
SPEC = {"kind": "cnn", "channels": 32, "kernel_sizes": [5, 3], "epochs": 12, "patience": 12, "lr": 3e-3,
        "batch_size": 32, "dropout": 0.0}


def test_cnn_learns_a_planted_motif(tmp_path):
    split = motif_split()
    pred = cnn.train_and_predict(split, SPEC, tmp_path, 0)
    assert pred.shape == (len(split),) and r2(split, pred) > 0.6, r2(split, pred)
    assert (tmp_path / "model.pt").exists()


def test_auxiliary_hours_add_outputs_and_keep_the_target_first(tmp_path):
    split = motif_split()
    rng = np.random.default_rng(1)
    expression = pd.DataFrame({"id": split["id"], "sequence": split["sequence"],
                               "3h": 2 * split["y"] + rng.normal(0, 0.3, len(split))})
    expression.to_csv(tmp_path / "expression.tsv", sep="\t", index=False)
    spec = {**SPEC, "aux_hours": [3]}
    pred = cnn.train_and_predict(split, spec, tmp_path / "run", 0, expression_path=tmp_path / "expression.tsv")
    assert r2(split, pred) > 0.6, r2(split, pred)
    arch, _ = cnn.split_spec(spec, "CNN")
    model = cnn.CNN(arch)
    model.load_state_dict(torch.load(tmp_path / "run" / "model.pt"))
    assert model.head[-1].out_features == 2
    with pytest.raises(InputError, match=r"models\.CNN\.aux_hours.*\[9\]"):
        cnn.train_and_predict(split, {**SPEC, "aux_hours": [9]}, tmp_path / "bad", 0,
                              expression_path=tmp_path / "expression.tsv")
