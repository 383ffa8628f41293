"""The model artifact: `model.json` beside the weights, and `load_model(folder)`.

model.json records what a model folder needs to be used on its own: the format, the model's
name and kind, its spec with every default filled in, the length of the sequences it was
trained on, the files that hold its weights and its tokenizer (paths relative to the folder;
an ensemble's members are the sibling folders it names), each of those files' size and sha256,
and the package versions that wrote it. Paths are relative, so a results folder still loads
after it has been moved.

A model folder is safe to take from someone else (docs/predict.md, "Sharing a model folder"):
loading reads only the files model.json lists, after checking their sizes and sha256; it refuses
a pickle-format file (weights are safetensors and JSON, so nothing is ever unpickled), a path
that leads out of the folder, and member folders outside the folder that holds the model. Each
refusal is one line that names the file. The one way a folder runs code of its own is a
`pretrained` model trained with `trust_remote_code: true` (its encoder's Python files);
`load_model(folder, trust_remote_code=False)` refuses such a folder.

model.json is written last and atomically: a folder without it holds no finished model.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np

from decaylm.errors import REFUSED_WRITES, InputError
from decaylm.io import as_refused_write, write_json
from decaylm.models.registry import KINDS
from decaylm.models.specs import ModelSpec
from decaylm.provenance import package_versions

MODEL_FILE = "model.json"
# raised when a change makes older model folders unreadable. 2: model.json lists each file's size
# and sha256, and KMER_RIDGE's weights are arrays (format 1 kept them in a pickle)
FORMAT = 2
AVERAGING_KINDS = ("ensemble", "repeat_ensemble")  # their folders name member folders instead of weights
# formats that are pickles (torch.save, joblib, pickle): loading one can run any code, so no model
# folder holds one; torch.save's zip is recognized by its first bytes under any name
PICKLE_SUFFIXES = (".pkl", ".pickle", ".pt", ".pth", ".bin", ".ckpt", ".joblib")
ZIP_MAGIC = b"PK\x03\x04"
CHANGED = "the folder is not the one model.json was written for: copy the model folder again, or retrain"
INSIDE = "refused: a model's files lie inside its folder, its members inside the folder that holds it"


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
        """A file the record names, resolved against the folder (checked by load_model to lie inside it)."""
        return self.folder / self.record["files"][key]


def write_model_json(out_dir, spec: ModelSpec, input_length: int, files: dict, min_length: int = 1,
                     members: list[str] | None = None, **extra) -> Path:
    """Record a finished model; `files` maps roles (weights, tokenizer) to paths relative to out_dir
    (files or folders): each file's size and sha256 go into the record."""
    out_dir = Path(out_dir)
    for role, relative in files.items():
        if not (out_dir / relative).exists():
            raise FileNotFoundError(f"{out_dir / relative} ({role}) was not written")
    record = {"format": FORMAT, "name": spec.name, "kind": spec.kind, "spec": spec.to_dict(),
              "input_length": int(input_length), "min_length": int(min_length), "files": files,
              "checksums": file_checksums(out_dir, files.values()), "versions": package_versions(), **extra}
    if members is not None:
        record["members"] = members
    write_json(record, out_dir / MODEL_FILE)
    return out_dir / MODEL_FILE


def sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _files_under(path: Path) -> list[Path]:
    """`path` itself, or every entry under the folder `path` (links included, not followed)."""
    if not path.is_dir() or path.is_symlink():
        return [path]
    found = []
    for top, folders, files in os.walk(path):
        found += [Path(top) / name for name in files]
        found += [Path(top) / name for name in folders if (Path(top) / name).is_symlink()]
    return sorted(found)


def file_checksums(folder, paths) -> dict:
    """{file relative to `folder`: {size, sha256}} for every file under `paths` (relative to `folder`)."""
    folder = Path(folder)
    out = {}
    for relative in paths:
        for file in _files_under(folder / relative):
            out[file.relative_to(folder).as_posix()] = {"size": file.stat().st_size, "sha256": sha256(file)}
    return dict(sorted(out.items()))


