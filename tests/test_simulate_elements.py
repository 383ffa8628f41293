"""Element kinds and site finding (decaylm/simulate/elements.py): the truth's counts are the sequence's sites."""

from __future__ import annotations

import numpy as np

from decaylm.simulate.elements import KNOWN_KINDS, NOVEL_KINDS
from tests.helpers.simulate import SCAN


def test_truth_counts_are_the_sites_in_the_sequence(default_sim):
    _, seqs, truth = default_sim
    for kind, scan in SCAN.items():
        found = seqs["sequence"].map(scan).to_numpy()
        np.testing.assert_array_equal(found, truth[kind].to_numpy(), err_msg=kind)


def test_the_novel_element_is_not_in_the_known_table():
    """UUAG is planted and acts, but no known element of the rbp_known table (decaylm.tokenizers.rbp_motifs) is it."""
    from decaylm.tokenizers.rbp_motifs import KNOWN_ELEMENTS, expand_iupac

    assert NOVEL_KINDS == ("uuag",) and set(KNOWN_KINDS).isdisjoint(NOVEL_KINDS)
    for _, pattern in KNOWN_ELEMENTS:
        assert not any("TTAG" in word for word in expand_iupac(pattern)), pattern
