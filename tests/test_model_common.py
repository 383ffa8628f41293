"""decaylm.models.common: a training run's fingerprint (what a checkpoint may be resumed by), the split's
parts, and the training length."""

from __future__ import annotations

import numpy as np

from decaylm.models.common import parts, run_fingerprint, training_length
from tests.helpers.models import frame


def test_the_fingerprint_changes_with_the_spec_the_data_and_each_extra_input():
    split = frame(["ACGT", "ACGTAC", "AC", "GGGG"], np.array([0.1, 0.2, 0.3, 0.4]))
    spec = {"kind": "cnn", "epochs": 2}
    base = run_fingerprint(spec, split, "tokenizer/a", None)
    assert base == run_fingerprint(dict(reversed(spec.items())), split.copy(), "tokenizer/a")  # key order, None: same
    assert base != run_fingerprint({**spec, "epochs": 3}, split, "tokenizer/a")
    assert base != run_fingerprint(spec, split.assign(y=split["y"] + 1e-9), "tokenizer/a")
    assert base != run_fingerprint(spec, split.assign(group=0).assign(split="train"), "tokenizer/a")
    assert base == run_fingerprint(spec, split.assign(group=0), "tokenizer/a")  # not an input of training
    assert base != run_fingerprint(spec, split, "tokenizer/b")
    assert base != run_fingerprint(spec, split, "tokenizer/a", np.zeros(3))


def test_parts_and_the_training_length():
    split = frame(["A" * n for n in (5, 9, 7, 4, 3, 8, 6, 2, 1, 10)], np.arange(10.0))
    by_part = parts(split)
    assert {name: len(rows) for name, rows in by_part.items()} == {"train": 7, "valid": 2, "test": 1}
    assert by_part["valid"].index.tolist() == [0, 1] and by_part["valid"]["y"].tolist() == [7.0, 8.0]
    assert training_length(split) == 9  # the longest training reporter, not the test one
