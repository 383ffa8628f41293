import pandas as pd
import pytest

from decaylm.errors import InputError
from decaylm.sources import parse_hour, read_reporter_sequences, read_table, read_utrseq


def test_reads_utrseq_and_separates_spikes(tiny_utrseq):
    raw = read_utrseq(tiny_utrseq, [0, 1, 2])
    assert list(raw.reporters.columns) == [0, 1, 2]
    assert len(raw.reporters) == 6 and len(raw.spikes) == 2
    assert raw.spikes.index.str.startswith("SPIKE_").all()
    assert list(raw.sequences.index) == list(raw.reporters.index)


def test_rna_and_lower_case_sequences_are_normalized(tmp_path):
    path = tmp_path / "seq.txt"
    path.write_text("a\tacgu\nb\tACGUN\n")
    assert list(read_reporter_sequences(path)) == ["ACGT", "ACGTN"]


@pytest.mark.parametrize("content, words", [
    ("a\tACGR\n", ["row 1", "'R'"]),
    ("a\tACG\na\tACG\n", ["row 2", "duplicate id 'a'"]),
    ("a\t\n", ["row 1", "empty sequence"]),
    ("a ACGT\n", ["2 tab-separated columns"]),
    ("", ["empty"]),
    ("id\tsequence\na\tACGT\n", ["row 1", "letter 'S'"]),  # the layout has no header: one is data
])
def test_bad_sequence_files_name_file_and_row(tmp_path, content, words):
    path = tmp_path / "seq.txt"
    path.write_text(content)
    with pytest.raises(InputError) as error:
        read_reporter_sequences(path)
    assert str(path) in str(error.value)
    for word in words:
        assert word in str(error.value)
    assert "\n" not in str(error.value)


def test_hours_must_match_count_columns(tiny_utrseq):
    with pytest.raises(InputError, match="3 time columns but data.hours has 4"):
        read_utrseq(tiny_utrseq, [0, 1, 2, 3])


def test_counts_without_sequence_are_refused(tiny_utrseq):
    lines = (tiny_utrseq / "reporter_seq.txt").read_text().splitlines()
    (tiny_utrseq / "reporter_seq.txt").write_text("\n".join(lines[1:]) + "\n")
    with pytest.raises(InputError, match="1 reporter\\(s\\) have no sequence.*'R0'"):
        read_utrseq(tiny_utrseq, [0, 1, 2])


def test_negative_count_names_row_and_column(tiny_utrseq):
    path = tiny_utrseq / "reporter_counts.txt"
    table = pd.read_csv(path, sep="\t")
    table.loc[2, "AR02"] = -3
    table.to_csv(path, sep="\t", index=False)
    with pytest.raises(InputError, match="row 4.*AR02.*'-3'"):
        read_utrseq(tiny_utrseq, [0, 1, 2])


def test_missing_spikes_are_refused(tiny_utrseq):
    path = tiny_utrseq / "reporter_counts.txt"
    table = pd.read_csv(path, sep="\t")
    table[~table["id"].str.startswith("SPIKE_")].to_csv(path, sep="\t", index=False)
    with pytest.raises(InputError, match="no spike-in rows"):
        read_utrseq(tiny_utrseq, [0, 1, 2])


def test_table_source_reads_hour_columns(tmp_path):
    (tmp_path / "expr.csv").write_text("id,1h,2h,6h\na,5,4,2\nb,3,3,3\n")
    (tmp_path / "seq.csv").write_text("id,Sequence\na,ACGU\nb,ggcc\n")
    expression, sequences = read_table(tmp_path / "expr.csv", tmp_path / "seq.csv")
    assert list(expression.columns) == [1.0, 2.0, 6.0]
    assert list(sequences) == ["ACGT", "GGCC"]


def test_parse_hour():
    assert parse_hour("2h") == 2.0 and parse_hour("2.5h") == 2.5 and parse_hour("AR01") is None


def test_real_data_reads_completely(real_data):
    raw = read_utrseq(real_data, [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12])
    assert len(raw.reporters) == 12322 and len(raw.spikes) == 5
    assert raw.sequences.str.len().eq(110).all()
