"""decaylm.interpret.motifs: modisco-lite's motifs matched to the known elements, and a clustering
failure that gives no motif instead of a crash."""

from __future__ import annotations

import numpy as np
import pytest

from decaylm.interpret import attribution, motifs
from decaylm.interpret.meme import known_elements_path, read_meme


def test_motifs_narrower_than_five_columns_are_reported_new():
    """TOMTOM would call a 4-nt T run (or UUAG) a match of any T-rich element; such a motif stays new
    with its nearest known element, and the same run one column wider is poly-U."""
    def discovered(consensus):
        ppm = np.array([[0.97 if b == c else 0.01 for b in "ACGT"] for c in consensus]).T
        return motifs.Discovered(consensus, "+", 10, ppm, ppm, 1.0, 0.0)

    found = [discovered("TTTT"), discovered("TTAG"), discovered("TTTTTT")]
    motifs.match(found, read_meme(known_elements_path()))
    assert found[0].matches == [] and found[0].best[0] == "poly-U" and found[0].best[2] < 0.05
    assert found[1].matches == []
    assert found[2].matches[0][0] == "poly-U"


def test_modisco_clustering_failure_gives_no_motifs_not_a_crash(monkeypatch):
    """leidenalg raises a bare BaseException on NaN affinities (seen on MORPH_O's real-data maps)."""
    import modiscolite.tfmodisco

    def fails(**kwargs):
        raise BaseException("Could not construct partition: Cannot accept NaN weights.")  # noqa: TRY002 (as leidenalg does)

    monkeypatch.setattr(modiscolite.tfmodisco, "TFMoDISco", fails)
    x = attribution.one_hot_batch(["ACGTACGTAC"] * 4)
    assert motifs.discover(x, np.zeros_like(x)) == []

    def interrupted(**kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(modiscolite.tfmodisco, "TFMoDISco", interrupted)
    with pytest.raises(KeyboardInterrupt):
        motifs.discover(x, np.zeros_like(x))
