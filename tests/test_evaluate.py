import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import rankdata

from decaylm.evaluate import (COMPARISON_COLUMNS, comparison_markdown, comparison_table, model_metrics,
                              regression_metrics, repeat_metrics)


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


def test_r2_truth_follows_the_configured_target():
    """truth.tsv's y_true is the noise-free difference over the target's hours: r2_truth scores it divided by
    target.divisor for kind difference, and is blank, with the reason, for slope and kinetic targets."""
    rng = np.random.default_rng(1)
    noise_free = rng.normal(size=100)
    truth = pd.DataFrame({"id": [f"r{i}" for i in range(100)], "y_true": noise_free})
    halved = pd.concat([_predictions(noise_free / 2 + rng.normal(scale=0.1, size=100), noise_free / 2),  # perfect
                        _predictions([0.0, 1, 2], [0.0, 1, 2], "valid")])
    difference = {"kind": "difference", "from_hour": 2, "to_hour": 8, "divisor": 2}
    assert model_metrics("M", halved, {"status": "ok"}, truth, difference)["r2_truth"] == pytest.approx(1.0)
    assert model_metrics("M", halved, {"status": "ok"}, truth, {**difference, "divisor": 1})["r2_truth"] < 0.8  # 0.75
    rows = []
    for kind in ("slope", "kinetic"):
        metrics = model_metrics("M", halved, {"status": "ok"}, truth, {**difference, "kind": kind, "divisor": 1})
        assert math.isnan(metrics["r2_truth"]) and f"target.kind is {kind}" in metrics["r2_truth_reason"]
        rows.append(metrics)
    repeated = repeat_metrics("M", [halved, halved], {"status": "ok"}, truth, {**difference, "kind": "kinetic"})
    assert math.isnan(repeated["r2_truth"]) and repeated["r2_truth_reason"] == rows[1]["r2_truth_reason"]
    markdown = comparison_markdown(comparison_table(rows[:1]))
    assert "r2_truth is blank: the simulator's truth.tsv holds the noise-free difference" in markdown
