import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import rankdata

from decaylm.evaluate import COMPARISON_COLUMNS, comparison_markdown, comparison_table, model_metrics, regression_metrics


def _predictions(y_true, y_pred, split="test"):
    return pd.DataFrame({"id": [f"r{i}" for i in range(len(y_true))], "split": split, "y_true": y_true, "y_pred": y_pred})


def test_metrics_match_their_definitions():
    rng = np.random.default_rng(0)
    y = rng.normal(size=200)
    p = y + rng.normal(scale=0.5, size=200)
    m = regression_metrics(y, p)
    assert m["mse"] == pytest.approx(np.mean((y - p) ** 2))
    assert m["mae"] == pytest.approx(np.mean(np.abs(y - p)))
    assert m["rmse"] == pytest.approx(math.sqrt(m["mse"]))
    assert m["r2"] == pytest.approx(1 - np.sum((y - p) ** 2) / np.sum((y - y.mean()) ** 2))
    assert m["pearson"] == pytest.approx(np.corrcoef(y, p)[0, 1])
    assert m["spearman"] == pytest.approx(np.corrcoef(rankdata(y), rankdata(p))[0, 1])  # Pearson of the ranks
    assert m["n_test"] == 200


def test_only_the_test_split_is_scored():
    frame = pd.concat([_predictions([0.0, 1, 2, 3], [0.0, 1, 2, 3], "train"),
                       _predictions([0.0, 1, 2, 3], [3.0, 2, 1, 0], "test"),
                       _predictions([0.0, 1, 2], [0.0, 1, 2.5], "valid")])
    metrics = model_metrics("M", frame, {"status": "ok"})
    assert metrics["r2"] == pytest.approx(-3.0) and metrics["n_test"] == 4


def test_comparison_sorts_best_first_and_lists_not_run_last():
    rows = [{"model": "A", **regression_metrics([0, 1, 2, 3], [0, 1, 2, 2]), "status": "ok"},
            {"model": "B", **regression_metrics([0, 1, 2, 3], [0, 1, 2, 3.01]), "status": "ok"},
            model_metrics("DNABERT2", pd.DataFrame(), {"status": "not_run", "reason": "weights offline"})]
    table = comparison_table(rows)
    assert list(table["model"]) == ["B", "A", "DNABERT2"]
    assert list(table.columns[: len(COMPARISON_COLUMNS)]) == COMPARISON_COLUMNS
    assert table.loc[2, "status"] == "not run: weights offline" and math.isnan(table.loc[2, "r2"])
    markdown = comparison_markdown(table)
    assert markdown.splitlines()[0].startswith("| model | mse |") and "not run: weights offline" in markdown
