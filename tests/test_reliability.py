"""Faults, determinism and provenance of whole pipeline runs.

- A training job killed with SIGKILL mid-epoch resumes from its last checkpoint on the next
  `snakemake` and ends with byte-identical predictions and metrics (CPU, same seed).
- A results folder that cannot be written, or a disk that is full, stops with one line.
- Two runs of the tiny pipeline from scratch give byte-identical tables and tokenizers.
- Every result folder records what produced it: resolved config, versions, git commit, seeds.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import pytest

import decaylm
import torch
import yaml

from decaylm.provenance import PACKAGES
from decaylm.training import CHECKPOINT
from tests.conftest import REPO

SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
TINY = str(REPO / "config" / "tiny.yaml")
TRACEBACK = "Traceback (most recent call last)"


def snakemake(results: Path, *targets: str, configfiles=(TINY,), dry_run=False, log: Path | None = None,
              wait=True):
    """Snakemake from the repository (default profile) on `configfiles`, writing under `results`.

    One core each: the two runs of the tiny pipeline share the machine's two, and every run
    trains with the same number of threads. --nolock: concurrent Snakemakes in one working
    directory race on .snakemake/locks (each run here writes only under its own results).
    """
    command = [SNAKEMAKE, *targets, "--cores", "1", "--nolock", *(["--dry-run"] if dry_run else []),
               "--configfile", *map(str, configfiles), "--config", f"results={results}"]
    if not wait:
        with open(log, "w") as out:  # the child keeps its own copy of the file
            return subprocess.Popen(command, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, text=True,
                                    start_new_session=True)  # its own process group: _stop ends its jobs too
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=1800, check=False)
    return done.returncode, done.stdout + done.stderr


def _stop(job: subprocess.Popen) -> None:
    """End a Snakemake started here, with the jobs it started (its process group), if still running."""
    if job.poll() is None:
        os.killpg(job.pid, signal.SIGKILL)
        job.wait()


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory):
    """Two unbroken runs of the tiny pipeline from scratch, in different folders."""
    root = tmp_path_factory.mktemp("tiny")
    runs = [root / "a", root / "b"]
    jobs = [snakemake(results, log=root / f"{results.name}.log", wait=False) for results in runs]
    try:
        for results, job in zip(runs, jobs):
            assert job.wait(timeout=1800) == 0, (root / f"{results.name}.log").read_text()
    finally:
        for job in jobs:
            _stop(job)
    return runs


# ---------------------------------------------------------------------------------------------
# faults

def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _training_process(snakemake_pid: int) -> int | None:
    """The python process, under our snakemake, that runs scripts/train_model.py."""
    for pid in _descendants(snakemake_pid):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(part.endswith(b"train_model.py") for part in command) and b"python" in command[0]:
            return pid
    return None


@pytest.mark.slow
def test_killed_training_job_resumes_to_the_same_result(tiny_runs, tmp_path):
    """kill -9 of the CNN job mid-epoch, then snakemake again: it resumes and matches an unbroken run."""
    spec = yaml.safe_load(Path(TINY).read_text())["models"]["CNN"]
    assert spec.get("epochs", 20) >= 2, "the tiny CNN needs two epochs or more to be killed mid-run"
    results = tmp_path / "killed"
    metrics = results / "models" / "CNN" / "metrics.json"
    checkpoint = results / "models" / "CNN" / CHECKPOINT
    job = snakemake(results, str(metrics), log=tmp_path / "first.log", wait=False)
    try:
        deadline = time.monotonic() + 900
        while not checkpoint.exists():
            assert job.poll() is None, (tmp_path / "first.log").read_text()
            assert time.monotonic() < deadline, "no checkpoint after 15 minutes"
            time.sleep(0.02)
        trainer = _training_process(job.pid)
        assert trainer is not None, "the training process was not found"
        os.kill(trainer, signal.SIGKILL)  # mid-epoch: the first epoch's checkpoint has just been written
        assert job.wait(timeout=300) != 0
    finally:
        _stop(job)
    saved_epoch = torch.load(checkpoint, weights_only=False)["state"]["epoch"]
    assert saved_epoch < spec["epochs"]
    assert not (results / "models" / "CNN" / "predictions.tsv").exists()  # the killed job left no output

    code, output = snakemake(results, str(metrics))
    assert code == 0, output
    log = (results / "logs" / "train" / "CNN.log").read_text()
    assert f"resumed from {checkpoint} after epoch {saved_epoch}" in log
    assert not list(results.rglob("*.tmp"))
    unbroken = tiny_runs[0] / "models" / "CNN"
    for name in ("predictions.tsv", "metrics.json"):
        assert (results / "models" / "CNN" / name).read_bytes() == (unbroken / name).read_bytes(), name


def _minimal_config(tmp_path: Path) -> Path:
    default = yaml.safe_load((REPO / "config.yaml").read_text())
    off = lambda section: {name: None for name in default.get(section) or {}}
    path = tmp_path / "minimal.yaml"
    path.write_text(yaml.safe_dump({"data": {"simulate": {"n_reporters": 200, "seed": 3}},
                                    "tokenizers": off("tokenizers"), "pretraining": off("pretraining"),
                                    "models": {**off("models"), "KMER_RIDGE": {"kind": "kmer_ridge", "k_max": 3}}}))
    return path


def _one_line(output: str, *words: str) -> list[str]:
    return [line for line in output.splitlines() if all(word in line for word in words)]


@pytest.mark.slow
def test_read_only_results_folder_is_refused_at_parse_time(tmp_path):
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
        code, output = snakemake(folder / "results", configfiles=[_minimal_config(tmp_path)], dry_run=True)
    finally:
        if lock:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        folder.chmod(0o755)
    assert code != 0 and TRACEBACK not in output, output
    assert _one_line(output, "config error: results:", f"cannot write under '{folder}'", "choose a writable folder"), output
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
        code, output = snakemake(results, str(results / "data" / "expression.tsv"), configfiles=[_minimal_config(tmp_path)])
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
def test_two_runs_from_scratch_are_byte_identical(tiny_runs):
    a, b = tiny_runs
    assert (a / "comparison.tsv").read_bytes() == (b / "comparison.tsv").read_bytes()
    tokenizers = sorted(p.relative_to(a) for p in a.glob("tokenizers/*/tokenizer.json"))
    configured = yaml.safe_load((REPO / "config.yaml").read_text()).get("tokenizers") or {}
    tiny = yaml.safe_load(Path(TINY).read_text()).get("tokenizers") or {}
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
def test_results_record_config_versions_commit_and_seeds(tiny_runs):
    results = tiny_runs[0]
    record = json.loads((results / "provenance.json").read_text())
    _check_record(record)
    settings = record["settings"]  # the resolved config: tiny.yaml over config.yaml, schema defaults filled
    tiny = yaml.safe_load(Path(TINY).read_text())
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
def test_tokenizer_folders_record_their_seed(tiny_runs):
    metas = sorted(tiny_runs[0].glob("tokenizers/*/meta.json"))
    settings = json.loads((tiny_runs[0] / "provenance.json").read_text())["settings"]
    assert {p.parent.name for p in metas} == set(settings["tokenizers"])
    for path in metas:
        meta = json.loads(path.read_text())
        assert meta["seed"] == settings["tokenizers"][path.parent.name].get("seed", settings["seed"])
        assert meta["name"] == path.parent.name and "params" in meta


@pytest.mark.slow
def test_tokenizer_folders_record_versions_and_commit(tiny_runs):
    metas = sorted(tiny_runs[0].glob("tokenizers/*/meta.json"))
    assert metas
    for path in metas:
        _check_record(json.loads(path.read_text()))
