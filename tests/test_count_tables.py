"""Count and expression tables as they come: named files, prefixed ARnn columns, an EMPTY row, count ids
without sequences, the original project's `ID` / `Sequence` headers (decaylm/sources.py)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from decaylm.config import _check_data
from decaylm.errors import InputError
from decaylm.expression import build_expression
from decaylm.sources import read_counts, read_raw, read_table
from tests.helpers.paths import DEEPUTR_DATA as DEEPUTR
from tests.helpers.paths import REAL_DATA as UTRSEQ


def write_counts(path: Path, columns: list[str], rows: dict[str, list[int]]) -> Path:
    lines = ["\t".join(["id", *columns])] + ["\t".join([rid, *map(str, values)]) for rid, values in rows.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_sequences(path: Path, ids) -> Path:
    path.write_text("".join(f"{rid}\tACGTACGTAC\n" for rid in ids))
    return path


PREFIXED = ["SPE_40xA_AR01", "SPE_40xA_AR02", "SPE_40xA_AR03"]
ROWS = {"EMPTY": [900, 800, 700], "a": [50, 40, 30], "b": [60, 60, 55], "c": [30, 20, 10],
        "SPIKE_0": [10, 12, 14], "SPIKE_1": [5, 6, 7]}


@pytest.fixture
def deeputr_like(tmp_path):
    counts = write_counts(tmp_path / "cnt.umi.txt", PREFIXED, ROWS)
    return counts, write_sequences(tmp_path / "seq.txt", ["a", "b", "c"])


def test_prefixed_columns_and_empty_row(deeputr_like):
    counts, sequences = deeputr_like
    raw = read_counts(counts, sequences, [0, 1, 2])
    assert list(raw.reporters.index) == ["a", "b", "c"]  # EMPTY is not a reporter
    assert list(raw.spikes.index) == ["SPIKE_0", "SPIKE_1"]
    assert raw.reporters.loc["c"].tolist() == [30, 20, 10]


def test_named_files_through_build_expression(deeputr_like):
    counts, sequences = deeputr_like
    data = {"source": "utrseq", "path": "", "counts": str(counts), "sequences": str(sequences), "hours": [0, 1, 2],
            "pseudocount": 1, "min_reads": 0, "filter_hours": [], "download": False}
    _check_data(data)  # no folder needed when both files are named
    expression = build_expression(data)
    assert list(expression["id"]) == ["a", "b", "c"]
    assert list(expression.columns) == ["id", "sequence", "0h", "1h", "2h"]


def test_data_path_still_works(tmp_path):
    write_counts(tmp_path / "reporter_counts.txt", ["AR01", "AR02"], {"a": [5, 4], "SPIKE_0": [3, 3]})
    write_sequences(tmp_path / "reporter_seq.txt", ["a"])
    raw = read_raw({"source": "utrseq", "path": str(tmp_path), "hours": [0, 2]})
    assert list(raw.reporters.index) == ["a"]


def test_missing_named_file_is_one_line():
    data = {"source": "utrseq", "path": "", "counts": "/nope/cnt.txt", "sequences": "", "hours": [0, 1],
            "filter_hours": [], "download": False}
    with pytest.raises(InputError, match="data.counts: file '/nope/cnt.txt' not found"):
        _check_data(data)


def test_out_of_order_time_column_names_file_and_column(tmp_path):
    counts = write_counts(tmp_path / "cnt.txt", ["X_AR01", "X_AR03", "X_AR02"], {"a": [1, 2, 3], "SPIKE_0": [1, 1, 1]})
    with pytest.raises(InputError) as error:
        read_counts(counts, write_sequences(tmp_path / "s.txt", ["a"]), [0, 1, 2])
    message = str(error.value)
    assert str(counts) in message and "row 1" in message and "'X_AR03'" in message and "out of order" in message
    assert "\n" not in message


def test_time_columns_not_matching_hours_name_file_and_row(deeputr_like):
    counts, sequences = deeputr_like
    with pytest.raises(InputError) as error:
        read_counts(counts, sequences, [0, 1, 2, 3])
    message = str(error.value)
    assert f"{counts} row 1" in message and "3 time columns but data.hours has 4" in message and "\n" not in message


def test_foreign_column_is_refused(tmp_path):
    counts = write_counts(tmp_path / "cnt.txt", ["AR01", "note"], {"a": [1, 2], "SPIKE_0": [1, 1]})
    with pytest.raises(InputError, match="row 1.*'note' is not a time column"):
        read_counts(counts, write_sequences(tmp_path / "s.txt", ["a"]), [0, 1])


def test_ids_without_sequence_error_names_a_few_and_the_setting(deeputr_like, tmp_path):
    counts, _ = deeputr_like
    sequences = write_sequences(tmp_path / "only_a.txt", ["a"])
    with pytest.raises(InputError) as error:
        read_counts(counts, sequences, [0, 1, 2])
    message = str(error.value)
    assert "2 reporter(s) have no sequence" in message and "'b', 'c'" in message
    assert "data.require_sequences: false" in message and "\n" not in message


def test_ids_without_sequence_dropped_and_logged(deeputr_like, tmp_path, caplog):
    counts, _ = deeputr_like
    sequences = write_sequences(tmp_path / "only_ab.txt", ["a", "b"])
    with caplog.at_level(logging.INFO, logger="decaylm.sources"):
        raw = read_counts(counts, sequences, [0, 1, 2], require_sequences=False)
    assert list(raw.reporters.index) == ["a", "b"]
    assert "dropped 1 of 3 reporters" in caplog.text


def test_table_source_as_the_original_project_writes_it(tmp_path):
    (tmp_path / "expr.csv").write_text("ID,1h,2h,10h\nx,5,4,2\ny,3,3,3\n")
    (tmp_path / "seq.csv").write_text("ID,Sequence\nx,ACGU\ny,ggcc\n")
    expression, sequences = read_table(tmp_path / "expr.csv", tmp_path / "seq.csv")
    assert list(expression.index) == ["x", "y"] and list(expression.columns) == [1.0, 2.0, 10.0]
    assert list(sequences) == ["ACGT", "GGCC"]


def test_table_source_with_named_columns(tmp_path):
    (tmp_path / "expr.csv").write_text("name,1H,2H\nx,5,4\n")
    (tmp_path / "seq.csv").write_text("Name,utr\nx,ACGT\n")
    expression, sequences = read_table(tmp_path / "expr.csv", tmp_path / "seq.csv", id_column="NAME",
                                       sequence_column="utr")
    assert list(expression.index) == ["x"] and list(sequences) == ["ACGT"]


def test_table_source_unknown_column_names_key(tmp_path):
    (tmp_path / "expr.csv").write_text("name,1h\nx,5\n")
    (tmp_path / "seq.csv").write_text("name,Sequence\nx,ACGT\n")
    with pytest.raises(InputError, match="expr.csv row 1: no .id. column.*data.id_column names another"):
        read_table(tmp_path / "expr.csv", tmp_path / "seq.csv")


@pytest.mark.real_data
def test_deeputr_a_minus_counts_equal_the_utrseq_example():
    table = DEEPUTR / "cnt_merge_SPE_0A.2.umi.txt"
    if not table.exists() or not (UTRSEQ / "reporter_seq.txt").exists():
        pytest.skip("deeputr / utrseq data not found")
    hours = [0, 1, 2, 3, 4, 5, 6, 7, 8, 10]
    raw = read_counts(table, UTRSEQ / "reporter_seq.txt", hours, require_sequences=False)
    example = read_counts(UTRSEQ / "reporter_counts.txt", UTRSEQ / "reporter_seq.txt", hours + [12])
    assert len(raw.reporters) == 12322 and "EMPTY" not in raw.reporters.index
    shared = example.reporters.index
    assert np.array_equal(raw.reporters.loc[shared].to_numpy(), example.reporters[hours].to_numpy())
    assert np.array_equal(raw.spikes.to_numpy(), example.spikes[hours].to_numpy())
    # the A+ table reads too, with its SPE_40xA_ prefix
    plus = read_counts(DEEPUTR / "cnt_merge_SAP_40A.2.umi.txt", UTRSEQ / "reporter_seq.txt", hours,
                       require_sequences=False)
    assert len(plus.reporters) == 12322 and not np.array_equal(plus.reporters.loc[shared].to_numpy(),
                                                              raw.reporters.loc[shared].to_numpy())
