"""decaylm.metrics: R2 and its companions on held-out predictions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from decaylm.metrics import part_r2, r2_score, regression_metrics


def test_metrics_of_known_predictions():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    perfect = regression_metrics(y, y)
    assert perfect["r2"] == 1 and perfect["mse"] == 0 and perfect["pearson"] == pytest.approx(1)
    shifted = regression_metrics(y, y + 1)  # off by one everywhere: ranks and correlation intact
    assert shifted["mse"] == 1 and shifted["mae"] == 1 and shifted["rmse"] == 1
    assert shifted["r2"] == pytest.approx(1 - 4 / 5) and shifted["spearman"] == pytest.approx(1)
    assert r2_score(y, np.full(4, y.mean())) == 0 and shifted["n_test"] == 4


def test_part_r2_scores_one_part_only():
    frame = pd.DataFrame({"split": ["test"] * 3 + ["valid"] * 3, "y_true": [1.0, 2.0, 3.0] * 2,
                          "y_pred": [1.0, 2.0, 3.0, 3.0, 2.0, 1.0]})
    assert part_r2(frame, "test") == 1 and part_r2(frame, "valid") == pytest.approx(-3)
