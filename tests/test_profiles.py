"""The predict stage's profile figure, drawn from hand-made window tables."""

import pandas as pd
import pytest

from decaylm.profiles import plot_profiles, windows_long


def _windows(n_sequences=3, length=400, window=110, stride=10):
    rows = []
    for i in range(n_sequences):
        for start in range(1, length - window + 2, stride):
            dip = -1.0 if start <= 200 <= start + window - 1 else 0.0  # an element at 200
            rows.append((f"S{i}", start, start + window - 1, -0.4 + dip, -0.5 + dip, 0.1))
    return pd.DataFrame(rows, columns=["id", "start", "end", "CNN", "ENSEMBLE", "ENSEMBLE_sd"])


def test_wide_and_long_tables_give_the_same_long_layout():
    wide = _windows(1)
    long = windows_long(wide)
    assert list(long.columns) == ["id", "model", "start", "end", "prediction", "sd"]
    assert list(dict.fromkeys(long["model"])) == ["CNN", "ENSEMBLE"]  # ENSEMBLE_sd is its spread, not a model
    assert long.loc[long["model"] == "CNN", "sd"].isna().all()
    assert (long.loc[long["model"] == "ENSEMBLE", "sd"] == 0.1).all()
    pd.testing.assert_frame_equal(windows_long(long), long)
    with pytest.raises(ValueError, match="no model column"):
        windows_long(wide[["id", "start", "end"]])


def test_profiles_figure_draws_the_first_sequences_and_marks_elements(tmp_path):
    windows = _windows(15)
    elements = pd.DataFrame({"id": ["S0", "S1"], "kind": ["mir430", "are"], "start": [197, 197], "end": [204, 203]})
    shown = plot_profiles(windows, tmp_path / "profiles.png", elements=elements, lengths={f"S{i}": 400 for i in range(15)})
    assert shown == [f"S{i}" for i in range(12)]  # up to 12 panels, in input order
    assert (tmp_path / "profiles.png").read_bytes()[:4] == b"\x89PNG"
    plot_profiles(windows, tmp_path / "bare.png")
    assert (tmp_path / "bare.png").read_bytes() != (tmp_path / "profiles.png").read_bytes()
    # one sequence, one model, no elements
    one = windows.loc[windows["id"] == "S0", ["id", "start", "end", "CNN"]]
    assert plot_profiles(one, tmp_path / "one.png") == ["S0"]
    # a sequence of one window (shorter than the training length) is drawn too
    short = pd.DataFrame({"id": ["S0"], "start": [1], "end": [104], "CNN": [-0.5]})
    assert plot_profiles(short, tmp_path / "short.png", lengths={"S0": 104}) == ["S0"]
    assert (tmp_path / "one.png").read_bytes()[:4] == b"\x89PNG"
