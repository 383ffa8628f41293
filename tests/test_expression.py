import numpy as np
import pytest

from decaylm.errors import InputError
from decaylm.expression import normalize_counts
from decaylm.sources import read_utrseq
from decaylm.target import compute_target


def test_spike_normalized_log2_expression(tiny_utrseq):
    raw = read_utrseq(tiny_utrseq, [0, 1, 2])
    expression = normalize_counts(raw, pseudocount=1, min_reads=20, filter_hours=[1])
    # R1 has 10 reads at hour 1: filtered; everything else kept.
    assert list(expression["id"]) == ["R0", "R2", "R3", "R4", "R5"]
    r0 = expression.set_index("id").loc["R0"]
    assert r0["1h"] == pytest.approx(np.log2(81) - np.log2(40))
    assert r0["2h"] == pytest.approx(np.log2(41) - np.log2(80))


def test_filter_on_early_hour_keeps_fast_decayers(real_data):
    """The README's measured facts: filtering at 2 and 8 h keeps 11,930; at 2 h only, all 12,322."""
    raw = read_utrseq(real_data, [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12])
    both = compute_target(normalize_counts(raw, 1, 20, [2, 8]), "difference", 2, 8)
    early = compute_target(normalize_counts(raw, 1, 20, [2]), "difference", 2, 8)
    assert len(both) == 11930 and len(early) == 12322
    assert both["y"].mean() == pytest.approx(-1.14, abs=0.01)
    assert both["y"].std() == pytest.approx(1.04, abs=0.01)
    dropped = early[~early["id"].isin(both["id"])]
    assert dropped["y"].mean() < -3  # the fastest decayers are what a late filter removes


def test_no_reporter_passing_filter_is_an_error(tiny_utrseq):
    raw = read_utrseq(tiny_utrseq, [0, 1, 2])
    with pytest.raises(InputError, match="data.min_reads"):
        normalize_counts(raw, 1, 10_000, [0])
