import numpy as np
import pandas as pd
import pytest

from decaylm.errors import InputError
from decaylm.split import (
    PARTS,
    longest_shared_substring_at_least,
    overlap_groups,
    shares_overlap,
    split_table,
)
from tests.helpers.data import random_sequences


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


def test_shares_overlap_marks_sequences_with_a_long_enough_common_substring():
    held_out = random_sequences(2, length=80, seed=7)
    fresh = random_sequences(3, length=80, seed=8)
    other = "A" if held_out[1][29] != "A" else "C"  # ends the shared stretch at 29 nt
    candidates = [held_out[0][20:50] + fresh[0], fresh[1], held_out[1][:29] + other + fresh[2], held_out[0][:29]]
    # 30 nt shared; nothing; 29 nt only; shorter than min_overlap itself
    assert shares_overlap(candidates, held_out, 30).tolist() == [True, False, False, False]
    assert shares_overlap(candidates, held_out, 29).tolist() == [True, False, True, True]
    assert shares_overlap([], held_out, 30).dtype == bool
    assert longest_shared_substring_at_least(candidates, held_out, 29) == 3


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


# ---------------------------------------------------------------------------------------------
# split.method: file (a published or user-supplied split)

def _split_file(folder, rows, header=("id", "part"), name="split.tsv"):
    path = folder / name
    path.write_text("\t".join(header) + "\n" + "".join("\t".join(row) + "\n" for row in rows))
    return path


def test_a_split_file_sets_the_parts_and_ignores_ids_not_in_the_data(tmp_path, caplog):
    from decaylm.split import read_split_file, split_from_file

    table = _table(random_sequences(6, seed=7))
    parts = ["train", "Train", "valid", "validation", "TEST", "test"]
    rows = [(f"s{i}", part) for i, part in enumerate(parts)] + [("not_in_data", "train"), ("other", "test")]
    path = _split_file(tmp_path, rows, header=("reporter", "partition"))
    caplog.set_level("INFO")
    split = split_from_file(table, read_split_file(path, "reporter", "partition"), 30, source=str(path))
    assert split["split"].tolist() == ["train", "train", "valid", "valid", "test", "test"]
    assert split["id"].tolist() == table["id"].tolist() and "group" in split.columns
    assert "8 id(s), 2 of them not in the data (ignored)" in caplog.text


def test_numeric_ids_match(tmp_path):
    """Ids that look like numbers (read as numbers from target.tsv) match the split file's text ids."""
    from decaylm.split import read_split_file, split_from_file

    table = _table(random_sequences(3, seed=10)).assign(id=[101, 102, 103])
    path = _split_file(tmp_path, [("101", "train"), ("102", "valid"), ("103", "test")])
    assert split_from_file(table, read_split_file(path), 30)["split"].tolist() == ["train", "valid", "test"]


def test_data_ids_missing_from_the_split_file_are_an_error_or_dropped_when_asked(tmp_path, caplog):
    from decaylm.split import read_split_file, split_from_file

    table = _table(random_sequences(9, seed=8))
    path = _split_file(tmp_path, [(f"s{i}", ("train", "valid", "test")[i % 3]) for i in range(6)])
    assignment = read_split_file(path)
    with pytest.raises(InputError) as error:
        split_from_file(table, assignment, 30, source=str(path))
    message = str(error.value)
    assert "\n" not in message and str(path) in message
    assert "3 of the 9 reporters of the data are not in it, e.g. ['s6', 's7', 's8']" in message
    assert "split.missing: drop" in message
    caplog.set_level("INFO")
    split = split_from_file(table, assignment, 30, missing="drop", source=str(path))
    assert split["id"].tolist() == [f"s{i}" for i in range(6)]
    assert "3 reporter(s) of the data not in the split file left out" in caplog.text


@pytest.mark.parametrize("rows, header, columns, expect", [
    ([("a", "train")], ("id", "part"), ("id", "fold"), ["no column 'fold'", "split.part_column"]),
    ([("a", "train")], ("name", "part"), ("id", "part"), ["no column 'id'", "['name', 'part']", "split.id_column"]),
    ([("a", "train"), ("b", "holdout")], ("id", "part"), ("id", "part"),
     [", line 3, column part", "unknown part 'holdout'", "use train, valid (or validation) or test"]),
    ([("a", "train"), ("b", "test"), ("a", "valid")], ("id", "part"), ("id", "part"),
     [", line 4, column id", "id 'a' given again (first on line 2", "give each reporter one part"]),
    ([("a", "train"), ("", "test")], ("id", "part"), ("id", "part"), [", line 3, column id", "empty id"]),
])
def test_bad_split_files_are_refused_in_one_line(tmp_path, rows, header, columns, expect):
    from decaylm.split import read_split_file

    path = _split_file(tmp_path, rows, header)
    with pytest.raises(InputError) as error:
        read_split_file(path, *columns)
    message = str(error.value)
    assert "\n" not in message and message.startswith(str(path))
    for word in expect:
        assert word in message, message


