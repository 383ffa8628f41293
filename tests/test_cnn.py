"""CNN baseline: learns a planted motif and saves a model folder that load_model reads back to the same
predictions; with auxiliary hours, trains extra outputs and reports the target."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

from decaylm.models.batching import collate_one_hot, one_hot_items
from decaylm.errors import InputError
from decaylm.models.registry import parse_model_spec
from decaylm.models import cnn
from tests.helpers.models import motif_split, r2, train_and_load

pytestmark = pytest.mark.usefixtures("one_thread")
SPEC = {"kind": "cnn", "channels": 32, "kernel_sizes": [5, 3], "epochs": 12, "patience": 12, "lr": 3e-3,
        "batch_size": 32, "dropout": 0.0}


def test_cnn_learns_a_planted_motif(tmp_path):
    split = motif_split()
    loaded, pred = train_and_load(cnn, split, parse_model_spec("CNN", SPEC, 0), tmp_path)
    assert pred.shape == (len(split),) and r2(split, pred) > 0.6, r2(split, pred)
    assert (tmp_path / cnn.WEIGHTS).exists()
    record = json.loads((tmp_path / "model.json").read_text())
    assert record["kind"] == "cnn" and record["files"] == {"weights": cnn.WEIGHTS} and record["input_length"] == 40
    assert record["spec"]["architecture"]["kernel_sizes"] == [5, 3] and record["spec"]["training"]["epochs"] == 12
    assert [m.kernel_size[0] for m in loaded.module.body if isinstance(m, torch.nn.Conv1d)] == [5, 3]


def test_auxiliary_hours_add_outputs_and_keep_the_target_first(tmp_path):
    split = motif_split()
    rng = np.random.default_rng(1)
    expression = pd.DataFrame({"id": split["id"], "sequence": split["sequence"],
                               "3h": 2 * split["y"] + rng.normal(0, 0.3, len(split))})
    expression.to_csv(tmp_path / "expression.tsv", sep="\t", index=False)
    spec = parse_model_spec("CNN", {**SPEC, "aux_hours": [3]}, 0)
    loaded, pred = train_and_load(cnn, split, spec, tmp_path / "run", expression_path=tmp_path / "expression.tsv")
    assert r2(split, pred) > 0.6, r2(split, pred)
    assert loaded.module.head[-1].out_features == 2
    # the head's raw outputs: column 0 is what predict reports, column 1 learned the auxiliary hour
    captured = []
    handle = loaded.module.head.register_forward_hook(lambda module, args, out: captured.append(out.detach()))
    with torch.no_grad():
        prediction, loss = loaded.module.eval()(**collate_one_hot(one_hot_items(split["sequence"])))
    handle.remove()
    out = captured[0].numpy()
    assert loss is None and out.shape == (len(split), 2)
    np.testing.assert_allclose(out[:, 0], pred, rtol=0, atol=1e-5)
    np.testing.assert_array_equal(prediction.numpy(), out[:, 0])
    test = split["split"].to_numpy() == "test"
    assert np.corrcoef(out[test, 1], expression["3h"][test])[0, 1] > 0.8
    with pytest.raises(InputError, match=r"models\.CNN\.aux_hours.*\[9\]"):
        cnn.train(split, parse_model_spec("CNN", {**SPEC, "aux_hours": [9]}, 0), tmp_path / "bad",
                  expression_path=tmp_path / "expression.tsv")
    assert not (tmp_path / "bad" / "model.json").exists()
