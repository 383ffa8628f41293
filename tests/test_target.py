import numpy as np
import pandas as pd
import pytest

from decaylm.errors import InputError
from decaylm.target import compute_target


@pytest.fixture
def expression():
    return pd.DataFrame({"id": ["a", "b"], "sequence": ["AC", "GT"], "1h": [5.0, 2.0], "2h": [4.0, 2.5],
                         "6h": [1.0, 3.0]})


def test_difference(expression):
    assert list(compute_target(expression, "difference", 1, 6)["y"]) == [-4.0, 1.0]


def test_original_projects_half_difference(expression):
    assert list(compute_target(expression, "difference", 1, 6, divisor=2)["y"]) == [-2.0, 0.5]


def test_slope_is_least_squares_over_hours_between(expression):
    slopes = compute_target(expression, "slope", 1, 6)["y"].to_numpy()
    expected = [np.polyfit([1, 2, 6], expression.loc[i, ["1h", "2h", "6h"]].astype(float), 1)[0] for i in range(2)]
    np.testing.assert_allclose(slopes, expected)


@pytest.mark.parametrize("from_hour, to_hour, key", [(3, 6, "target.from_hour"), (1, 9, "target.to_hour"),
                                                      (6, 1, "target.to_hour")])
def test_bad_hours_name_the_key(expression, from_hour, to_hour, key):
    with pytest.raises(InputError, match=key):
        compute_target(expression, "difference", from_hour, to_hour)
