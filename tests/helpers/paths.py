"""Where things are: the repository, its tiny config, and the real data beside the checkout."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TINY_CONFIG = REPO / "config" / "tiny.yaml"  # the small run the suite's pipeline runs start from
SIMULATED_CONFIG = REPO / "config" / "simulated.yaml"  # over config.yaml: the tests' base (simulated data)
SHARED_DATA = REPO.parent / "shared" / "data"  # read-only data beside the checkout, when present
REAL_DATA = SHARED_DATA / "utrseq"  # Rabani et al.'s example data (UTR-seq)
DEEPUTR_DATA = SHARED_DATA / "deeputr"  # the same reporters as the original project's tables and split
HOURS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12]  # the hours of the real data and of the simulator


def have_real_data() -> bool:
    return (REAL_DATA / "reporter_counts.txt").exists()
