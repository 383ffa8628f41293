"""A model folder from someone else (decaylm/models/artifact.py, docs/predict.md "Sharing a model
folder"): loading checks every file against model.json's sizes and sha256, never unpickles, stays
inside the folder (members: inside the folder that holds it), and runs a checkpoint's own Python only
when trusted at a pinned commit. Each malicious folder here is refused in one line, and nothing in it runs."""

from __future__ import annotations

import json
import os
import pickle
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from decaylm.cli import main
from decaylm.errors import InputError
from decaylm.models import kmer_ridge, load_model, pretrained
from decaylm.models.artifact import MODEL_FILE, check_files, file_checksums, main as upgrade
from decaylm.models.ensemble import write_ensemble, write_member_mean
from decaylm.models.registry import parse_model_spec
from tests.helpers.models import motif_split
from tests.helpers.paths import REPO


class WritesAFile:
    """Unpickled, it writes `marker`: what a pickle in a shared folder could do with any code."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return Path.write_text, (self.marker, "the pickle ran")


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> Path:
    """A models folder with a real KMER_RIDGE and an ensemble of it."""
    root = tmp_path_factory.mktemp("shared") / "models"
    kmer_ridge.train(motif_split(n=150), parse_model_spec("RIDGE", {"kind": "kmer_ridge", "k_max": 3, "cv_folds": 3}),
                     root / "RIDGE")
    write_ensemble(root / "ENS", parse_model_spec("ENS", {"kind": "ensemble", "members": ["RIDGE"]}), [root / "RIDGE"])
    return root


@pytest.fixture
def copy(models, tmp_path):
    """A fresh copy of the models folder, free to tamper with."""
    shutil.copytree(models, tmp_path / "models")
    return tmp_path / "models"


def edit_record(folder: Path, **changes) -> dict:
    record = {**json.loads((folder / MODEL_FILE).read_text()), **changes}
    (folder / MODEL_FILE).write_text(json.dumps(record))
    return record


def list_files(folder: Path, files: dict) -> None:
    """What an attacker does after changing a file: record its checksums, so only content checks are left."""
    edit_record(folder, files=files, checksums=file_checksums(folder, files.values()))


def refused(folder, *words, **kwargs) -> str:
    with pytest.raises(InputError) as error:
        load_model(folder, **kwargs)
    line = str(error.value)
    assert "\n" not in line, line
    for word in words:
        assert word in line, (word, line)
    return line


def test_the_folders_load_and_list_every_file_with_size_and_sha256(models):
    record = json.loads((models / "RIDGE" / MODEL_FILE).read_text())
    weights = models / "RIDGE" / kmer_ridge.WEIGHTS
    assert record["checksums"] == {kmer_ridge.WEIGHTS: {"size": weights.stat().st_size,
                                                        "sha256": record["checksums"][kmer_ridge.WEIGHTS]["sha256"]}}
    assert re.fullmatch(r"[0-9a-f]{64}", record["checksums"][kmer_ridge.WEIGHTS]["sha256"])
    assert not list(models.rglob("*.pkl")) and weights.read_bytes()[8:9] == b"{"  # a safetensors header, no pickle
    assert load_model(models / "ENS").predict(["ACGTGGGCC"]) == pytest.approx(
        load_model(models / "RIDGE").predict(["ACGTGGGCC"]))


@pytest.mark.parametrize("where", ["format_1", "listed", "renamed", "torch_zip"])
def test_a_pickle_is_refused_and_never_runs(copy, tmp_path, where):
    marker = tmp_path / "marker.txt"
    payload = pickle.dumps(WritesAFile(marker))
    pickle.loads(payload)  # the payload is real: unpickled, it writes the marker
    assert marker.read_text() == "the pickle ran"
    marker.unlink()
    folder = copy / "RIDGE"
    (folder / kmer_ridge.WEIGHTS).unlink()
    if where == "format_1":  # a folder of the old format: model.pkl, no checksums
        (folder / "model.pkl").write_bytes(payload)
        edit_record(folder, format=1, files={"weights": "model.pkl"}, checksums=None)
        words = ["format 1", "retrain it", "pickle"]
    elif where == "listed":  # the new format, listing the pickle with its correct checksum
        (folder / "model.pkl").write_bytes(payload)
        list_files(folder, {"weights": "model.pkl"})
        words = ["model.pkl", "is a pickle", "refused"]
    elif where == "renamed":  # the pickle under the weights' own name
        (folder / kmer_ridge.WEIGHTS).write_bytes(payload)
        list_files(folder, {"weights": kmer_ridge.WEIGHTS})
        words = [kmer_ridge.WEIGHTS, "is not a KMER_RIDGE weights file"]
    else:  # torch.save's zip around a pickle, under the weights' name
        torch.save(WritesAFile(marker), folder / kmer_ridge.WEIGHTS)
        list_files(folder, {"weights": kmer_ridge.WEIGHTS})
        words = [kmer_ridge.WEIGHTS, "is a pickle", "refused"]
    refused(folder, *words)
    refused(copy / "ENS", *words)  # as an ensemble's member too
    assert not marker.exists()


def test_decaylm_predict_refuses_a_pickle_in_one_line(copy, tmp_path, capsys):
    marker = tmp_path / "marker.txt"
    folder = copy / "RIDGE"
    (folder / "model.pkl").write_bytes(pickle.dumps(WritesAFile(marker)))
    edit_record(folder, format=1, files={"weights": "model.pkl"}, checksums=None)
    (tmp_path / "seqs.tsv").write_text("s1\tACGTACGTAC\n")
    with pytest.raises(SystemExit) as exit:
        main(["predict", str(folder), str(tmp_path / "seqs.tsv"), "-o", str(tmp_path / "out.tsv")])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("decaylm error:")]
    assert exit.value.code == 1 and len(lines) == 1 and "Traceback" not in err, err
    assert "format 1" in lines[0] and "retrain it" in lines[0], lines
    assert not marker.exists() and not (tmp_path / "out.tsv").exists()


def test_paths_that_leave_the_folder_are_refused(copy, tmp_path):
    outside = tmp_path / "outside"
    shutil.copytree(copy / "RIDGE", outside / "RIDGE")
    folder = copy / "RIDGE"
    sums = json.loads((folder / MODEL_FILE).read_text())["checksums"]
    escape = f"../../outside/RIDGE/{kmer_ridge.WEIGHTS}"
    cases = {escape: "leads outside", str(outside / "RIDGE" / kmer_ridge.WEIGHTS): "is not a path relative"}
    for path, words in cases.items():
        edit_record(folder, files={"weights": path}, checksums={path: sums[kmer_ridge.WEIGHTS]})
        refused(folder, "files.weights", repr(path), words)
    # a link inside the folder that leads out of it
    edit_record(folder, files={"weights": kmer_ridge.WEIGHTS}, checksums=sums)
    (folder / kmer_ridge.WEIGHTS).unlink()
    (folder / kmer_ridge.WEIGHTS).symlink_to(outside / "RIDGE" / kmer_ridge.WEIGHTS)
    refused(folder, "leads outside")


def test_members_outside_the_models_folder_are_refused(copy, tmp_path):
    shutil.copytree(copy / "RIDGE", tmp_path / "elsewhere" / "RIDGE")
    ensemble = copy / "ENS"
    for members, words in {("../../elsewhere/RIDGE",): "leads outside", ("/etc",): "is not a path relative",
                           ("..",): "leads outside", (".",): "is the model's own folder"}.items():
        edit_record(ensemble, members=list(members))
        refused(ensemble, "ENS/model.json: members", *words)
    shutil.copytree(ensemble, copy / "ENS2")
    edit_record(ensemble, members=["../ENS2"])
    edit_record(copy / "ENS2", members=["../ENS"])
    refused(ensemble, "a member of itself")
    # writing one is refused the same way, before anything is written
    spec = parse_model_spec("BAD", {"kind": "ensemble", "members": ["RIDGE"]})
    with pytest.raises(InputError, match="leads outside"):
        write_member_mean(copy / "BAD", spec, [tmp_path / "elsewhere" / "RIDGE"], "models.BAD.members")
    assert not (copy / "BAD" / MODEL_FILE).exists()


def test_a_changed_missing_or_unlisted_file_is_named(copy):
    weights = copy / "RIDGE" / kmer_ridge.WEIGHTS
    original = weights.read_bytes()
    changed = bytearray(original)
    changed[-3] ^= 0x01  # one bit of one weight
    weights.write_bytes(bytes(changed))
    line = refused(copy / "RIDGE", str(weights), "sha256")
    assert refused(copy / "ENS", str(weights), "sha256") == line  # the ensemble names its member's file
    weights.write_bytes(original[:-8])
    refused(copy / "RIDGE", str(weights), f"has {len(original) - 8} bytes where model.json lists {len(original)}")
    weights.unlink()
    refused(copy / "RIDGE", str(weights), "is missing")


def test_a_file_added_to_a_listed_folder_is_refused(tmp_path):
    """An encoder or tokenizer folder holds only the files listed: an added pytorch_model.bin or .py
    would be read by transformers."""
    folder = tmp_path / "model"
    (folder / "encoder").mkdir(parents=True)
    (folder / "encoder" / "config.json").write_text("{}")
    record = {"files": {"weights": "encoder"}, "checksums": file_checksums(folder, ["encoder"])}
    check_files(folder, record)
    (folder / "encoder" / "pytorch_model.bin").write_bytes(b"anything")
    with pytest.raises(InputError, match=r"encoder/pytorch_model\.bin: is not listed in model\.json"):
        check_files(folder, record)


def test_remote_code_needs_trust_and_a_pinned_commit(copy, tmp_path):
    marker = tmp_path / "marker.txt"
    checkpoint = tmp_path / "checkpoint"
    checkpoint.mkdir()
    (checkpoint / "evil.py").write_text(f"open({str(marker)!r}, 'w').write('the code ran')\n")
    (checkpoint / "config.json").write_text(json.dumps({"model_type": "bert", "auto_map": {"AutoModel": "evil.Model",
                                                                                         "AutoConfig": "evil.Config"}}))
    with pytest.raises(InputError, match=r"^models\.DNABERT2\.trust_remote_code: .* ships Python code of its own"):
        pretrained.load_pretrained(str(checkpoint))
    with pytest.raises(InputError, match=r"^models\.DNABERT2\.revision: 'main' is not a commit hash"):
        pretrained.load_pretrained("zhihan1996/DNABERT-2-117M", revision="main", trust_remote_code=True)
    assert not marker.exists()
    # the default config trusts DNABERT-2's code at one commit
    entry = yaml.safe_load((REPO / "config.yaml").read_text())["models"]["DNABERT2"]
    spec = parse_model_spec("DNABERT2", entry).architecture
    assert spec.trust_remote_code and pretrained.is_commit(spec.revision)
    assert not parse_model_spec("P", {"kind": "pretrained"}).architecture.trust_remote_code  # off by default
    # a folder trained trusting its code is refused by a loader that does not trust it
    record = json.loads((copy / "RIDGE" / MODEL_FILE).read_text())
    edit_record(copy / "RIDGE", kind="pretrained",
                spec={**record["spec"], "architecture": {"trust_remote_code": True}})
    refused(copy / "RIDGE", "runs Python code shipped in the folder", trust_remote_code=False)


def test_an_old_folder_without_a_pickle_upgrades(copy):
    edit_record(copy / "ENS", format=1, checksums=None)
    line = refused(copy / "ENS", "format 1", "python -m decaylm.models.artifact")
    assert str(copy / "ENS") in line
    done = subprocess.run([sys.executable, "-m", "decaylm.models.artifact", str(copy)], capture_output=True,
                          text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120)
    assert done.returncode == 0, done.stderr
    assert load_model(copy / "ENS").members[0].name == "RIDGE"
    edit_record(copy / "RIDGE", format=1)
    assert upgrade([str(copy)]) == 1  # a KMER_RIDGE of format 1 holds a pickle: retrain it


def test_no_code_in_the_package_unpickles():
    """Static: no pickle.load, and no torch.load without weights_only=True, anywhere in decaylm/."""
    found = []
    for path in (REPO / "decaylm").rglob("*.py"):
        text = path.read_text()
        found += [f"{path}: {m.group(0)}" for m in re.finditer(r"pickle\.loads?\(|weights_only=False|joblib\.load", text)]
        found += [f"{path}: torch.load without weights_only=True" for m in re.finditer(r"torch\.load\(([^)]*)\)", text)
                  if "weights_only=True" not in m.group(1)]
    assert found == []
