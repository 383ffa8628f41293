"""The embedded simulator: real UTR-seq format, determinism, planted biology, calibration."""

from __future__ import annotations

import re
import runpy
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from decaylm.errors import InputError
from decaylm.simulate import (
    ELEMENT_KINDS,
    SimulationConfig,
    config_from_params,
    simulate,
    write_simulation,
)

ROOT = Path(__file__).resolve().parents[1]
HOURS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12]
AR = [f"AR{i:02d}" for i in range(1, 12)]


@pytest.fixture(scope="module")
def default_sim():
    """The default data set (4000 reporters), simulated once for the whole file."""
    return simulate(SimulationConfig())


def measured_target(counts: pd.DataFrame, truth: pd.DataFrame, from_col="AR03", to_col="AR09", min_reads=20):
    """The pipeline's target, computed independently: log2((count + 1) / spike-in sum), to - from."""
    table = counts.set_index("id")
    spikes = table.loc[table.index.str.startswith("SPIKE_")].sum()
    reporters = table.loc[truth["id"]]
    log2 = np.log2((reporters + 1) / spikes)
    y = (log2[to_col] - log2[from_col]).to_numpy()
    keep = reporters[from_col].to_numpy() >= min_reads
    return y, keep


# ---------------------------------------------------------------------------------- format


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
    assert list(truth.columns) == ["id", "y_true", *ELEMENT_KINDS, "early_rate", "late_rate", "onset"]
    assert list(truth["id"]) == list(seqs["id"])
    assert truth["y_true"].notna().all()


def test_real_reader_layout_matches(default_sim):
    """Same columns and spike-in naming as the real file, read the same way."""
    real = Path(ROOT.parent / "shared" / "data" / "utrseq" / "reporter_counts.txt")
    if not real.exists():
        pytest.skip("real UTR-seq data not beside the repo")
    real_header = real.open().readline().rstrip("\n").split("\t")
    counts, _, _ = default_sim
    assert list(counts.columns) == real_header


def test_hours_and_lengths_are_configurable():
    cfg = SimulationConfig(n_reporters=50, length=150, hours=[0, 2, 4, 6, 8], from_hour=2, to_hour=6)
    counts, seqs, truth = simulate(cfg)
    assert list(counts.columns) == ["id", "AR01", "AR02", "AR03", "AR04", "AR05"]
    assert (seqs["sequence"].str.len() == 150).all()
    # y_true is the change between the requested hours
    on, early, late = truth["onset"], truth["early_rate"], truth["late_rate"]
    expected = -early * 4 - late * (np.maximum(0, 6 - on) - np.maximum(0, 2 - on))
    np.testing.assert_allclose(truth["y_true"], expected, atol=1e-12)


# ---------------------------------------------------------------------------- determinism


def test_same_seed_gives_identical_files_and_other_seed_differs(tmp_path):
    names = ["reporter_counts.txt", "reporter_seq.txt", "truth.tsv"]
    for sub, seed in (("a", 11), ("b", 11), ("c", 12)):
        write_simulation(SimulationConfig(n_reporters=300, seed=seed), tmp_path / sub)
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
        assert (tmp_path / "a" / name).read_bytes() != (tmp_path / "c" / name).read_bytes()


# ---------------------------------------------------------------------------- planted biology

# Independent scanners (not the module's): overlapping occurrences / maximal runs.
SCAN = {
    "mir430": lambda s: len(re.findall(r"(?=AGCACTT)", s)),
    "are": lambda s: len(re.findall(r"(?=TATTTAT)", s)),
    "pumilio": lambda s: sum(s[i : i + 4] == "TGTA" and s[i + 4] in "ACT" and s[i + 5 : i + 8] == "ATA" for i in range(len(s) - 7)),
    "polyu": lambda s: sum(len(run) >= 8 for run in re.findall(r"T+", s)),
    "gc_rich": lambda s: sum(len(run) >= 10 for run in re.findall(r"[GC]+", s)),
}


def test_truth_counts_are_the_sites_in_the_sequence(default_sim):
    _, seqs, truth = default_sim
    for kind, scan in SCAN.items():
        found = seqs["sequence"].map(scan).to_numpy()
        np.testing.assert_array_equal(found, truth[kind].to_numpy(), err_msg=kind)


