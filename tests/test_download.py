"""The download step (decaylm/download.py): a file is written only when its sha256 is the expected one,
and only whole; a refusal or an unreachable source is one line that says what to do."""

import errno
import hashlib
from pathlib import Path

import pytest

from decaylm.download import UTRSEQ_SHA256, fetch, utrseq_url
from decaylm.errors import InputError

PAYLOAD = b"id\tAR01\tAR02\nR1\t5\t3\n"
PAYLOAD_SHA256 = "359bd14805f11719cd4da9c61f11bf4f8b999281d490bf4c1f55d835fba995c7"  # `sha256sum` of PAYLOAD


@pytest.fixture
def source(tmp_path) -> Path:
    """The file to download, served from a file:// URL."""
    path = tmp_path / "remote" / "reporter_counts.txt"
    path.parent.mkdir()
    path.write_bytes(PAYLOAD)
    return path


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_a_file_with_the_expected_checksum_is_written_whole(source, tmp_path):
    destination = tmp_path / "data" / "reporter_counts.txt"
    fetch(source.as_uri(), PAYLOAD_SHA256, destination)
    assert destination.read_bytes() == PAYLOAD
    assert files_in(destination.parent) == ["reporter_counts.txt"]  # no temporary file left beside it


@pytest.mark.parametrize("expected", ["0" * 64, PAYLOAD_SHA256[:-1] + "8"], ids=["other", "one_digit_off"])
def test_another_checksum_is_refused_in_one_line_and_keeps_the_old_copy(source, tmp_path, expected):
    destination = tmp_path / "data" / "reporter_counts.txt"
    destination.parent.mkdir()
    destination.write_text("the copy from before\n")
    with pytest.raises(InputError) as refused:
        fetch(source.as_uri(), expected, destination)
    message = str(refused.value)
    assert "\n" not in message and message.startswith(source.as_uri() + ": ")
    assert f"sha256 {PAYLOAD_SHA256} differs from the expected {expected}" in message
    assert "fetch it again or check the source" in message
    assert destination.read_text() == "the copy from before\n"
    assert files_in(destination.parent) == ["reporter_counts.txt"]


def test_a_write_that_fails_midway_leaves_no_file(source, tmp_path, monkeypatch):
    """The disk fills up after half the bytes: the error names the destination, and neither the
    destination nor a temporary file is left."""
    destination = tmp_path / "data" / "reporter_counts.txt"
    real_write = Path.write_bytes

    def half_then_full(path, data):
        real_write(path, data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", half_then_full)
    with pytest.raises(OSError) as full:
        fetch(source.as_uri(), PAYLOAD_SHA256, destination)
    assert full.value.errno == errno.ENOSPC and full.value.filename == str(destination)
    assert files_in(destination.parent) == []


def test_a_missing_source_says_how_to_supply_the_file(tmp_path):
    destination = tmp_path / "reporter_seq.txt"
    with pytest.raises(InputError) as error:
        fetch((tmp_path / "nowhere" / "reporter_seq.txt").as_uri(), PAYLOAD_SHA256, destination)
    message = str(error.value)
    assert "cannot download" in message and f"copy the file to {destination} yourself" in message
    assert "\n" not in message and not destination.exists()


def test_unreachable_url_says_how_to_supply_the_file(tmp_path):
    destination = tmp_path / "reporter_seq.txt"
    with pytest.raises(InputError) as error:
        fetch("http://127.0.0.1:9/reporter_seq.txt", "0" * 64, destination, timeout=5)
    message = str(error.value)
    assert "cannot download" in message and str(destination) in message and "\n" not in message
    assert not destination.exists()


def test_published_checksums_match_the_shared_copy(real_data):
    for name, sha256 in UTRSEQ_SHA256.items():
        assert utrseq_url(name).endswith("/example/" + name)
        assert hashlib.sha256((real_data / name).read_bytes()).hexdigest() == sha256


def test_pipeline_downloads_missing_utrseq_files(real_data, tmp_path):
    """data.download with a mirror (here a local folder) fetches both files, checks them, and runs."""
    from tests.helpers.snakemake import TINY, run_snakemake

    config = tmp_path / "download.yaml"
    folder = tmp_path / "utrseq"
    config.write_text(f"data: {{source: utrseq, path: {folder}, download: true, download_url: {real_data.as_uri()}}}\n")
    results = tmp_path / "results"
    run_snakemake(str(results / "data" / "expression.tsv"), results=results, configfiles=(TINY, str(config)))
    for name, sha256 in UTRSEQ_SHA256.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == sha256
    assert (results / "data" / "expression.tsv").exists()
