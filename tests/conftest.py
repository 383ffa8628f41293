"""Shared fixtures: paths of the repository and the real UTR-seq data, and small synthetic tables."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
REAL_DATA = REPO.parent / "shared" / "data" / "utrseq"
HOURS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12]

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never reach a model hub


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def real_data() -> Path:
    if not (REAL_DATA / "reporter_counts.txt").exists():
        pytest.skip(f"real UTR-seq data not found at {REAL_DATA}")
    return REAL_DATA


def random_sequences(n: int, length: int = 60, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return ["".join(rng.choice(list("ACGT"), size=length)) for _ in range(n)]


def write_utrseq(folder: Path, sequences: list[str], counts: np.ndarray, spikes: np.ndarray) -> Path:
    """Write a tiny UTR-seq folder: counts (reporters, hours) and spike-ins (n_spikes, hours)."""
    folder.mkdir(parents=True, exist_ok=True)
    columns = [f"AR{i + 1:02d}" for i in range(counts.shape[1])]
    ids = [f"R{i}" for i in range(len(sequences))]
    table = pd.DataFrame(counts.astype(int), columns=columns)
    table.insert(0, "id", ids)
    spike_table = pd.DataFrame(spikes.astype(int), columns=columns)
    spike_table.insert(0, "id", [f"SPIKE_{i}" for i in range(len(spikes))])
    pd.concat([table, spike_table]).to_csv(folder / "reporter_counts.txt", sep="\t", index=False)
    (folder / "reporter_seq.txt").write_text("".join(f"{i}\t{s}\n" for i, s in zip(ids, sequences)))
    return folder


@pytest.fixture
def tiny_utrseq(tmp_path) -> Path:
    """Six reporters over three hours, two spike-ins; reporter R1 has too few reads at hour 1."""
    counts = np.array([[100, 80, 40], [50, 10, 5], [200, 200, 200], [30, 60, 90], [80, 40, 20], [60, 30, 30]])
    spikes = np.array([[10, 20, 40], [10, 20, 40]])
    return write_utrseq(tmp_path / "utrseq", random_sequences(6), counts, spikes)


def run_snakemake(*args: str, results: Path, configfiles=("config/tiny.yaml",), check: bool = True,
                  timeout: int = 900) -> subprocess.CompletedProcess:
    """Run the workflow from the repository with results under `results`."""
    # --nolock: test runs write disjoint results folders, and concurrent runs race on .snakemake/locks
    command = [sys.executable, "-m", "snakemake", *args, "--nolock", "--cores", "2", "--configfile", *configfiles,
               "--config", f"results={results}"]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise AssertionError(f"snakemake failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}")
    return done


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """The tiny pipeline, run once per test session; tests must not modify its results."""
    results = tmp_path_factory.mktemp("tiny") / "results"
    run_snakemake(results=results)
    return results


@pytest.fixture(scope="module")
def one_thread():
    """Tiny models gain nothing from a second thread, and on a busy 2-core machine two OpenMP threads
    spin-wait on each other (measured: 20x slower steps)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
