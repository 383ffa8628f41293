"""What produced a result: resolved config, seeds, package versions, git commit, host."""

from __future__ import annotations

import platform
import subprocess
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from decaylm import __version__

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


def stamped(record: dict) -> dict:
    return {**record, "finished_utc": datetime.now(timezone.utc).isoformat(timespec="seconds")}