def _inside(base: Path, relative, where: str, root: Path | None = None) -> Path:
    """base / relative, refused in one line unless it is a relative path that stays inside `root`
    (default `base`) once every `..` and link is followed."""
    root = root if root is not None else base
    if not isinstance(relative, str) or not relative or Path(relative).is_absolute():
        raise InputError(where, f"{relative!r} is not a path relative to {base}", INSIDE)
    path = base / relative
    resolved, inner = path.resolve(), root.resolve()
    if resolved == inner or not resolved.is_relative_to(inner):
        raise InputError(where, f"{relative!r} leads outside {root}", INSIDE)
    return path


def _is_pickle(path: Path) -> bool:
    if path.suffix.lower() in PICKLE_SUFFIXES:
        return True
    with open(path, "rb") as handle:
        return handle.read(len(ZIP_MAGIC)) == ZIP_MAGIC


def check_files(folder, record: dict) -> None:
    """Refuse, in one line naming the file, a model folder whose files are not the ones its model.json
    was written for: a listed file missing, of another size or sha256; a file under a listed path that
    model.json does not list; a path out of the folder; or a pickle."""
    folder = Path(folder)
    where = folder / MODEL_FILE
    files, sums = record.get("files"), record.get("checksums")
    if not isinstance(files, dict) or not isinstance(sums, dict):
        raise InputError(str(where), "does not list the model's files with their sizes and sha256", "retrain the model")
    for role, relative in files.items():
        target = _inside(folder, relative, f"{where}: files.{role}")
        if not target.exists():
            raise InputError(str(target), f"is missing (model.json lists it as the {role})", CHANGED)
        for file in _files_under(target):
            if file.relative_to(folder).as_posix() not in sums:
                raise InputError(str(file), "is not listed in model.json", "remove it: a model folder holds only "
                                 "the files its model.json lists with their sha256")
    for relative, expected in sums.items():
        file = _inside(folder, relative, f"{where}: checksums")
        if not file.is_file():
            raise InputError(str(file), "is missing (model.json lists it)", CHANGED)
        if _is_pickle(file):
            raise InputError(str(file), "is a pickle, which can run any code when it is loaded: refused",
                             "a model folder holds its weights as safetensors; retrain the model with this decaylm")
        size = file.stat().st_size
        if not isinstance(expected, dict) or size != expected.get("size"):
            listed = expected.get("size") if isinstance(expected, dict) else None
            raise InputError(str(file), f"has {size} bytes where model.json lists {listed}", CHANGED)
        if sha256(file) != expected.get("sha256"):
            raise InputError(str(file), "differs from the file model.json lists (sha256)", CHANGED)


def member_folders(folder, record: dict, root=None) -> list[Path]:
    """The member folders an ensemble's (or a repeated or cross-validated model's) record names, each
    inside `root`: by default the folder that holds `folder` (results/models for results/models/ENS).
    A model.json that names a path outside is refused in one line."""
    folder = Path(folder)
    root = Path(root) if root is not None else folder.resolve().parent
    where = f"{folder / MODEL_FILE}: members"
    members = record.get("members")
    if not isinstance(members, list) or not members:
        raise InputError(where, f"{members!r} is not a list of member folders", "retrain the model")
    paths = [_inside(folder, member, where, root).resolve() for member in members]  # the folders checked
    for member, path in zip(members, paths):
        if path == folder.resolve():
            raise InputError(where, f"{member!r} is the model's own folder", "refused: a model is not its own member")
    return paths


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
    if found == 1:
        raise InputError(str(path), f"was written in model format 1; this decaylm reads format {FORMAT}",
                         _format_1_fix(folder, record))
    if found != FORMAT:
        raise InputError(str(path), f"was written in model format {found!r}; this decaylm reads format {FORMAT}",
                         "retrain the model with this version of decaylm, or load it with the version that wrote it")
    if record.get("kind") not in KINDS:
        raise InputError(f"{path}: kind", f"unknown model kind {record.get('kind')!r}", f"known: {sorted(KINDS)}")
    return record


