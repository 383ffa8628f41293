"""decaylm.interpret.marginalize: the effect of an element inserted into shuffled backgrounds."""

from __future__ import annotations

import pytest

from decaylm.interpret import marginalize
from tests.helpers.models import CountModel


def test_insertion_effect_of_a_known_element():
    model = CountModel()
    backs = marginalize.backgrounds(["ACGTACGGTACCAGTACGATCGGATCA" * 4] * 20, 0)
    assert all(len(b) == 108 for b in backs)
    effects = marginalize.element_effects(model, backs, {"UUAG": "TTAG", "seed": "GCACTT"}, 0, positions=[0, 50])
    central = effects[effects["centre"]].set_index("element")["mean"]
    assert central["UUAG"] == pytest.approx(1, abs=0.2) and central["seed"] == pytest.approx(-2, abs=0.3)
    assert set(effects["start"]) >= {0, 50}
