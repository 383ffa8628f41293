"""Atomic file output: a killed job never leaves a half-written file under a final name."""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pandas as pd


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except OSError as error:
        if error.filename is None:  # e.g. a full disk while writing: name the output, not the temporary file
            error.filename = str(path)
        raise
    except Exception as error:  # a library's writer (safetensors, torch) reports a full disk its own way
        refused = as_refused_write(error, path)
        if refused is error:
            raise
        raise refused from error
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_tsv(frame: pd.DataFrame, path, float_format: str = "%.6g") -> None:
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, sep="\t", index=False, float_format=float_format)


def read_tsv(path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t")


def read_json(path):
    return json.loads(Path(path).read_text())


def write_json(obj, path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def write_text(text: str, path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def as_refused_write(error: Exception, path) -> Exception:
    """`error` from a library writer (torch, safetensors, transformers) as the OSError it stands for
    when the disk under `path` is full, naming `path`; else `error` itself. Those writers report a
    full disk with errors of their own, which decaylm.errors.one_line_errors would not recognize."""
    if isinstance(error, OSError):
        return error
    try:
        existing = next(folder for folder in Path(path).absolute().parents if folder.exists())
        full = shutil.disk_usage(existing).free < 1 << 20
    except OSError:
        full = False
    if full or "os error 28" in str(error) or "No space left" in str(error):
        refused = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        refused.__cause__ = error
        return refused
    return error


def save_torch(obj, path) -> None:
    """torch.save, atomically; a full disk becomes an OSError (torch raises a RuntimeError)."""
    import torch

    with atomic_path(path) as tmp:
        try:
            torch.save(obj, tmp)
        except RuntimeError as error:
            if shutil.disk_usage(Path(path).parent).free < 1 << 20:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path)) from error
            raise


def remove_stale_temporaries(path) -> None:
    """Drop temporary files that a job killed while writing `path` left beside it."""
    path = Path(path)
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        stale.unlink(missing_ok=True)


def save_figure(figure, path, dpi: int = 110, tight: bool = True) -> None:
    """Write a matplotlib figure as PNG, whole or not at all, and close it."""
    import matplotlib.pyplot as plt

    if tight:
        figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=dpi)
    plt.close(figure)
