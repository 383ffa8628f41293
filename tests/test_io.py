"""decaylm.io: an output appears whole under its final name or not at all; a killed writer's temporary
files are cleared by the next one."""

from __future__ import annotations

import errno
import json

import pandas as pd
import pytest

from decaylm.io import atomic_path, read_json, read_tsv, remove_stale_temporaries, write_json, write_tsv


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "out" / "table.tsv"
    write_tsv(pd.DataFrame({"id": ["a"], "y": [1.0]}), path)
    old = path.read_bytes()
    with pytest.raises(OSError) as full:
        with atomic_path(path) as tmp:
            tmp.write_text("half a ta")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert full.value.filename == str(path)  # the error names the output, not the temporary file
    assert path.read_bytes() == old and sorted(p.name for p in path.parent.iterdir()) == ["table.tsv"]


def test_writes_create_folders_and_read_back(tmp_path):
    frame = pd.DataFrame({"id": ["a", "b"], "y": [1 / 3, 2.0]})
    write_tsv(frame, tmp_path / "a" / "b.tsv", float_format="%.3g")
    assert (tmp_path / "a" / "b.tsv").read_text() == "id\ty\na\t0.333\nb\t2\n"
    assert read_tsv(tmp_path / "a" / "b.tsv")["id"].tolist() == ["a", "b"]
    write_json({"b": 1, "a": [1, 2]}, tmp_path / "c" / "d.json")
    assert read_json(tmp_path / "c" / "d.json") == {"a": [1, 2], "b": 1}
    assert list(json.loads((tmp_path / "c" / "d.json").read_text())) == ["a", "b"]  # sorted keys: stable bytes


def test_stale_temporaries_of_one_output_are_removed(tmp_path):
    path = tmp_path / "checkpoint.pt"
    stale = [tmp_path / ".checkpoint.pt.abc123.tmp", tmp_path / ".checkpoint.pt.x.tmp"]
    kept = [tmp_path / ".other.pt.abc.tmp", path]
    for file in stale + kept:
        file.write_text("x")
    remove_stale_temporaries(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in kept)
