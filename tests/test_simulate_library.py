"""One simulated library and its files (decaylm/simulate/library.py, scripts/simulate.py): the real
UTR-seq format, determinism, and the Snakemake script."""

from __future__ import annotations

import hashlib
import runpy
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from decaylm.simulate.config import SimulationConfig
from decaylm.simulate.elements import ELEMENT_KINDS
from decaylm.simulate.library import write_simulation
from tests.helpers.paths import HOURS, REAL_DATA, REPO
from tests.helpers.simulate import AR, SCAN


def test_files_have_the_real_utrseq_format(tmp_path):
    cfg = SimulationConfig(n_reporters=200, seed=3)
    write_simulation(cfg, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reporter_counts.txt", "reporter_seq.txt", "truth.tsv"]

    lines = (tmp_path / "reporter_counts.txt").read_text().splitlines()
    assert lines[0].split("\t") == ["id"] + AR
    counts = pd.read_csv(tmp_path / "reporter_counts.txt", sep="\t")
    assert list(counts["id"][:3]) == ["SIM_T1", "SIM_T2", "SIM_T3"]
    assert list(counts["id"][-5:]) == [f"SPIKE_{i}" for i in range(5)]
    assert len(counts) == 205
    for col in AR:
        assert counts[col].dtype.kind == "i" and (counts[col] >= 0).all()
    assert (counts.loc[counts["id"].str.startswith("SPIKE_"), AR].sum() > 100).all()

    seq_lines = (tmp_path / "reporter_seq.txt").read_text().splitlines()
    assert seq_lines[0].startswith("SIM_T1\t")  # no header
    seqs = pd.read_csv(tmp_path / "reporter_seq.txt", sep="\t", header=None, names=["id", "sequence"])
    assert list(seqs["id"]) == list(counts["id"][:200])
    assert (seqs["sequence"].str.len() == 110).all()
    assert seqs["sequence"].str.fullmatch(r"[ACGT]+").all()

    truth = pd.read_csv(tmp_path / "truth.tsv", sep="\t")
    assert list(truth.columns) == ["id", "y_true", *ELEMENT_KINDS, "early_rate", "late_rate", "onset",
                                   "kmer_effect", "context_effect", "sites"]
    assert list(truth["id"]) == list(seqs["id"])
    assert truth["y_true"].notna().all()
    # sites: every site as kind:start (1-based), in order of position; as many as the counts say
    for row, sequence in zip(truth.itertuples(), seqs["sequence"]):
        listed = [] if pd.isna(row.sites) else [item.split(":") for item in row.sites.split(";")]
        starts = [int(start) for _, start in listed]
        assert starts == sorted(starts)
        for kind in ELEMENT_KINDS:
            assert sum(k == kind for k, _ in listed) == getattr(row, kind)
        for kind, start in listed:
            assert SCAN[kind](sequence[int(start) - 1:]) >= 1 and SCAN[kind](sequence[int(start) - 1:int(start) + 11]) >= 1


def test_real_reader_layout_matches(default_sim):
    """Same columns and spike-in naming as the real file, read the same way."""
    real = REAL_DATA / "reporter_counts.txt"
    if not real.exists():
        pytest.skip("real UTR-seq data not beside the repo")
    real_header = real.open().readline().rstrip("\n").split("\t")
    counts, _, _ = default_sim
    assert list(counts.columns) == real_header


def test_same_seed_gives_identical_files_and_other_seed_differs(tmp_path):
    names = ["reporter_counts.txt", "reporter_seq.txt", "truth.tsv"]
    for sub, seed in (("a", 11), ("b", 11), ("c", 12)):
        write_simulation(SimulationConfig(n_reporters=300, seed=seed), tmp_path / sub)
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
        assert (tmp_path / "a" / name).read_bytes() != (tmp_path / "c" / name).read_bytes()


# sha256 of the files of SimulationConfig(n_reporters=300, seed=3) written by the simulator before the
# context term (commit 83c5684, whose copy_decay was 0.85): with the term off and that copy_decay the
# files must not change by a byte (numpy's generators and pandas' float format are part of this).
BEFORE_CONTEXT = {
    "reporter_counts.txt": "384877cb4e72aa9a63008faf679c3cdf72b94642ab5c36e70e307db66e8c1b62",
    "reporter_seq.txt": "a7eb83e449104d9fc999b3f82ca21d3968f86e7d17966be0d3e0d95076381ff7",
    "truth.tsv": "83c2b24058774e7a632d2e2566850d7660f722060fa6ad67a97c2113d6669d2b",
}
CONTEXT_OFF = {"context_early_sd": 0.0, "context_late_sd": 0.0, "copy_decay": 0.85}


def test_without_the_context_term_the_files_are_as_before(tmp_path):
    write_simulation(SimulationConfig(n_reporters=300, seed=3, **CONTEXT_OFF), tmp_path)
    for name, digest in BEFORE_CONTEXT.items():
        assert hashlib.sha256((tmp_path / name).read_bytes()).hexdigest() == digest, name
    assert "context_effect" not in pd.read_csv(tmp_path / "truth.tsv", sep="\t").columns


def test_the_context_term_draws_nothing_from_the_reporters_stream(tmp_path):
    """Turned on, the term changes the rates, y_true and the reads, but not the sequences, onsets or any
    other draw: its motifs and effects come from their own stream (kmer_seed)."""
    from decaylm.simulate import simulate

    _, off_seqs, off = simulate(SimulationConfig(n_reporters=300, seed=3, **CONTEXT_OFF))
    _, on_seqs, on = simulate(SimulationConfig(n_reporters=300, seed=3, **{**CONTEXT_OFF, "context_late_sd": 0.05}))
    pd.testing.assert_frame_equal(off_seqs, on_seqs)
    pd.testing.assert_series_equal(off["onset"], on["onset"])
    pd.testing.assert_series_equal(off["kmer_effect"], on["kmer_effect"])
    assert not on["y_true"].equals(off["y_true"])
    # the rates differ by the term alone
    moved = on["late_rate"] - off["late_rate"]
    assert (moved != 0).any() and (on["early_rate"] == off["early_rate"]).all()


def _run_script(tmp_path, sim):
    out = SimpleNamespace(
        counts=str(tmp_path / "raw" / "reporter_counts.txt"),
        sequences=str(tmp_path / "raw" / "reporter_seq.txt"),
        truth=str(tmp_path / "raw" / "truth.tsv"),
    )
    fake = SimpleNamespace(params=SimpleNamespace(sim=sim), output=out, log=[str(tmp_path / "sim.log")])
    runpy.run_path(str(REPO / "scripts" / "simulate.py"), init_globals={"snakemake": fake}, run_name="__main__")
    return out


def test_snakemake_script_writes_the_three_files(tmp_path):
    out = _run_script(tmp_path, {"hours": HOURS, "from_hour": 2, "to_hour": 8, "n_reporters": 100, "seed": 7})
    assert len(pd.read_csv(out.counts, sep="\t")) == 105
    assert len(pd.read_csv(out.truth, sep="\t")) == 100
    assert len(Path(out.sequences).read_text().splitlines()) == 100
    assert "wrote 100 reporters" in (tmp_path / "sim.log").read_text()


def test_snakemake_script_unknown_key_is_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        _run_script(tmp_path, {"n_reporters": 10, "noise": 1})
    assert stop.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("decaylm error: data.simulate.noise: unknown setting")
    assert not (tmp_path / "raw" / "reporter_counts.txt").exists()
