import json

import numpy as np
import pandas as pd
import pytest

from decaylm.errors import InputError
from decaylm.evaluate import model_metrics
from decaylm.models.ensemble import average_predictions


def _frame(pred, ids=("a", "b", "c")):
    return pd.DataFrame({"id": list(ids), "split": ["train", "valid", "test"], "y_true": [1.0, 2.0, 3.0],
                         "y_pred": pred})


def test_mean_of_members_has_lower_test_error_than_each():
    """Three members with independent errors: the ensemble predicts their mean, and its test MSE
    (scored as the comparison scores every model) is below every member's."""
    rng = np.random.default_rng(0)
    n = 300
    y = rng.normal(size=n)
    split = np.resize(["train", "valid", "test"], n)
    members = {name: pd.DataFrame({"id": [f"r{i}" for i in range(n)], "split": split, "y_true": y,
                                   "y_pred": y + rng.normal(scale=0.5, size=n)}) for name in ("A", "B", "C")}
    out = average_predictions(members)
    assert list(out.columns) == ["id", "split", "y_true", "y_pred"]
    np.testing.assert_allclose(out["y_pred"], np.mean([m["y_pred"] for m in members.values()], axis=0))
    mse = {name: model_metrics(name, frame, {"status": "ok"})["mse"] for name, frame in {**members, "E": out}.items()}
    assert mse["E"] < min(mse[name] for name in members), mse


def test_tiny_run_ensemble_is_the_mean_of_its_members(tiny_run):
    """In the tiny pipeline the ENSEMBLE row averages its configured members' predictions, and its test
    MSE is at most their mean MSE (the bound averaging guarantees; not below each: that depends on the members)."""
    settings = json.loads((tiny_run / "provenance.json").read_text())["settings"]
    ensembles = {name: spec["members"] for name, spec in settings["models"].items() if spec["kind"] == "ensemble"}
    assert ensembles, "the tiny config has no ensemble"
    for name, members in ensembles.items():
        read = lambda model: pd.read_csv(tiny_run / "models" / model / "predictions.tsv", sep="\t")
        ensemble, frames = read(name), [read(member) for member in members]
        for frame in frames:
            assert frame[["id", "split"]].equals(ensemble[["id", "split"]])
        np.testing.assert_allclose(ensemble["y_pred"], np.mean([f["y_pred"] for f in frames], axis=0),
                                   rtol=1e-5, atol=1e-5)  # written with 6 significant digits
        mse = lambda frame: model_metrics("M", frame, {"status": "ok"})["mse"]
        assert mse(ensemble) <= np.mean([mse(frame) for frame in frames]) + 1e-6


def test_members_must_cover_the_same_reporters():
    with pytest.raises(InputError, match="predicts other reporters"):
        average_predictions({"A": _frame([1.0, 2, 3]), "B": _frame([1.0, 2, 3], ids=("a", "b", "x"))})


def test_a_member_that_did_not_run_is_refused():
    with pytest.raises(InputError, match=r"\['B'\] did not run"):
        average_predictions({"A": _frame([1.0, 2, 3]), "B": _frame([np.nan] * 3)})
