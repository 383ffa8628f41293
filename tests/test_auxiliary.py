"""Auxiliary targets: the time course at other hours, standardized on the training rows only, given to
the models after the target (column 0), trained on and never judged on."""

import numpy as np
import pandas as pd
import pytest
import torch

from decaylm.models.auxiliary import auxiliary_targets, load_auxiliary_targets, part_rows
from decaylm.models.batching import collate_one_hot, one_hot_items, targets
from decaylm.errors import InputError
from decaylm.models.training import regression_loss


def tables(n=50, seed=0):
    rng = np.random.default_rng(seed)
    expression = pd.DataFrame({"id": [f"r{i}" for i in range(n)], "sequence": ["ACGT"] * n,
                               "2h": rng.normal(5, 2, n), "8h": rng.normal(1, 3, n)})
    split = pd.DataFrame({"id": expression["id"][::-1].to_numpy(), "y": 0.0,  # another order than the table's
                          "split": np.where(np.arange(n) < 30, "train", np.where(np.arange(n) < 40, "valid", "test"))})
    return expression, split


def test_rows_follow_the_split_and_are_standardized_on_train_only():
    expression, split = tables()
    aux = auxiliary_targets(expression, split, [2, 8.0], "models.M.aux_hours")
    assert aux.shape == (50, 2)
    train = split["split"].to_numpy() == "train"
    np.testing.assert_allclose(aux[train].mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(aux[train].std(0), 1)
    raw = expression.set_index("id").loc[split["id"], ["2h", "8h"]].to_numpy()
    expected = (raw - raw[train].mean(0)) / raw[train].std(0)  # valid and test rows use train's statistics
    np.testing.assert_allclose(aux, expected)


def test_unknown_hour_and_missing_reporter_are_refused_in_one_line():
    expression, split = tables()
    with pytest.raises(InputError, match=r"models\.M\.aux_hours.*\[5\].*'2', '8'"):
        auxiliary_targets(expression, split, [2, 5], "models.M.aux_hours")
    with pytest.raises(InputError, match="reporter 'r49' of the split has no expression row"):
        auxiliary_targets(expression.iloc[:-1], split, [2], "models.M.aux_hours")


def test_no_hours_need_no_table_and_hours_without_a_table_are_refused(tmp_path):
    expression, split = tables()
    assert load_auxiliary_targets(None, split, [], "k") is None
    with pytest.raises(InputError, match="need the expression table"):
        load_auxiliary_targets(None, split, [2], "models.M.aux_hours")
    expression.to_csv(tmp_path / "expression.tsv", sep="\t", index=False)
    assert load_auxiliary_targets(tmp_path / "expression.tsv", split, [8], "k").shape == (50, 1)


def test_targets_put_the_target_first_and_each_part_gets_its_own_rows():
    expression, split = tables()
    split["y"] = np.arange(50, dtype=float)
    aux = auxiliary_targets(expression, split, [2, 8], "models.M.aux_hours")
    valid = split[split["split"] == "valid"].reset_index(drop=True)
    y = targets(valid, part_rows(aux, split, "valid"))
    assert y.shape == (10, 3) and y.dtype == np.float32
    np.testing.assert_array_equal(y[:, 0], valid["y"])
    np.testing.assert_allclose(y[:, 1:], aux[30:40], rtol=1e-6)
    assert targets(valid).shape == (10,) and part_rows(None, split, "valid") is None
    batch = collate_one_hot(one_hot_items(["ACGT"] * 10, y))
    assert torch.equal(batch["y"], torch.from_numpy(y))  # the rows reach the model's forward as they are


def test_training_adds_the_auxiliary_loss_and_validation_judges_the_target_alone():
    out = torch.tensor([[1.0, 0.0, 0.0], [3.0, 2.0, 2.0]])
    y = torch.tensor([[2.0, 1.0, 1.0], [3.0, 0.0, 0.0]])
    prediction, train_loss = regression_loss(out, y, 0.5, training=True)
    same, valid_loss = regression_loss(out, y, 0.5, training=False)
    assert torch.equal(prediction, torch.tensor([1.0, 3.0])) and torch.equal(same, prediction)  # column 0
    assert float(valid_loss) == pytest.approx(0.5)  # target MSE (1 + 0) / 2
    assert float(train_loss) == pytest.approx(0.5 + 0.5 * 2.5)  # + aux_weight * aux MSE (1 + 1 + 4 + 4) / 4
    prediction, loss = regression_loss(out, None, 0.5, training=True)
    assert loss is None and torch.equal(prediction, torch.tensor([1.0, 3.0]))
