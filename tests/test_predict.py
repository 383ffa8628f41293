"""`decaylm predict`: real k-mer ridge models (trained here in seconds) score reporters, tiled
full-length sequences and variants; bad input stops with one line and leaves no output."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from decaylm.cli import main
from decaylm.models.registry import parse_model_spec
from decaylm.models import kmer_ridge, load_model
from decaylm.models.ensemble import write_ensemble
from decaylm.predict import read_variants, score_variants, score_windows, summarize
from decaylm.sequences import read_sequences
from tests.helpers.data import random_sequences
from tests.helpers.paths import REPO

LENGTH = 110


def train_kmer(folder, name: str, k_max: int, length: int = LENGTH, seed: int = 0):
    """A real KMER_RIDGE folder from 300 random reporters whose target rewards GC and punishes
    AU-rich elements, so windows differ in their predictions."""
    sequences = random_sequences(300, length, seed)
    rng = np.random.default_rng(seed)
    y = [0.1 * s.count("GC") - 0.3 * s.count("TTT") + rng.normal(0, 0.1) for s in sequences]
    split = pd.DataFrame({"id": [f"r{i}" for i in range(300)], "sequence": sequences, "y": y,
                          "split": ["train"] * 240 + ["valid"] * 30 + ["test"] * 30, "group": range(300)})
    spec = parse_model_spec(name, {"kind": "kmer_ridge", "k_max": k_max, "cv_folds": 3})
    kmer_ridge.train(split, spec, folder / name)
    return folder / name


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict:
    """Model folders: two k-mer ridges, their ensemble, one trained on 80 nt, and copies whose
    model.json claims a minimum length of 100 nt (as a CNN has) or a future format."""
    folder = tmp_path_factory.mktemp("models")
    paths = {"A": train_kmer(folder, "KMER_A", 4), "B": train_kmer(folder, "KMER_B", 3, seed=1),
             "SHORT": train_kmer(folder, "KMER_80", 3, length=80, seed=2)}
    write_ensemble(folder / "ENS", parse_model_spec("ENS", {"kind": "ensemble", "members": ["KMER_A", "KMER_B"]}),
                   [paths["A"], paths["B"]])
    paths["ENS"] = folder / "ENS"
    for key, change in {"MIN100": {"min_length": 100, "name": "KMER_MIN100"}, "FUTURE": {"format": 99}}.items():
        paths[key] = folder / key
        shutil.copytree(paths["A"], paths[key])
        record = json.loads((paths[key] / "model.json").read_text())
        (paths[key] / "model.json").write_text(json.dumps({**record, **change}))
    return paths


@pytest.fixture(scope="module")
def loaded(models) -> dict:
    return {key: load_model(path) for key, path in models.items() if key != "FUTURE"}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict:
    """Two reporters of the training length, a 300-nt and a 305-nt UTR, a 60-nt fragment."""
    sequences = dict(zip(["rep1", "rep2", "utr300", "utr305", "frag60"],
                         [*random_sequences(2, LENGTH, seed=7), *random_sequences(1, 300, seed=8),
                          *random_sequences(1, 305, seed=9), *random_sequences(1, 60, seed=10)]))
    folder = tmp_path_factory.mktemp("inputs")
    tsv = folder / "seqs.tsv"
    tsv.write_text("".join(f"{name}\t{sequence}\n" for name, sequence in sequences.items()))
    return {"sequences": sequences, "tsv": tsv, "folder": folder}


def run_cli(*args) -> int:
    """decaylm's exit code, run in-process."""
    try:
        main(["predict", *map(str, args)])
    except SystemExit as exit:
        return exit.code
    return 0


def frame(sequences: dict) -> pd.DataFrame:
    return pd.DataFrame({"id": list(sequences), "sequence": list(sequences.values())})