def test_a_missing_split_file_is_refused_at_start_up(tmp_path):
    from decaylm.config import _check_split

    spec = {"method": "file", "file": str(tmp_path / "nope.tsv"), "id_column": "id", "part_column": "part"}
    with pytest.raises(InputError, match=r"^split.file: file '.*nope.tsv' not found \(check the path"):
        _check_split(spec)
    with pytest.raises(InputError, match="split.file: empty, but split.method is file"):
        _check_split({**spec, "file": ""})


def test_the_split_job_refuses_a_bad_file_in_one_line_and_writes_nothing(tmp_path, capsys):
    """The job (scripts/split_data.py, as the rule runs it) on a split file that lacks data ids: one
    line on stderr and in the log, exit 1, no split.tsv and no temporary file."""
    import runpy
    from types import SimpleNamespace

    from snakemake.iocontainers import Namedlist

    from tests.helpers.paths import REPO

    table = _table(random_sequences(6, seed=9))
    table.to_csv(tmp_path / "target.tsv", sep="\t", index=False)
    path = _split_file(tmp_path, [("s0", "train"), ("s1", "valid"), ("s2", "test")])
    out, log = tmp_path / "out" / "split.tsv", tmp_path / "split.log"
    spec = {"method": "file", "file": str(path), "id_column": "id", "part_column": "part", "missing": "error",
            "group_overlap_nt": 30}
    job = SimpleNamespace(input=Namedlist([str(tmp_path / "target.tsv")]), output=Namedlist([str(out)]),
                          params=SimpleNamespace(split=spec), log=Namedlist([str(log)]))
    with pytest.raises(SystemExit) as stop:
        runpy.run_path(str(REPO / "scripts" / "split_data.py"), init_globals={"snakemake": job}, run_name="__main__")
    assert stop.value.code == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("decaylm error: ")]
    assert len(errors) == 1 and "3 of the 6 reporters" in errors[0] and errors[0] in log.read_text()
    assert not out.exists() and not list(tmp_path.rglob("*.tmp"))
    job.params.split = {**spec, "missing": "drop"}  # the setting: the job then writes the three it has
    runpy.run_path(str(REPO / "scripts" / "split_data.py"), init_globals={"snakemake": job}, run_name="__main__")
    assert pd.read_csv(out, sep="\t")["split"].tolist() == ["train", "valid", "test"]


def test_the_deeputr_split_maps_onto_the_real_reporters(real_data):
    """The DeepUTR split by id over the real reporters: 8,725 / 1,799 / 1,406 with the read filter at
    2 h and 8 h (its README's figures), 9,009 / 1,858 / 1,455 with the default filter at 2 h; no test
    reporter shares 30 nt with a training one (the split is 20-mer disjoint)."""
    from decaylm.expression import normalize_counts
    from decaylm.sources import read_utrseq
    from decaylm.split import count_test_leaks, read_split_file, split_from_file
    from decaylm.target import compute_target

    path = real_data.parent / "deeputr" / "deeputr_split_by_id.tsv"
    if not path.is_file():
        pytest.skip(f"{path} not present")
    assignment = read_split_file(path, "id", "deeputr_partition")
    raw = read_utrseq(real_data, [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12])
    for hours, counts in (([2, 8], (8725, 1799, 1406)), ([2], (9009, 1858, 1455))):
        split = split_from_file(compute_target(normalize_counts(raw, 1, 20, hours), "difference", 2, 8), assignment, 30)
        assert tuple(split["split"].value_counts()[list(PARTS)]) == counts
    assert count_test_leaks(split, 30) == 0


def test_the_split_job_sees_only_the_keys_its_method_uses():
    """rule split_data's params (its rerun trigger): the seed and fractions do not matter to a file split,
    nor the file keys to an overlap split."""
    from decaylm.split import job_params

    spec = {"method": "file", "file": "a.tsv", "id_column": "id", "part_column": "part", "missing": "error",
            "group_overlap_nt": 30, "seed": 42, "fractions": {"train": 0.8, "valid": 0.1, "test": 0.1}}
    assert job_params(spec) == job_params({**spec, "seed": 7, "fractions": {"train": 0.5, "valid": 0.25, "test": 0.25}})
    assert job_params(spec) != job_params({**spec, "file": "b.tsv"})
    overlap = {**spec, "method": "overlap"}
    assert job_params(overlap) == job_params({**overlap, "file": "b.tsv", "part_column": "p"})
    assert job_params(overlap) != job_params({**overlap, "seed": 7})