def test_elements_are_planted_at_the_configured_rates(default_sim):
    cfg = SimulationConfig()
    _, _, truth = default_sim
    for kind in ELEMENT_KINDS:
        carried = (truth[kind] > 0).mean()
        # planted at element_probs[kind]; chance sites in the background add at most a few %
        assert cfg.element_probs[kind] - 0.03 < carried < cfg.element_probs[kind] + 0.05, kind
    # nothing planted: sites are rare chance events and y_true is nearly constant
    _, _, bare = simulate(SimulationConfig(n_reporters=1000, element_probs={k: 0.0 for k in ELEMENT_KINDS}))
    assert (bare[list(ELEMENT_KINDS)].sum(axis=1) > 0).mean() < 0.1  # ~5.5% expected by chance
    no_site = (bare[list(ELEMENT_KINDS)] == 0).all(axis=1)
    assert bare.loc[no_site, "y_true"].std() < 0.15  # background rates and onset only
    assert bare.loc[no_site, "y_true"].std() < 0.2 * truth["y_true"].std()
    # always planted: every reporter carries the element
    _, _, full = simulate(SimulationConfig(n_reporters=200, element_probs={"mir430": 1.0}))
    assert (full["mir430"] >= 1).all()


def test_each_element_has_its_documented_effect(default_sim):
    _, _, truth = default_sim

    def diff(kind, column):
        has = truth[kind] > 0
        return truth.loc[has, column].mean() - truth.loc[~has, column].mean()

    # miR-430, ARE, Pumilio: late-onset destabilizing
    for kind in ("mir430", "are", "pumilio"):
        assert diff(kind, "y_true") < -0.4, kind
        assert diff(kind, "late_rate") > 0.1, kind
        assert abs(diff(kind, "early_rate")) < 0.01, kind
    # GC-rich: early destabilizing
    assert diff("gc_rich", "y_true") < -0.4
    assert diff("gc_rich", "early_rate") > 0.05
    assert abs(diff("gc_rich", "late_rate")) < 0.02
    # poly-U: stabilizing
    assert diff("polyu", "y_true") > 0.4
    assert diff("polyu", "late_rate") < -0.1


def test_extra_copies_give_diminishing_returns(default_sim):
    _, _, truth = default_sim
    late = truth["late_rate"]
    base = late[truth["mir430"] == 0].mean()
    one = late[truth["mir430"] == 1].mean() - base
    two = late[truth["mir430"] == 2].mean() - base
    assert (truth["mir430"] == 2).sum() > 50
    assert one < two < 2 * one


def test_site_effects_vary_with_context_and_position(default_sim):
    """Not every site has the same strength: 8mer > 7mer, 3' sites > 5' sites."""
    _, seqs, truth = default_sim
    others = [k for k in ELEMENT_KINDS if k != "mir430"]
    single = truth[(truth["mir430"] == 1) & (truth[others] == 0).all(axis=1)]
    seq = seqs.set_index("id").loc[single["id"], "sequence"]
    start = seq.str.find("AGCACTT").to_numpy()
    eight = (seq.str.find("AGCACTTA").to_numpy() == start)
    late = single["late_rate"].to_numpy()
    assert 100 < eight.sum() < len(single) - 100
    assert late[eight].mean() - late[~eight].mean() > 0.05
    three_prime, five_prime = start > 70, start < 30
    for group in (eight, ~eight):
        assert late[group & three_prime].mean() > late[group & five_prime].mean()


def test_onset_and_rates_vary_per_reporter(default_sim):
    _, _, truth = default_sim
    assert truth["onset"].between(4, 6).all() and 4.8 < truth["onset"].mean() < 5.2
    assert truth["onset"].std() > 0.1
    bare = truth[(truth[list(ELEMENT_KINDS)] == 0).all(axis=1)]
    assert len(bare) > 500
    assert bare["early_rate"].std() > 0.005 and bare["late_rate"].std() > 0.01


# ----------------------------------------------------------------------------- calibration


def test_measured_target_looks_like_the_real_data(default_sim):
    counts, _, truth = default_sim
    y, keep = measured_target(counts, truth)
    assert keep.mean() > 0.95
    y, y_true = y[keep], truth["y_true"].to_numpy()[keep]
    # real data: mean -1.14, sd 1.04
    assert -1.4 < y.mean() < -0.85
    assert 0.85 < y.std() < 1.25
    corr = np.corrcoef(y, y_true)[0, 1]
    assert 0.85 < corr < 0.97
    # spike-in normalization recovers expression: no large global offset
    assert abs(y.mean() - y_true.mean()) < 0.25
    # depth: 1-2 M reads per time point, of which reporters and spike-ins take up to 60%
    # (the rest is other RNA); ~100-250 reads per reporter at from_hour, like the real data
    reporters = counts.iloc[: len(truth)]
    assert (counts[AR].sum() > 2e5).all() and (counts[AR].sum() < 1.3e6).all()
    assert 80 < reporters["AR03"].median() < 300


