"""decaylm.sequences: normalization, one-hot, and the sequence-file reader (FASTA or TSV, with or
without a header) with its one-line errors."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from decaylm.errors import InputError
from decaylm.sequences import (
    ALPHABET,
    BASES,
    first_bad_letter,
    normalize_sequence,
    one_hot,
    one_hot_batch,
    read_sequences,
)

EXPECTED = pd.DataFrame({"id": ["a", "b"], "sequence": ["ACGTN", "GGCCTTAA"]})


def test_normalization_turns_rna_and_lower_case_into_dna():
    assert normalize_sequence(" acgu\n") == "ACGT"
    assert normalize_sequence("ACGTN") == "ACGTN"
    assert first_bad_letter("ACGTN") is None and first_bad_letter("ACRTX") == "R"
    assert BASES == "ACGT" and ALPHABET == "ACGTN"


def test_one_hot_is_acgt_rows_with_n_and_padding_all_zero():
    x = one_hot("ACGTN", length=7)
    assert x.shape == (4, 7) and x.dtype == np.float32
    np.testing.assert_array_equal(x[:, :4], np.eye(4, dtype=np.float32))
    assert not x[:, 4:].any()  # N, then two columns of padding
    assert one_hot("ACGTACGT", length=3).shape == (4, 3)  # cut to the length
    assert one_hot("GT").argmax(axis=0).tolist() == [2, 3]


def test_one_hot_batch_stacks_one_hot():
    batch = one_hot_batch(["ACGTN", "TTGCA"])
    assert batch.shape == (2, 4, 5) and batch.dtype == np.float32
    np.testing.assert_array_equal(batch[1], one_hot("TTGCA"))


@pytest.mark.parametrize("text", [
    ">a some description\nacg\nTN\n\n>b\nGGCC UUAA\n",  # FASTA: wrapped, spaced, RNA and lower case
    "a\tacgtn\nb\tGGCCUUAA\n",  # TSV without a header
    "id\tsequence\na\tACGTN\nb\tGGCCTTAA\n",  # TSV with a header
    "length\tseq\tname\n5\tACGTN\ta\n8\tGGCCTTAA\tb\n",  # a header that names the columns picks them
    "gene\tutr\na\tACGTN\nb\tGGCCTTAA\n",  # a second field that is no sequence: a header
    "\n a \t ACGTN \r\nb\tGGCCTTAA\r\n",  # blank lines, blanks around fields, Windows line ends
])
def test_fasta_and_tsv_read_the_same(tmp_path, text):
    path = tmp_path / "seqs.txt"
    path.write_text(text)
    pd.testing.assert_frame_equal(read_sequences(path), EXPECTED)


def test_gzipped_files_are_read(tmp_path):
    path = tmp_path / "seqs.fa.gz"
    with gzip.open(path, "wt") as handle:
        handle.write(">a\nACGTN\n>b\nGGCCTTAA\n")
    pd.testing.assert_frame_equal(read_sequences(path), EXPECTED)


def test_a_stray_letter_is_reported_not_taken_for_a_header(tmp_path):
    path = tmp_path / "seqs.tsv"
    path.write_text("a\tACGTACGTXACGT\n")
    with pytest.raises(InputError, match=r"line 1: sequence 'a' has the letter 'X' at position 9"):
        read_sequences(path)


BAD_FILES = {
    "empty": ("\n\n", ["holds no sequences", "give FASTA"]),
    "neither": ("this is not a sequence file\nnor is this\n", ["line 1", "neither a FASTA record"]),
    "no id after >": (">\nACGT\n", ["line 1", "'>' line without an id", "right after '>'"]),
    "bad letter": (">ok\nACGT\n>bad1\nacgtacgtxacgt\n", ["line 3", "'bad1'", "'x'", "position 9", "A, C, G, T, U"]),
    "duplicate id": ("s1\tACGTACGT\ns2\tACGTAAAA\ns1\tACGTCCCC\n", ["line 3", "duplicate id 's1'",
                                                                    "first on line 1", "its own id"]),
    "header only": ("id\tsequence\n", ["holds a header and no sequences"]),
    "empty sequence": (">a\n>b\nACGT\n", ["line 1", "sequence 'a' is empty", "drop the record"]),
    "no id": ("a\tACGT\n\tACGT\n", ["line 2", "has no id", "first column"]),
    "too few columns": ("name\tlength\tseq\na\t4\tACGT\nb\t4\n", ["line 3", "has 2 column(s)"]),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_bad_files_stop_with_one_line_naming_file_and_line(tmp_path, case):
    text, words = BAD_FILES[case]
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(InputError) as error:
        read_sequences(path)
    message = str(error.value)
    assert message.startswith(str(path)) and "\n" not in message
    for word in words:
        assert word in message, (word, message)


def test_missing_and_binary_files_are_refused(tmp_path):
    with pytest.raises(InputError, match="nowhere.fa: file not found"):
        read_sequences(tmp_path / "nowhere.fa")
    binary = tmp_path / "binary.fa"
    binary.write_bytes(b"\xff\xfe\x00\x81" * 10)
    with pytest.raises(InputError, match="binary.fa: is not a text file"):
        read_sequences(binary)


@pytest.mark.real_data
def test_reads_the_utrseq_files(real_data):
    reporters = read_sequences(real_data / "reporter_seq.txt")  # id<TAB>110-nt reporter, no header
    assert len(reporters) == 12322 and reporters["id"].iloc[0] == "S0_M_T1006"
    assert (reporters["sequence"].str.len() == 110).all()
    genes = read_sequences(real_data / "test_seq.txt")  # gene<TAB>full-length 3'UTR, no header
    assert len(genes) == 31 and genes["id"].iloc[0] == "axin2"
    assert genes["sequence"].str.len().max() == 2466
