"""Long 3'UTRs for the predict stage (decaylm/simulate/long_utrs.py): elements at the truth positions."""

from __future__ import annotations

import runpy
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from decaylm.errors import InputError
from decaylm.simulate import SimulationConfig, config_from_params, simulate
from decaylm.simulate.long_utrs import simulate_long_utrs, write_long_utrs
from tests.helpers.paths import REPO
from tests.helpers.simulate import SCAN


def test_long_utrs_have_their_elements_at_the_truth_positions(tmp_path):
    """The predict stage's long sequences: seeded, 600-1500 nt, every site listed, far apart."""
    cfg = SimulationConfig(n_reporters=50, seed=7)
    seqs, truth = simulate_long_utrs(cfg)
    assert len(seqs) == 6 and seqs["id"].is_unique
    lengths = seqs["sequence"].str.len()
    assert lengths.between(600, 1500).all()
    assert seqs["sequence"].str.fullmatch(r"[ACGT]+").all()
    # the reporters' AT-rich background
    at = "".join(seqs["sequence"]).count("A") + "".join(seqs["sequence"]).count("T")
    assert 0.55 < at / lengths.sum() < 0.65
    assert list(truth.columns[:4]) == ["id", "kind", "start", "end"]
    # every destabilizing kind is planted more than once, and each sequence carries one or more elements;
    # UUAG (absent from the known-elements table) too
    counts = truth["kind"].value_counts()
    assert all(counts.get(kind, 0) >= 2 for kind in ("mir430", "are", "gc_rich"))
    assert counts.get("uuag", 0) >= 1
    assert set(truth["id"]) == set(seqs["id"])
    by_id = seqs.set_index("id")["sequence"]
    for uid, sequence in by_id.items():
        planted = truth[truth["id"] == uid].sort_values("start")
        for row in planted.itertuples():
            assert sequence[row.start - 1:row.end] == row.motif  # 1-based, inclusive
        # the truth is the whole story: the independent scanners find exactly the planted sites
        for kind, scan in SCAN.items():
            assert scan(sequence) == (planted["kind"] == kind).sum(), (uid, kind)
        # far apart: a 110-nt window never holds two elements
        assert (np.diff(planted["start"].to_numpy()) > 150).all(), uid
        assert planted["start"].min() > 100 and planted["end"].max() < len(sequence) - 100
    # seeded and separate from the reporters
    again = simulate_long_utrs(SimulationConfig(n_reporters=50, seed=7))
    pd.testing.assert_frame_equal(again[0], seqs)
    pd.testing.assert_frame_equal(again[1], truth)
    assert not simulate_long_utrs(SimulationConfig(n_reporters=50, seed=8))[0].equals(seqs)
    reporters = simulate(cfg)[1]
    pd.testing.assert_frame_equal(simulate(SimulationConfig(n_reporters=50, seed=7, n_long_utrs=2))[1], reporters)
    # written as FASTA plus the truth table
    write_long_utrs((seqs, truth), tmp_path / "long.fa", tmp_path / "long_truth.tsv")
    lines = (tmp_path / "long.fa").read_text().splitlines()
    assert lines[0::2] == [f">{uid}" for uid in seqs["id"]] and lines[1::2] == list(seqs["sequence"])
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "long_truth.tsv", sep="\t"), truth)
    # settings
    assert len(simulate_long_utrs(SimulationConfig(n_reporters=50, n_long_utrs=2, long_utr_lengths=[300, 400]))[0]) == 2
    with pytest.raises(InputError, match=r"^data\.simulate\.n_long_utrs:"):
        config_from_params({"n_long_utrs": 0})
    with pytest.raises(InputError, match=r"^data\.simulate\.long_utr_lengths:"):
        config_from_params({"long_utr_lengths": [900, 600]})


def test_snakemake_script_writes_the_long_utrs_when_asked(tmp_path):
    out = SimpleNamespace(
        counts=str(tmp_path / "raw" / "reporter_counts.txt"),
        sequences=str(tmp_path / "raw" / "reporter_seq.txt"),
        truth=str(tmp_path / "raw" / "truth.tsv"),
        long_utrs=str(tmp_path / "raw" / "long_utrs.fa"),
        long_truth=str(tmp_path / "raw" / "long_utrs_truth.tsv"),
    )
    fake = SimpleNamespace(params=SimpleNamespace(sim={"n_reporters": 100, "seed": 7}), output=out,
                           log=[str(tmp_path / "sim.log")])
    runpy.run_path(str(REPO / "scripts" / "simulate.py"), init_globals={"snakemake": fake}, run_name="__main__")
    assert Path(out.long_utrs).read_text().count(">LONG_UTR_") == 6
    assert len(pd.read_csv(out.long_truth, sep="\t")) > 6
    assert "wrote 6 long 3'UTRs" in (tmp_path / "sim.log").read_text()