def test_training_length_sequences_score_as_model_predict(models, loaded, inputs, tmp_path):
    reporters = {name: inputs["sequences"][name] for name in ("rep1", "rep2")}
    windows = score_windows([loaded["A"]], frame(reporters))
    assert windows.columns.tolist() == ["id", "start", "end", "KMER_A"]
    assert windows[["start", "end"]].values.tolist() == [[1, LENGTH], [1, LENGTH]]
    np.testing.assert_array_equal(windows["KMER_A"], loaded["A"].predict(list(reporters.values())))
    # the command writes the same numbers (to 6 significant digits)
    (tmp_path / "reporters.tsv").write_text("".join(f"{n}\t{s}\n" for n, s in reporters.items()))
    assert run_cli(models["A"], tmp_path / "reporters.tsv", "-o", tmp_path / "out.tsv") == 0
    out = pd.read_csv(tmp_path / "out.tsv", sep="\t")
    assert out["id"].tolist() == ["rep1", "rep2"]
    np.testing.assert_allclose(out["KMER_A"], windows["KMER_A"], rtol=1e-5)


def test_long_sequences_are_tiled_and_the_last_window_ends_at_the_end(loaded, inputs):
    sequences = inputs["sequences"]
    windows = score_windows([loaded["A"]], frame({n: sequences[n] for n in ("utr300", "utr305", "frag60")}))
    utr300 = windows[windows["id"] == "utr300"]
    assert len(utr300) == 20  # starts 1, 11, ..., 191: the 20th ends exactly at 300
    assert utr300["start"].tolist() == list(range(1, 192, 10))
    assert utr300["end"].tolist() == list(range(110, 301, 10))
    utr305 = windows[windows["id"] == "utr305"]
    assert len(utr305) == 21 and utr305["start"].iloc[-2] == 191
    assert (utr305["start"].iloc[-1], utr305["end"].iloc[-1]) == (196, 305)  # the tail's window
    expected = loaded["A"].predict([sequences["utr305"][s - 1:e] for s, e in zip(utr305["start"], utr305["end"])])
    np.testing.assert_array_equal(utr305["KMER_A"], expected)
    frag = windows[windows["id"] == "frag60"]  # shorter than the training length: scored as it is
    assert frag[["start", "end"]].values.tolist() == [[1, 60]]
    assert frag["KMER_A"].iloc[0] == loaded["A"].predict([sequences["frag60"]])[0]
    assert len(set(utr300["KMER_A"])) > 10  # the windows really differ


def test_stride_sets_the_window_starts(loaded, inputs):
    windows = score_windows([loaded["A"]], frame({"utr300": inputs["sequences"]["utr300"]}), stride=50)
    assert windows["start"].tolist() == [1, 51, 101, 151, 191]


def test_summary_gives_mean_min_and_the_start_of_the_lowest_window(models, loaded, inputs, tmp_path):
    assert run_cli(models["A"], models["B"], inputs["tsv"], "-o", tmp_path / "w.tsv") == 0
    windows = pd.read_csv(tmp_path / "w.tsv", sep="\t")
    summary = pd.read_csv(tmp_path / "w.summary.tsv", sep="\t")  # the default path
    assert summary.columns.tolist() == ["id", "model", "length", "windows", "mean", "min", "min_start"]
    assert summary[["id", "model"]].values.tolist() == [[n, m] for n in inputs["sequences"]
                                                        for m in ("KMER_A", "KMER_B")]
    row = summary[(summary["id"] == "utr305") & (summary["model"] == "KMER_B")].iloc[0]
    utr305 = windows[windows["id"] == "utr305"]
    assert (row["length"], row["windows"]) == (305, 21)
    assert row["min"] == pytest.approx(utr305["KMER_B"].min())
    assert row["mean"] == pytest.approx(utr305["KMER_B"].mean())
    assert row["min_start"] == utr305["start"].iloc[int(np.argmin(utr305["KMER_B"]))]
    # from the scores, before rounding to the file: the same table
    direct = summarize(score_windows([loaded["A"], loaded["B"]], read_sequences(inputs["tsv"])),
                       read_sequences(inputs["tsv"]))
    pd.testing.assert_frame_equal(direct[["id", "model", "length", "windows", "min_start"]],
                                  summary[["id", "model", "length", "windows", "min_start"]])


