import numpy as np
import pandas as pd
import pytest

from decaylm.errors import InputError
from decaylm.models.ensemble import average_predictions


def _frame(pred, ids=("a", "b", "c")):
    return pd.DataFrame({"id": list(ids), "split": ["train", "valid", "test"], "y_true": [1.0, 2.0, 3.0],
                         "y_pred": pred})


def test_mean_of_members_and_lower_error_than_each():
    rng = np.random.default_rng(0)
    truth = rng.normal(size=3)
    a, b = truth + np.array([0.5, -0.4, 0.3]), truth + np.array([-0.5, 0.4, -0.3])
    out = average_predictions({"A": _frame(a), "B": _frame(b)})
    np.testing.assert_allclose(out["y_pred"], truth)
    assert list(out.columns) == ["id", "split", "y_true", "y_pred"]


def test_members_must_cover_the_same_reporters():
    with pytest.raises(InputError, match="predicts other reporters"):
        average_predictions({"A": _frame([1.0, 2, 3]), "B": _frame([1.0, 2, 3], ids=("a", "b", "x"))})


def test_a_member_that_did_not_run_is_refused():
    with pytest.raises(InputError, match=r"\['B'\] did not run"):
        average_predictions({"A": _frame([1.0, 2, 3]), "B": _frame([np.nan] * 3)})
