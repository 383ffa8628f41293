"""Faults a training job meets on disk:

- a resume checkpoint (last_epoch.pt) that is truncated or corrupted on disk (an interrupted write
  never leaves one: save_torch is atomic) logs one line and the job trains from epoch 1, to the
  numbers of a run that never had one (decaylm.models.training.read_checkpoint);
- a full disk while a job writes its model folder leaves no half-written file under a final name,
  and stops with one line that names the file (decaylm.io.atomic_path, decaylm.errors.one_line_errors).
"""

from __future__ import annotations

import logging
import os
import pickle
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from decaylm.errors import one_line_errors
from decaylm.io import write_tsv
from decaylm.models import kmer_ridge
from decaylm.models.artifact import MODEL_FILE
from decaylm.models.jobs import run_model_job
from decaylm.models.training import CHECKPOINT, TrainConfig, fit, regression_loss
from tests.helpers.models import motif_split

pytestmark = pytest.mark.usefixtures("one_thread")
ITEMS = [{"x": np.array([i / 40, (i % 7) / 7], dtype=np.float32), "y": float(i % 11) / 10} for i in range(80)]


class Tiny(torch.nn.Module):
    def __init__(self, inputs: int = 2):
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Linear(inputs, 8), torch.nn.Dropout(0.1), torch.nn.ReLU(),
                                        torch.nn.Linear(8, 1))

    def forward(self, x, y=None):
        return regression_loss(self.body(x).squeeze(-1), y, 1.0, self.training)


def collate(batch):
    out = {"x": torch.tensor(np.stack([item["x"] for item in batch]))}
    if "y" in batch[0]:
        out["y"] = torch.tensor([item["y"] for item in batch], dtype=torch.float32)
    return out


def train(folder: Path, epochs: int = 3, inputs: int = 2):
    torch.manual_seed(0)
    model = Tiny(inputs)
    items = [{**item, "x": np.resize(item["x"], inputs)} for item in ITEMS]
    result = fit(model, items, items, collate, TrainConfig(epochs=epochs, batch_size=8, lr=0.05, patience=9), folder,
                 fingerprint="task")
    return result, model.state_dict()


def losses(result) -> list[tuple]:
    return [(h["epoch"], h["train_loss"], h["valid_loss"]) for h in result.history]


class WritesAFile:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return Path.write_text, (self.marker, "the pickle ran")