def test_summary_path_option(models, inputs, tmp_path):
    assert run_cli(models["A"], inputs["tsv"], "-o", tmp_path / "w.tsv", "--summary", tmp_path / "s.tsv") == 0
    assert (tmp_path / "s.tsv").exists() and not (tmp_path / "w.summary.tsv").exists()


def test_rna_and_lower_case_score_as_dna(loaded, inputs, tmp_path):
    sequences = inputs["sequences"]
    rna = tmp_path / "rna.tsv"
    rna.write_text("".join(f"{n}\t{s.lower().replace('t', 'u')}\n" for n, s in sequences.items()))
    assert read_sequences(rna)["sequence"].tolist() == list(sequences.values())
    pd.testing.assert_frame_equal(score_windows([loaded["A"]], read_sequences(rna)),
                                  score_windows([loaded["A"]], frame(sequences)))


def test_fasta_and_both_tsv_layouts_read_the_same(inputs, tmp_path):
    sequences = inputs["sequences"]
    fasta = tmp_path / "seqs.fa"  # wrapped at 60 nt, with a description after the id
    fasta.write_text("".join(f">{n} some description\n" + "\n".join(s[i:i + 60] for i in range(0, len(s), 60)) + "\n"
                             for n, s in sequences.items()))
    header = tmp_path / "header.tsv"
    header.write_text("id\tsequence\n" + inputs["tsv"].read_text())
    named = tmp_path / "named.tsv"  # a header that names the columns picks them
    named.write_text("length\tsequence\tname\n" + "".join(f"{len(s)}\t{s}\t{n}\n" for n, s in sequences.items()))
    expected = frame(sequences)
    for path in (fasta, inputs["tsv"], header, named):
        pd.testing.assert_frame_equal(read_sequences(path), expected, obj=path.name)


def test_several_models_give_one_column_each(models, loaded, inputs, tmp_path):
    assert run_cli(models["A"], models["B"], inputs["tsv"], "-o", tmp_path / "w.tsv") == 0
    out = pd.read_csv(tmp_path / "w.tsv", sep="\t")
    assert out.columns.tolist() == ["id", "start", "end", "KMER_A", "KMER_B"]
    rep1 = out[out["id"] == "rep1"].iloc[0]
    for key, column in (("A", "KMER_A"), ("B", "KMER_B")):
        assert rep1[column] == pytest.approx(loaded[key].predict([inputs["sequences"]["rep1"]])[0], rel=1e-5)
    assert not np.allclose(out["KMER_A"], out["KMER_B"])


def test_ensemble_gives_its_members_sd_beside_their_mean(loaded, inputs):
    windows = score_windows([loaded["ENS"]], frame(inputs["sequences"]))
    assert windows.columns.tolist() == ["id", "start", "end", "ENS", "ENS_sd"]
    texts = [inputs["sequences"][n][s - 1:e] for n, s, e in zip(windows["id"], windows["start"], windows["end"])]
    a, b = loaded["A"].predict(texts), loaded["B"].predict(texts)
    np.testing.assert_allclose(windows["ENS"], loaded["ENS"].predict(texts), rtol=1e-6)
    np.testing.assert_allclose(windows["ENS_sd"], np.abs(a - b) / 2, rtol=1e-5, atol=1e-7)
    assert windows["ENS_sd"].max() > 0.01


def test_models_of_different_lengths_give_a_long_table(loaded, inputs):
    windows = score_windows([loaded["A"], loaded["SHORT"]], frame({"utr300": inputs["sequences"]["utr300"]}))
    assert windows.columns.tolist() == ["id", "model", "start", "end", "prediction"]
    short = windows[windows["model"] == "KMER_80"]
    assert len(short) == 23 and short["end"].iloc[-1] == 300 and (short["end"] - short["start"] == 79).all()
    summary = summarize(windows, {"utr300": 300})
    assert summary["windows"].tolist() == [20, 23]
    assert summary["min"].iloc[1] == pytest.approx(short["prediction"].min())


