"""Faults, determinism and provenance of whole pipeline runs.

- A training job killed with SIGKILL mid-epoch resumes from its last checkpoint on the next
  `snakemake` and ends with byte-identical predictions and metrics (CPU, same seed).
- A results folder that cannot be written, or a disk that is full, stops with one line.
- Two runs of the tiny pipeline from scratch give byte-identical tables and tokenizers.
- Every result folder records what produced it: resolved config, versions, git commit, seeds.

The unbroken run is the session's `tiny_run`; the second run from scratch is the one whose CNN
job is killed and resumed (`resumed_run`, tests/helpers/pipeline_runs.py): the suite runs the tiny pipeline
twice (it ran it three times, and a fourth time up to the CNN), and both runs start in the
background when the session begins.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from importlib import metadata

import pytest

import decaylm
import yaml

from decaylm.provenance import PACKAGES
from tests.helpers.configs import ConfigRefused, minimal_config, workflow_config, write_config
from tests.helpers.paths import REPO, TINY_CONFIG
from tests.helpers.snakemake import run_snakemake

TRACEBACK = "Traceback (most recent call last)"


# ---------------------------------------------------------------------------------------------
# faults

@pytest.mark.slow
def test_killed_training_job_resumes_to_the_same_result(resumed_run, tiny_run):
    """kill -9 of the CNN job mid-epoch, then snakemake again: it resumes and matches an unbroken run."""
    results, killed = resumed_run["results"], resumed_run["killed"]
    assert killed["code"] != 0
    assert killed["epoch"] < resumed_run["epochs"]
    assert not killed["predictions_left"]  # the killed job left no output
    log = (results / "logs" / "train" / "CNN.log").read_text()
    assert f"resumed from {resumed_run['checkpoint']} after epoch {killed['epoch']}" in log
    assert not list(results.rglob("*.tmp"))
    unbroken = tiny_run / "models" / "CNN"
    for name in ("predictions.tsv", "metrics.json"):
        assert (results / "models" / "CNN" / name).read_bytes() == (unbroken / name).read_bytes(), name


def _one_line(output: str, *words: str) -> list[str]:
    return [line for line in output.splitlines() if all(word in line for word in words)]


def test_read_only_results_folder_is_refused_at_parse_time(tmp_path):
    """Checked in-process with the workflow's own config code (tests/test_bad_input.py runs a
    parse-time refusal through Snakemake)."""
    folder = tmp_path / "read_only"
    folder.mkdir()
    # root writes through permission bits; the immutable attribute stops root too
    lock = ["chattr", "+i", str(folder)] if os.geteuid() == 0 else None
    if lock:
        if shutil.which("chattr") is None or subprocess.run(lock, capture_output=True, check=False).returncode != 0:
            pytest.skip("cannot make a folder read-only for root here (no chattr +i)")
    else:
        folder.chmod(0o555)
    try:
        with pytest.raises(ConfigRefused) as refused:
            workflow_config(minimal_config(), {"results": str(folder / "results")})
    finally:
        if lock:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        folder.chmod(0o755)
    line = str(refused.value)
    assert "\n" not in line and TRACEBACK not in line
    assert _one_line(line, "config error: results:", f"cannot write under '{folder}'", "choose a writable folder"), line
    assert list(folder.iterdir()) == []


@pytest.mark.slow
def test_full_disk_stops_with_one_line(tmp_path):
    """A results folder on a full file system (a small tmpfs, filled): one line, no traceback, no partial file."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(disk)],
                                           capture_output=True, check=False).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        try:
            with open(disk / "filler", "wb", buffering=0) as filler:  # fill it up
                while True:
                    filler.write(b"\0" * 4096)
        except OSError:
            pass
        results = disk / "results"
        done = run_snakemake(str(results / "data" / "expression.tsv"), results=results, cores=1, check=False,
                             configfiles=[write_config(tmp_path / "minimal.yaml", minimal_config())], timeout=1800)
        code, output = done.returncode, done.stdout + done.stderr
        files = [p.relative_to(results).as_posix() for p in results.rglob("*") if p.is_file()]
    finally:
        subprocess.run(["umount", str(disk)], check=True)
    assert code != 0 and TRACEBACK not in output, output
    assert _one_line(output, "decaylm error: ", str(results / "data" / "raw"), "No space left on device",
                     "free some space"), output
    assert [f for f in files if not f.startswith(("logs/", "benchmarks/"))] == [], files


