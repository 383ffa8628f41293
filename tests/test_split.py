import numpy as np
import pandas as pd
import pytest

from decaylm.errors import InputError
from decaylm.split import longest_shared_substring_at_least, overlap_groups, split_table
from tests.conftest import random_sequences


def test_sequences_sharing_a_long_substring_share_a_group():
    base = random_sequences(3, length=80, seed=1)
    shifted = base[0][10:] + "ACGTACGTAC"  # shares 70 nt with base[0]
    chained = shifted[40:] + "T" * 40      # shares 30 nt with shifted only
    groups = overlap_groups(base + [shifted, chained], min_overlap=30)
    assert groups[0] == groups[3] == groups[4]
    assert len({groups[0], groups[1], groups[2]}) == 3


def _table(sequences):
    return pd.DataFrame({"id": [f"s{i}" for i in range(len(sequences))], "sequence": sequences,
                         "y": np.zeros(len(sequences))})


def test_overlap_split_leaks_nothing_and_random_split_does():
    rng = np.random.default_rng(0)
    genes = random_sequences(60, length=300, seed=2)
    tiles = [g[start:start + 110] for g in genes for start in range(0, 190, 40)]  # overlapping tiles
    rng.shuffle(tiles)
    table = _table(tiles)
    for method, leaks in (("overlap", False), ("random", True)):
        split = split_table(table, method, {"train": 0.8, "valid": 0.1, "test": 0.1}, seed=3, min_overlap=30)
        test, train = split[split.split == "test"], split[split.split == "train"]
        shared = longest_shared_substring_at_least(test.sequence.tolist(), train.sequence.tolist(), 30)
        assert (shared > 0) == leaks
        assert abs(len(test) / len(split) - 0.1) < 0.05


def test_split_is_seeded():
    table = _table(random_sequences(200, seed=4))
    fractions = {"train": 0.8, "valid": 0.1, "test": 0.1}
    a = split_table(table, "overlap", fractions, seed=5, min_overlap=30)
    b = split_table(table, "overlap", fractions, seed=5, min_overlap=30)
    c = split_table(table, "overlap", fractions, seed=6, min_overlap=30)
    assert a.equals(b) and not a["split"].equals(c["split"])


@pytest.mark.parametrize("fractions", [{"train": 0.8, "valid": 0.1, "test": 0.2}, {"train": 0.9, "valid": 0.1}])
def test_bad_fractions(fractions):
    with pytest.raises(InputError, match="split.fractions"):
        split_table(_table(random_sequences(10)), "random", fractions, 0, 30)


def test_real_data_overlap_split_removes_test_leaks(real_data):
    from decaylm.expression import normalize_counts
    from decaylm.sources import read_utrseq
    from decaylm.target import compute_target

    raw = read_utrseq(real_data, [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12])
    target = compute_target(normalize_counts(raw, 1, 20, [2, 8]), "difference", 2, 8)
    fractions = {"train": 0.8, "valid": 0.1, "test": 0.1}
    for method in ("random", "overlap"):
        split = split_table(target, method, fractions, seed=42, min_overlap=30)
        test, train = split[split.split == "test"], split[split.split == "train"]
        shared = longest_shared_substring_at_least(test.sequence.tolist(), train.sequence.tolist(), 30)
        if method == "random":
            assert 250 < shared < 400  # README: 323 of 1,193 under a random split
        else:
            assert shared == 0