def write_variants(path, rows) -> None:
    path.write_text("id\tposition\tref\talt\n" + "".join("\t".join(map(str, row)) + "\n" for row in rows))


def test_variants_score_ref_alt_and_delta(models, loaded, inputs, tmp_path):
    rep1, utr300 = inputs["sequences"]["rep1"], inputs["sequences"]["utr300"]
    snv_alt = "A" if rep1[49] != "A" else "C"
    rows = [("rep1", 50, rep1[49], snv_alt),  # an SNV in a reporter: the whole reporter is scored
            ("utr300", 150, utr300[149:152], "-"),  # a 3-nt deletion in a long UTR
            ("utr300", 10, utr300[9], utr300[9] + "GGG")]  # an insertion near the start
    write_variants(tmp_path / "variants.tsv", rows)
    code = run_cli(models["A"], models["B"], inputs["tsv"], "-o", tmp_path / "w.tsv", "--variants",
                   tmp_path / "variants.tsv")
    assert code == 0
    scored = pd.read_csv(tmp_path / "w.variants.tsv", sep="\t")
    assert scored.columns.tolist() == ["id", "position", "ref", "alt", "KMER_A_ref", "KMER_A_alt", "KMER_A_delta",
                                       "KMER_B_ref", "KMER_B_alt", "KMER_B_delta"]
    model = loaded["A"]
    mutated = rep1[:49] + snv_alt + rep1[50:]
    assert scored["KMER_A_ref"][0] == pytest.approx(model.predict([rep1])[0], rel=1e-5)
    assert scored["KMER_A_alt"][0] == pytest.approx(model.predict([mutated])[0], rel=1e-5)
    # deletion of 149..151 (0-based): window centred on it starts at 149 + 1 - 55 = 95; the
    # alternative window starts there too and takes in the three bases after the old end
    deleted = utr300[:149] + utr300[152:]
    assert scored["KMER_A_ref"][1] == pytest.approx(model.predict([utr300[95:205]])[0], rel=1e-5)
    assert scored["KMER_A_alt"][1] == pytest.approx(model.predict([deleted[95:205]])[0], rel=1e-5)
    # insertion at 10: the window is clipped to the start, the alternative cut to 110 nt
    inserted = utr300[:10] + "GGG" + utr300[10:]
    assert scored["KMER_A_alt"][2] == pytest.approx(model.predict([inserted[:110]])[0], rel=1e-5)
    np.testing.assert_allclose(scored["KMER_B_delta"], scored["KMER_B_alt"] - scored["KMER_B_ref"], atol=1e-5)
    assert (scored["KMER_A_delta"].abs() > 1e-4).all()


def test_variants_api_matches_the_command_and_reads_rna(loaded, inputs, tmp_path):
    rep2 = inputs["sequences"]["rep2"]
    write_variants(tmp_path / "v.tsv", [("rep2", 1, rep2[:2].lower().replace("t", "u"), "-")])
    variants = read_variants(tmp_path / "v.tsv")
    assert variants[["ref", "alt"]].values.tolist() == [[rep2[:2], "-"]]
    scored = score_variants([loaded["A"]], frame(inputs["sequences"]), variants)
    assert scored["KMER_A_alt"][0] == pytest.approx(loaded["A"].predict([rep2[2:]])[0])


# Every bad input: (files to write beside the good ones, arguments, words the one line must hold).
BAD_SEQUENCE_FILES = {
    "empty": ("", ["empty"]),
    "unparseable": ("this is not a sequence file\nnor is this\n", ["line 1", "neither a FASTA"]),
    "bad letter": (">ok\nACGT\n>bad1\nACGTACGTXACGT\n", ["bad1", "'X'", "position 9"]),
    "duplicate id": ("s1\tACGTACGT\ns2\tACGTAAAA\ns1\tACGTCCCC\n", ["'s1'", "line 3", "first on line 1"]),
    "header only": ("id\tsequence\n", ["header and no sequences"]),
}


