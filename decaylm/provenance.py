"""What produced a result: resolved config, seeds, package versions, git commit, host."""

from __future__ import annotations

import platform
import subprocess
from importlib import metadata
from pathlib import Path

from decaylm import __version__
from decaylm.io import write_json

PACKAGES = ["decaylm", "snakemake", "torch", "transformers", "tokenizers", "morfessor", "numpy", "pandas",
            "scipy", "scikit-learn", "matplotlib"]


def package_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = __version__ if name == "decaylm" else "not installed"  # run from a checkout
    return versions


def git_commit(directory: str | Path = ".") -> str:
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=directory, capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=directory,
                               capture_output=True, text=True).stdout.strip()
        return commit + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def provenance(settings: dict, seed: int | None = None, repo: str | Path = ".") -> dict:
    """A record to write next to a result. Time stamps stay out of files compared for determinism."""
    return {"settings": settings, "seed": seed, "versions": package_versions(), "git_commit": git_commit(repo),
            "python": platform.python_version(), "platform": platform.platform()}


def write_run(path, record: dict, status: str, **fields) -> None:
    """A model job's run record (run.json): what produced it, then its status ("ok", or "not_run" with
    the reason) and the job's own fields."""
    write_json({**record, "status": status, **fields}, path)


def members_not_run(folders, runs: list[dict]) -> str | None:
    """Why a model made of member folders (repeats, folds) did not run: the members that did not,
    and the first one's reason; None when all ran."""
    failed = [Path(folder).name for folder, run in zip(folders, runs) if run.get("status") != "ok"]
    if not failed:
        return None
    reason = next(run.get("reason", "unknown reason") for run in runs if run.get("status") != "ok")
    return f"{', '.join(failed)}: {reason}"