def test_kmer_ridge_learns_y_true_from_the_measured_target(default_sim):
    """The calibration the pipeline's acceptance test relies on (best model R2 >= 0.8)."""
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import RidgeCV
    from sklearn.metrics import r2_score

    counts, seqs, truth = default_sim
    y, keep = measured_target(counts, truth)
    sequences = seqs["sequence"].to_numpy()[keep]
    y, y_true = y[keep], truth["y_true"].to_numpy()[keep]
    order = np.random.default_rng(1).permutation(len(y))
    n_train = int(0.8 * len(y))
    train, test = order[:n_train], order[n_train:]

    vectorizer = CountVectorizer(analyzer="char", ngram_range=(1, 6), lowercase=False)
    x_train = vectorizer.fit_transform(sequences[train])
    x_test = vectorizer.transform(sequences[test])
    model = RidgeCV(alphas=(100.0, 300.0, 1000.0), cv=3).fit(x_train, y[train])
    r2 = r2_score(y_true[test], model.predict(x_test))
    assert r2 >= 0.85, f"k-mer ridge R2 vs y_true {r2:.3f}"


# ----------------------------------------------------------------------------- config


def test_config_errors_name_the_key():
    with pytest.raises(InputError, match=r"^data\.simulate\.n_reporter: unknown setting"):
        config_from_params({"n_reporter": 10})
    with pytest.raises(InputError, match=r"^data\.simulate\.from_hour:"):
        config_from_params({"from_hour": 2.5})
    with pytest.raises(InputError, match=r"^data\.simulate\.to_hour:"):
        config_from_params({"from_hour": 8, "to_hour": 2})
    with pytest.raises(InputError, match=r"^data\.simulate\.element_probs\.let7:"):
        config_from_params({"element_probs": {"let7": 0.1}})
    with pytest.raises(InputError, match=r"^data\.simulate\.base_probs:"):
        config_from_params({"base_probs": {"A": 0.5, "C": 0.5, "G": 0.5, "T": 0.5}})
    with pytest.raises(InputError, match=r"^data\.simulate\.dispersion:"):
        config_from_params({"dispersion": "high"})
    # partial per-element dicts keep the other kinds' defaults
    cfg = config_from_params({"element_probs": {"mir430": 0.5}, "seed": 3})
    assert cfg.element_probs["mir430"] == 0.5 and cfg.element_probs["are"] == SimulationConfig().element_probs["are"]
    assert config_from_params(None) == SimulationConfig()


def _run_script(tmp_path, sim):
    out = SimpleNamespace(
        counts=str(tmp_path / "raw" / "reporter_counts.txt"),
        sequences=str(tmp_path / "raw" / "reporter_seq.txt"),
        truth=str(tmp_path / "raw" / "truth.tsv"),
    )
    fake = SimpleNamespace(params=SimpleNamespace(sim=sim), output=out, log=[str(tmp_path / "sim.log")])
    runpy.run_path(str(ROOT / "scripts" / "simulate.py"), init_globals={"snakemake": fake}, run_name="__main__")
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


# ----------------------------------------------------------------------------- long 3'UTRs


def test_long_utrs_have_their_elements_at_the_truth_positions(tmp_path):
    """The predict stage's long sequences: seeded, 600-1500 nt, every site listed, far apart."""
    from decaylm.simulate import simulate_long_utrs, write_long_utrs

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
    # every destabilizing kind is planted more than once, and each sequence carries one or more elements
    counts = truth["kind"].value_counts()
    assert all(counts.get(kind, 0) >= 2 for kind in ("mir430", "are", "gc_rich"))
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
    runpy.run_path(str(ROOT / "scripts" / "simulate.py"), init_globals={"snakemake": fake}, run_name="__main__")
    assert Path(out.long_utrs).read_text().count(">LONG_UTR_") == 6
    assert len(pd.read_csv(out.long_truth, sep="\t")) > 6
    assert "wrote 6 long 3'UTRs" in (tmp_path / "sim.log").read_text()
