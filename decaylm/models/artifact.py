"""The model artifact: `model.json` beside the weights, and `load_model(folder)`.

model.json records what a model folder needs to be used on its own: the format, the model's
name and kind, its spec with every default filled in, the length of the sequences it was
trained on, the files that hold its weights and its tokenizer (paths relative to the folder;
an ensemble's members are the sibling folders it names), and the package versions that wrote
it. Paths are relative, so a results folder still loads after it has been moved.

model.json is written last and atomically: a folder without it holds no finished model.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from pathlib import Path

import numpy as np

from decaylm.errors import InputError
from decaylm.io import write_json
from decaylm.models.registry import KINDS
from decaylm.models.specs import ModelSpec
from decaylm.provenance import package_versions

MODEL_FILE = "model.json"
FORMAT = 1  # raised when a change makes older model folders unreadable


class TrainedModel:
    """A loaded model: `predict(sequences)` gives one number per sequence (see decaylm.models)."""

    members: list[TrainedModel] | None = None

    def __init__(self, folder: Path, record: dict):
        self.folder, self.record = Path(folder), record
        self.name, self.kind = record["name"], record["kind"]
        self.input_length, self.min_length = int(record["input_length"]), int(record.get("min_length", 1))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, kind={self.kind!r}, input_length={self.input_length})"

    def predict(self, sequences, batch_size: int = 256) -> np.ndarray:
        raise NotImplementedError

    def one_hot_module(self):
        """A torch module mapping one-hot (B, 4, L) to the prediction (B, 1), for gradient attribution;
        None for a model with no path differentiable in one-hot input (attribution then uses ISM)."""
        return None

    def path(self, key: str) -> Path:
        """A file the record names, resolved against the folder."""
        return self.folder / self.record["files"][key]


def write_model_json(out_dir, spec: ModelSpec, input_length: int, files: dict, min_length: int = 1,
                     members: list[str] | None = None, **extra) -> Path:
    """Record a finished model; `files` maps roles (weights, tokenizer) to paths relative to out_dir."""
    out_dir = Path(out_dir)
    for role, relative in files.items():
        if not (out_dir / relative).exists():
            raise FileNotFoundError(f"{out_dir / relative} ({role}) was not written")
    record = {"format": FORMAT, "name": spec.name, "kind": spec.kind, "spec": spec.to_dict(),
              "input_length": int(input_length), "min_length": int(min_length), "files": files,
              "versions": package_versions(), **extra}
    if members is not None:
        record["members"] = members
    write_json(record, out_dir / MODEL_FILE)
    return out_dir / MODEL_FILE


def read_model_json(folder) -> dict:
    folder = Path(folder)
    path = folder / MODEL_FILE
    if not path.is_file():
        what = "does not exist" if not folder.exists() else f"has no {MODEL_FILE}"
        raise InputError(str(folder), f"is not a model folder: it {what}",
                         "give a folder results/models/NAME written by a finished training job")
    try:
        record = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise InputError(str(path), f"is not valid JSON ({error.msg}, line {error.lineno})",
                         "retrain the model; the file was damaged") from None
    found = record.get("format") if isinstance(record, dict) else None
    if found != FORMAT:
        raise InputError(str(path), f"was written in model format {found!r}; this decaylm reads format {FORMAT}",
                         "retrain the model with this version of decaylm, or load it with the version that wrote it")
    if record.get("kind") not in KINDS:
        raise InputError(f"{path}: kind", f"unknown model kind {record.get('kind')!r}", f"known: {sorted(KINDS)}")
    return record


def load_model(folder) -> TrainedModel:
    import importlib

    record = read_model_json(folder)
    return importlib.import_module(KINDS[record["kind"]].module).load(Path(folder), record)


@contextlib.contextmanager
def atomic_directory(destination):
    """Yield a temporary folder beside `destination`; it replaces `destination` only if the block
    succeeds, so a killed job leaves no half-written folder under the final name."""
    destination = Path(destination)
    tmp = destination.with_name(f".{destination.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        yield tmp
        shutil.rmtree(destination, ignore_errors=True)
        tmp.rename(destination)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def copy_tree_atomically(source, destination) -> None:
    with atomic_directory(destination) as tmp:
        shutil.copytree(source, tmp)
