"""decaylm.interpret.attribution: in-silico mutagenesis through a model's predict, its hypothetical
contributions, and the choice of test reporters."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from decaylm.interpret import attribution
from tests.helpers.models import CountModel


def test_ism_scores_every_substitution_through_predict():
    sequence = "AAATTAGAAAGCACTTAAA"
    model = CountModel()
    reference, delta = attribution.ism(model, [sequence])
    assert reference[0] == 1 - 2
    for pos in range(len(sequence)):
        for b, base in enumerate("ACGT"):
            mutant = sequence[:pos] + base + sequence[pos + 1:]
            assert delta[0, b, pos] == pytest.approx(model.predict([mutant])[0] - reference[0])
    hyp = attribution.hypothetical(delta)
    assert np.allclose(hyp.sum(axis=1), 0, atol=1e-6)
    contribution = attribution.contributions(hyp, attribution.one_hot_batch([sequence]))[0]
    assert contribution[3:7].min() > 0 and contribution[10:16].max() < 0  # TTAG raises, GCACTT lowers
    assert np.allclose(contribution[:3], 0)


def test_test_sequences_uses_all_when_asked_for_more(caplog):
    split = pd.DataFrame({"id": [f"r{i}" for i in range(6)], "sequence": ["ACGTAC"] * 5 + ["ACG"],
                          "y": 0.0, "split": ["test"] * 6})
    with caplog.at_level(logging.INFO):
        chosen = attribution.test_sequences(split, 50, 0)
    assert len(chosen) == 5 and "interpreting all 5" in caplog.text
