"""The download step: checksum verified, nothing written on failure, one clear line offline."""

import hashlib

import pytest

from decaylm.download import UTRSEQ_SHA256, fetch, utrseq_url
from decaylm.errors import InputError


def test_fetch_checks_the_checksum_and_writes_atomically(tmp_path):
    source = tmp_path / "remote.txt"
    source.write_text("id\tAR01\nr1\t5\n")
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    destination = tmp_path / "data" / "reporter_counts.txt"
    fetch(source.as_uri(), digest, destination)
    assert destination.read_bytes() == source.read_bytes()
    assert list(destination.parent.iterdir()) == [destination]  # no temporary file left beside it


def test_a_wrong_checksum_writes_nothing(tmp_path):
    source = tmp_path / "remote.txt"
    source.write_text("tampered\n")
    destination = tmp_path / "data" / "reporter_counts.txt"
    with pytest.raises(InputError, match="sha256"):
        fetch(source.as_uri(), "0" * 64, destination)
    assert not destination.exists() and not list(destination.parent.glob("*"))


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
    from tests.conftest import run_snakemake

    config = tmp_path / "download.yaml"
    folder = tmp_path / "utrseq"
    config.write_text(f"data: {{source: utrseq, path: {folder}, download: true, download_url: {real_data.as_uri()}}}\n")
    results = tmp_path / "results"
    run_snakemake(str(results / "data" / "expression.tsv"), results=results, configfiles=("config/tiny.yaml", str(config)))
    for name, sha256 in UTRSEQ_SHA256.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == sha256
    assert (results / "data" / "expression.tsv").exists()
