"""The session's whole pipeline runs. Each is `steps(run)` for a BackgroundRun (tests/helpers/snakemake.py):
conftest starts those that the selected tests read when the session begins, and their fixtures wait for
them, so that the in-process tests run meanwhile (they use one core, and a pipeline has stretches of one
job). BACKGROUND_RUNS maps each fixture's name to its steps."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import yaml

from tests.helpers.configs import libraries_config, one_model_config, write_config
from tests.helpers.data import write_libraries
from tests.helpers.paths import REAL_DATA, TINY_CONFIG, have_real_data
from tests.helpers.snakemake import BackgroundRun


def tiny_run(run: BackgroundRun) -> Path:
    """config/tiny.yaml through the whole pipeline; its results folder."""
    results = run.folder / "results"
    run.wait(run.snakemake(results=results, log="snakemake.log"))
    return results


def resumed_run(run: BackgroundRun) -> dict:
    """The tiny pipeline from scratch in a second folder: its CNN job killed with SIGKILL mid-epoch (the
    first epoch's checkpoint just written), then snakemake again, up to the comparison and the
    tokenizer table (not the predict stage, figures or provenance, which no test reads here)."""
    import torch

    from decaylm.models.training import CHECKPOINT

    epochs = yaml.safe_load(TINY_CONFIG.read_text())["models"]["CNN"].get("epochs", 20)
    assert epochs >= 2, "the tiny CNN needs two epochs or more to be killed mid-run"
    results = run.folder / "results"
    cnn = results / "models" / "CNN"
    checkpoint = cnn / CHECKPOINT
    job = run.snakemake(str(cnn / "metrics.json"), results=results, log="killed.log", cores=1)
    deadline = time.monotonic() + 900
    while not checkpoint.exists():
        assert job.poll() is None, job.output()
        assert time.monotonic() < deadline, "no checkpoint after 15 minutes"
        assert not run.stopped.is_set()
        time.sleep(0.02)
    trainer = training_process(job.pid)
    assert trainer is not None, "the training process was not found"
    os.kill(trainer, signal.SIGKILL)  # mid-epoch: the first epoch's checkpoint has just been written
    killed = {"code": job.wait(timeout=300), "epoch": torch.load(checkpoint, weights_only=False)["state"]["epoch"],
              "predictions_left": (cnn / "predictions.tsv").exists()}
    # then what test_two_runs_from_scratch_are_byte_identical compares: every model, every tokenizer
    compared = [str(results / "comparison.tsv"), str(results / "tokenizers" / "stats.tsv")]
    run.wait(run.snakemake(*compared, results=results, log="resumed.log"))
    return {"results": results, "checkpoint": checkpoint, "killed": killed, "epochs": epochs}


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (children, their children, ...), from /proc."""
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


def training_process(snakemake_pid: int) -> int | None:
    """The python process, under our snakemake, that runs scripts/train_model.py."""
    for pid in descendants(snakemake_pid):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(part.endswith(b"train_model.py") for part in command) and b"python" in command[0]:
            return pid
    return None


def one_model_run(run: BackgroundRun, models: dict, **sections) -> Path:
    """The pipeline on configs.one_model_config(models, **sections); its results folder."""
    config = write_config(run.folder / "config.yaml", one_model_config(models, **sections))
    results = run.folder / "results"
    run.wait(run.snakemake(results=results, log="snakemake.log", configfiles=(config,)))
    return results


def simulated_run(run: BackgroundRun) -> Path:
    """The default simulated data (4,000 reporters) through the pipeline with one k-mer ridge model, without
    the simulator's context term: its test asks a k-mer ridge for the noise-free target, and the term is
    made to be out of a ridge's reach (with it the pipeline's KMER_RIDGE r2_truth is 0.52; docs/simulator.md)."""
    return one_model_run(run, {"RIDGE": {"kind": "kmer_ridge", "k_max": 6, "cv_folds": 3}},
                         data={"simulate": {"context_early_sd": 0.0, "context_late_sd": 0.0}})


def real_data_run(run: BackgroundRun) -> Path | None:
    """The real UTR-seq data through the pipeline with one k-mer ridge model; None without the data."""
    if not have_real_data():
        return None
    return one_model_run(run, {"RIDGE": {"kind": "kmer_ridge", "k_max": 5, "cv_folds": 3}},
                         data={"source": "utrseq", "path": str(REAL_DATA)})


def repeats_run(run: BackgroundRun) -> Path:
    """The tiny data with one small CNN trained as two repeats, and their repeat_ensemble row."""
    return one_model_run(run, {"CNN": {"kind": "cnn", "epochs": 2, "channels": 8, "batch_size": 32, "repeats": 2},
                               "CNN_SEEDS": {"kind": "repeat_ensemble", "of": "CNN"}},
                         data={"simulate": {"n_reporters": 600, "seed": 3}}, predict={"models": []})


def learning_curve_run(run: BackgroundRun) -> Path:
    """Simulated data up to learning_curve.tsv: a k-mer ridge and a tiny CNN at fractions 0.25, 0.5 and
    1 (the rows themselves)."""
    from tests.helpers.models import TINY_TRAINING

    config = write_config(run.folder / "config.yaml", one_model_config(
        {"KMER_RIDGE": {"kind": "kmer_ridge", "k_max": 3, "cv_folds": 3},
         "CNN": {"kind": "cnn", "channels": 8, **TINY_TRAINING}},
        data={"simulate": {"n_reporters": 300, "seed": 3}}, predict={"models": []},
        learning_curve={"fractions": [0.25, 0.5], "seed": 1}))
    results = run.folder / "results"
    run.wait(run.snakemake(str(results / "learning_curve.tsv"), results=results, log="snakemake.log",
                           configfiles=(config,)))
    return results


def folds_run(run: BackgroundRun) -> Path:
    """The tiny data under 3-fold grouped cross-validation: k-mer ridge, a small CNN and a BPE BERT."""
    return one_model_run(run, {"RIDGE": {"kind": "kmer_ridge", "k_max": 4, "cv_folds": 3},
                               "CNN": {"kind": "cnn", "epochs": 2, "channels": 8, "batch_size": 32},
                               "BPE": {"kind": "bert", "tokenizer": "bpe", "layers": 1, "hidden": 16, "heads": 2,
                                       "intermediate": 32, "epochs": 1}},
                         data={"simulate": {"n_reporters": 600, "seed": 3}}, split={"folds": 3},
                         tokenizers={"bpe": {"kind": "bpe", "vocab_size": 64}}, predict={"models": []})


def libraries_run(run: BackgroundRun) -> dict:
    """Two libraries (data.write_libraries) through the pipeline: see configs.libraries_config."""
    files = write_libraries(run.folder / "data")
    config = write_config(run.folder / "config.yaml", libraries_config(files))
    results = run.folder / "results"
    run.wait(run.snakemake(results=results, log="snakemake.log", configfiles=(config,)))
    return {"results": results, "files": files, "config": config}


# the order they start in when a session needs them all
BACKGROUND_RUNS = {"libraries_run": libraries_run, "tiny_run": tiny_run, "repeats_run": repeats_run,
                   "folds_run": folds_run, "resumed_run": resumed_run, "simulated_run": simulated_run,
                   "real_data_run": real_data_run, "learning_curve_run": learning_curve_run}