# ---------------------------------------------------------------------------------------------
# determinism

@pytest.mark.slow
def test_two_runs_from_scratch_are_byte_identical(tiny_run, resumed_run):
    """tiny_run and the second run from scratch (its CNN killed and resumed) write the same bytes."""
    a, b = tiny_run, resumed_run["results"]
    assert (a / "comparison.tsv").read_bytes() == (b / "comparison.tsv").read_bytes()
    tokenizers = sorted(p.relative_to(a) for p in a.glob("tokenizers/*/tokenizer.json"))
    configured = yaml.safe_load((REPO / "config.yaml").read_text()).get("tokenizers") or {}
    tiny = yaml.safe_load(TINY_CONFIG.read_text()).get("tokenizers") or {}
    enabled = {name for name in {**configured, **tiny} if tiny.get(name, configured.get(name)) is not None}
    assert {p.parent.name for p in tokenizers} == enabled
    compared = ["data/expression.tsv", "data/target.tsv", "data/split.tsv", "comparison.tsv", *tokenizers,
                *(p.relative_to(a) for p in a.glob("models/*/predictions.tsv"))]
    for path in compared:
        assert (a / path).read_bytes() == (b / path).read_bytes(), path


# ---------------------------------------------------------------------------------------------
# provenance

def _check_record(record: dict) -> None:
    assert record["versions"] == {name: _version(name) for name in PACKAGES}
    commit = record["git_commit"]
    assert re.fullmatch(r"[0-9a-f]{40}(-dirty)?", commit), commit
    known = subprocess.run(["git", "cat-file", "-e", commit.removesuffix("-dirty") + "^{commit}"], cwd=REPO, check=False)
    assert known.returncode == 0, f"{commit} is not a commit of this repository"
    assert record["python"] and record["platform"]


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return decaylm.__version__ if name == "decaylm" else "not installed"


@pytest.mark.slow
def test_results_record_config_versions_commit_and_seeds(tiny_run):
    results = tiny_run
    record = json.loads((results / "provenance.json").read_text())
    _check_record(record)
    settings = record["settings"]  # the resolved config: tiny.yaml over config.yaml, schema defaults filled
    tiny = yaml.safe_load(TINY_CONFIG.read_text())
    assert settings["results"] == str(results)
    assert tiny["data"]["simulate"].items() <= settings["data"]["simulate"].items()
    assert settings["models"]["CNN"] == {**yaml.safe_load((REPO / "config.yaml").read_text())["models"]["CNN"],
                                         **tiny["models"]["CNN"]}
    assert record["seed"] == settings["seed"]
    assert {"seed"} <= set(settings["split"]) and {"seed"} <= set(settings["data"]["simulate"])

    runs = sorted(results.glob("models/*/run.json"))
    assert {p.parent.name for p in runs} == set(settings["models"])
    for path in runs:
        run = json.loads(path.read_text())
        _check_record(run)
        name = path.parent.name
        assert run["status"] in ("ok", "not_run")
        assert run["settings"]["model"] == name and run["settings"]["spec"] == settings["models"][name]
        assert run["seed"] == settings["models"][name].get("seed", settings["seed"])


@pytest.mark.slow
def test_tokenizer_folders_record_their_seed(tiny_run):
    metas = sorted(tiny_run.glob("tokenizers/*/meta.json"))
    settings = json.loads((tiny_run / "provenance.json").read_text())["settings"]
    assert {p.parent.name for p in metas} == set(settings["tokenizers"])
    for path in metas:
        meta = json.loads(path.read_text())
        assert meta["seed"] == settings["tokenizers"][path.parent.name].get("seed", settings["seed"])
        assert meta["name"] == path.parent.name and "params" in meta


@pytest.mark.slow
def test_tokenizer_folders_record_versions_and_commit(tiny_run):
    metas = sorted(tiny_run.glob("tokenizers/*/meta.json"))
    assert metas
    for path in metas:
        _check_record(json.loads(path.read_text()))