@pytest.mark.parametrize("case", BAD_SEQUENCE_FILES)
def test_bad_sequence_files_stop_with_one_line(case, models, tmp_path, capsys):
    text, words = BAD_SEQUENCE_FILES[case]
    (tmp_path / "bad.txt").write_text(text)
    assert_one_line_error([models["A"], tmp_path / "bad.txt"], words, tmp_path, capsys)


def variant_cases(inputs) -> dict:
    rep1 = inputs["sequences"]["rep1"]
    wrong = "A" if rep1[4] != "A" else "C"
    return {
        "past the end": ([("rep1", 111, "A", "C")], ["line 2", "past the end", "110 nt"]),
        "ref runs past the end": ([("rep1", 110, rep1[-1] + "A", "-")], ["line 2", "past the end"]),
        "ref mismatch": ([("rep1", 1, rep1[0], "G"), ("rep1", 5, wrong, "G")],
                         ["line 3", f"ref {wrong}", f"has {rep1[4]} at position 5"]),
        "unknown id": ([("nope", 1, "A", "C")], ["line 2", "'nope'"]),
    }


@pytest.mark.parametrize("case", ["past the end", "ref runs past the end", "ref mismatch", "unknown id"])
def test_bad_variants_stop_with_one_line(case, models, inputs, tmp_path, capsys):
    rows, words = variant_cases(inputs)[case]
    write_variants(tmp_path / "variants.tsv", rows)
    assert_one_line_error([models["A"], inputs["tsv"], "--variants", tmp_path / "variants.tsv"], ["variants.tsv",
                                                                                                 *words],
                          tmp_path, capsys)


def test_variants_without_a_column_stop_with_one_line(models, inputs, tmp_path, capsys):
    (tmp_path / "variants.tsv").write_text("id\tpos\tref\talt\nrep1\t3\tA\tC\n")
    assert_one_line_error([models["A"], inputs["tsv"], "--variants", tmp_path / "variants.tsv"],
                          ["variants.tsv", "no column position"], tmp_path, capsys)


def test_bad_models_and_options_stop_with_one_line(models, inputs, tmp_path, capsys):
    (tmp_path / "empty_dir").mkdir()
    cases = [([tmp_path / "empty_dir", inputs["tsv"]], ["empty_dir", "not a model folder"]),
             ([models["FUTURE"], inputs["tsv"]], ["model.json", "format 99"]),
             ([models["MIN100"], inputs["tsv"]], ["seqs.tsv", "'frag60'", "60 nt", "100 nt", "KMER_MIN100"]),
             ([models["A"], models["A"], inputs["tsv"]], ["KMER_A", "share this name"]),
             ([models["A"], inputs["tsv"], "--stride", "0"], ["--stride", "0"])]
    for args, words in cases:
        assert_one_line_error(args, words, tmp_path, capsys)


def assert_one_line_error(args, words, folder, capsys) -> None:
    out = folder / "out.tsv"
    assert run_cli(*args, "-o", out) == 1, args
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("decaylm error: "), lines
    for word in words:
        assert word in lines[0], (word, lines[0])
    written = [path.name for path in folder.iterdir() if path.name.startswith(("out", ".out"))]
    assert written == [], written  # no output, no temporary file


def test_python_m_decaylm_predict(models, inputs, tmp_path):
    out = tmp_path / "w.tsv"
    done = subprocess.run([sys.executable, "-m", "decaylm", "predict", str(models["ENS"]), str(inputs["tsv"]),
                           "-o", str(out)], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "windows/s" in done.stderr  # the log line
    table = pd.read_csv(out, sep="\t")
    assert table.columns.tolist() == ["id", "start", "end", "ENS", "ENS_sd"]
    assert len(table) == 1 + 1 + 20 + 21 + 1
    assert len(pd.read_csv(tmp_path / "w.summary.tsv", sep="\t")) == 5