def _format_1_fix(folder: Path, record: dict) -> str:
    if record.get("kind") == "kmer_ridge":
        return "retrain it: its weights are a pickle, which decaylm never loads (it could run any code)"
    return (f"retrain it, or, for a folder you wrote yourself, record its files' checksums: "
            f"python -m decaylm.models.artifact {folder}")


def load_model(folder, trust_remote_code: bool = True, _root=None, _loading: tuple = ()) -> TrainedModel:
    """The model in `folder`, once its files are checked (check_files) and its members found inside
    the folder that holds it. trust_remote_code=False refuses a pretrained model that runs Python
    files of its folder (one trained with trust_remote_code: true); the default loads it, as the
    pipeline does with its own folders."""
    folder = Path(folder)
    record = read_model_json(folder)
    check_files(folder, record)
    architecture = (record.get("spec") if isinstance(record.get("spec"), dict) else {}).get("architecture")
    if isinstance(architecture, dict) and architecture.get("trust_remote_code") and not trust_remote_code:
        raise InputError(str(folder / MODEL_FILE), "its model runs Python code shipped in the folder "
                         f"({record['files'].get('weights')}/*.py) when loaded: refused",
                         "load it with trust_remote_code only if you trust whoever wrote the folder")
    module = importlib.import_module(KINDS[record["kind"]].module)
    if record["kind"] not in AVERAGING_KINDS:
        return module.load(folder, record)
    root = Path(_root) if _root is not None else folder.resolve().parent
    loading = (*_loading, folder.resolve())
    members = []
    for path in member_folders(folder, record, root):
        if path in loading:
            raise InputError(f"{folder / MODEL_FILE}: members", f"{path} is a member of itself (a cycle)",
                             "refused: retrain the model")
        members.append(load_model(path, trust_remote_code, root, loading))
    return module.load(folder, record, members)


@contextlib.contextmanager
def atomic_directory(destination):
    """Yield a temporary folder beside `destination`; it replaces `destination` only if the block
    succeeds, so a killed job leaves no half-written folder under the final name. A write the disk
    refuses names the file under `destination`, not under the temporary folder."""
    destination = Path(destination)
    tmp = destination.with_name(f".{destination.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        yield tmp
        shutil.rmtree(destination, ignore_errors=True)
        tmp.rename(destination)
    except Exception as error:
        refused = as_refused_write(error, destination)
        if not isinstance(refused, OSError) or refused.errno not in REFUSED_WRITES:
            raise
        filename = str(refused.filename or destination)
        refused.filename = filename.replace(str(tmp), str(destination), 1)
        if refused is error:
            raise
        raise refused from error
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def copy_tree_atomically(source, destination) -> None:
    with atomic_directory(destination) as tmp:
        shutil.copytree(source, tmp)


def upgrade_format_1(folder) -> Path:
    """Record the checksums of a format-1 model folder's files, as the folder holds them now, and
    mark it format 2: for folders you wrote yourself (the checksums vouch for nothing older). A
    KMER_RIDGE folder of format 1 holds a pickle and is refused: retrain it."""
    folder = Path(folder)
    path = folder / MODEL_FILE
    record = json.loads(path.read_text())
    if record.get("format") != 1:
        raise InputError(str(path), f"is model format {record.get('format')!r}, not 1", "nothing to upgrade")
    if record.get("kind") == "kmer_ridge":
        raise InputError(str(path), "holds KMER_RIDGE weights as a pickle", _format_1_fix(folder, record))
    files = record.get("files") or {}
    for role, relative in files.items():
        _inside(folder, relative, f"{path}: files.{role}")
    record.update(format=FORMAT, checksums=file_checksums(folder, files.values()))
    write_json(record, path)
    return path


def main(argv: list[str]) -> int:
    """python -m decaylm.models.artifact FOLDER...: upgrade every format-1 model folder under each FOLDER."""
    if not argv:
        print(main.__doc__)
        return 2
    failed = 0
    for top in argv:
        for path in sorted(Path(top).rglob(MODEL_FILE)):
            if json.loads(path.read_text()).get("format") != 1:
                continue
            try:
                print(f"upgraded {upgrade_format_1(path.parent)}")
            except InputError as error:
                print(f"decaylm error: {error}", file=sys.stderr)
                failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