def damage(kind: str, donor: Path, marker: Path) -> bytes:
    """last_epoch.pt bytes: a real checkpoint (fingerprint "task", after epoch 2), damaged."""
    real = donor.read_bytes()
    if kind == "truncated":
        return real[: len(real) // 2]
    if kind == "bytes_changed":  # the zip's directory overwritten in the middle of the file
        return real[:-200] + bytes(200)
    if kind == "random":
        return np.random.default_rng(0).bytes(len(real))
    if kind == "pickle":  # a checkpoint whose model is an object that runs code when unpickled
        saved = torch.load(donor, weights_only=True)
        torch.save({**saved, "model": WritesAFile(marker)}, donor.with_name("evil.pt"))
        return donor.with_name("evil.pt").read_bytes()
    # "other_model": a whole checkpoint of the same fingerprint, for a model of other shapes
    train(donor.parent / "other", epochs=2, inputs=3)
    return (donor.parent / "other" / CHECKPOINT).read_bytes()


@pytest.mark.parametrize("kind", ["truncated", "bytes_changed", "random", "pickle", "other_model"])
def test_a_damaged_checkpoint_logs_one_line_and_training_starts_over(tmp_path, caplog, kind):
    fresh, fresh_weights = train(tmp_path / "fresh")
    train(tmp_path / "donor", epochs=2)
    marker = tmp_path / "marker.txt"
    (tmp_path / "damaged").mkdir()
    checkpoint = tmp_path / "damaged" / CHECKPOINT
    checkpoint.write_bytes(damage(kind, tmp_path / "donor" / CHECKPOINT, marker))
    with caplog.at_level(logging.INFO, logger="decaylm.models.training"):
        again, again_weights = train(tmp_path / "damaged")
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and warnings[0].exc_info is None, caplog.text
    line = warnings[0].getMessage()
    assert "\n" not in line and f"{checkpoint} is damaged" in line and "starts from epoch 1" in line, line
    assert "resumed" not in caplog.text
    assert losses(again) == losses(fresh)  # every epoch trained again, to the same losses and weights
    for key, value in fresh_weights.items():
        torch.testing.assert_close(again_weights[key], value, rtol=0, atol=0)
    assert not marker.exists()
    assert torch.load(checkpoint, weights_only=True)["state"]["epoch"] == 3  # replaced by a sound one


def test_a_job_with_a_damaged_checkpoint_ends_as_an_unbroken_one(tmp_path):
    split = motif_split(n=200)
    write_tsv(split, tmp_path / "split.tsv")
    spec = {"kind": "cnn", "channels": 8, "kernel_sizes": [5], "epochs": 2, "batch_size": 32}
    for name in ("unbroken", "damaged"):
        folder = tmp_path / name
        if name == "damaged":
            folder.mkdir()
            (folder / CHECKPOINT).write_bytes(b"PK\x03\x04 not a whole zip")
        run_model_job("CNN", spec, tmp_path / "split.tsv", folder / "predictions.tsv", folder / "run.json", seed=1)
    assert (tmp_path / "damaged" / "predictions.tsv").read_bytes() == (tmp_path / "unbroken" / "predictions.tsv").read_bytes()


# ---------------------------------------------------------------------------------------------
# a full disk

@pytest.fixture
def small_disk(tmp_path):
    """A 256 KiB file system (tmpfs; needs root) to fill."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(disk)],
                                           capture_output=True, check=False).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    yield disk
    subprocess.run(["umount", str(disk)], check=True)


def free_bytes(path: Path) -> int:
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize


def pages(n_bytes: int) -> int:
    return -(-n_bytes // 4096) * 4096  # tmpfs gives out whole 4 KiB pages


RIDGE = {"kind": "kmer_ridge", "k_max": 5, "cv_folds": 3}


def ridge_job(folder: Path, split_path: Path) -> None:
    run_model_job("RIDGE", RIDGE, split_path, folder / "predictions.tsv", folder / "run.json", seed=1)


@pytest.fixture(scope="module")
def roomy_job(tmp_path_factory) -> tuple[Path, dict]:
    """The split, and the size of each file the ridge job writes when the disk has room."""
    folder = tmp_path_factory.mktemp("roomy")
    write_tsv(motif_split(n=900), folder / "split.tsv")
    ridge_job(folder / "RIDGE", folder / "split.tsv")
    return folder / "split.tsv", {path.name: path.stat().st_size for path in (folder / "RIDGE").iterdir()}


@pytest.mark.parametrize("fails_at", [kmer_ridge.WEIGHTS, "predictions.tsv"])
def test_a_full_disk_leaves_no_half_written_file_and_names_it(roomy_job, small_disk, capsys, fails_at):
    split_path, sizes = roomy_job
    assert sizes[kmer_ridge.WEIGHTS] > 8192 and sizes["predictions.tsv"] > 8192
    # room for half the weights; or for the weights and model.json, and half the predictions
    room = (pages(sizes[kmer_ridge.WEIGHTS] // 2) if fails_at == kmer_ridge.WEIGHTS else
            pages(sizes[kmer_ridge.WEIGHTS]) + pages(sizes[MODEL_FILE]) + pages(sizes["predictions.tsv"] // 2))
    folder = small_disk / "models" / "RIDGE"
    folder.mkdir(parents=True)
    (small_disk / "filler").write_bytes(bytes(free_bytes(small_disk) - room))
    assert free_bytes(small_disk) == room
    with pytest.raises(SystemExit) as stopped, one_line_errors():
        ridge_job(folder, split_path)
    err = capsys.readouterr().err  # log lines too, where an earlier test set up logging to stderr
    lines = [line for line in err.splitlines() if line.startswith("decaylm error:")]
    assert stopped.value.code == 1 and len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"decaylm error: {folder / fails_at}: No space left on device"), lines
    written = sorted(path.name for path in folder.iterdir())
    # no temporary file left, and nothing under a final name but the files written whole before
    assert written == ([] if fails_at == kmer_ridge.WEIGHTS else [MODEL_FILE, kmer_ridge.WEIGHTS]), written
    for name in written:
        assert (folder / name).stat().st_size == sizes[name]


def test_a_folder_written_by_a_library_names_the_file_under_its_final_name(small_disk):
    """atomic_directory (an encoder's save_pretrained, a copied tokenizer): safetensors reports a full
    disk with an error of its own; it comes out as the OSError one_line_errors knows, naming the folder."""
    from safetensors.torch import save_file

    from decaylm.models.artifact import atomic_directory

    destination = small_disk / "models" / "X" / "encoder"
    with pytest.raises(OSError) as full:
        with atomic_directory(destination) as tmp:
            tmp.mkdir(parents=True)
            save_file({"w": torch.zeros(200_000)}, str(tmp / "model.safetensors"))  # 800 kB on a 256 kB disk
    assert full.value.strerror == os.strerror(28) and full.value.filename == str(destination)
    assert list(destination.parent.iterdir()) == []  # neither the folder nor its temporary copy


def test_a_pickle_payload_really_runs_when_unpickled(tmp_path):
    """The control for the 'pickle' damage above: the same object does write its file when unpickled."""
    pickle.loads(pickle.dumps(WritesAFile(tmp_path / "marker.txt")))
    assert (tmp_path / "marker.txt").read_text() == "the pickle ran"
