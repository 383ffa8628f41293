"""Small input files written by tests: random sequences, UTR-seq folders, the table source's CSVs, and
two-library count tables. Every writer is seeded: the same call writes the same bytes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def random_sequences(n: int, length: int = 60, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return ["".join(rng.choice(list("ACGT"), size=length)) for _ in range(n)]


# ---------------------------------------------------------------------------------------------
# the UTR-seq source: reporter_counts.txt (reporters and spike-ins x AR columns) and reporter_seq.txt

def write_utrseq(folder: Path, sequences: list[str], counts: np.ndarray, spikes: np.ndarray) -> Path:
    """A UTR-seq folder: counts (reporters, hours) of reporters R0.. and spike-ins (n_spikes, hours)."""
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


def tiny_utrseq(folder: Path) -> Path:
    """Six reporters over three hours, two spike-ins; reporter R1 has too few reads at hour 1."""
    counts = np.array([[100, 80, 40], [50, 10, 5], [200, 200, 200], [30, 60, 90], [80, 40, 20], [60, 30, 30]])
    spikes = np.array([[10, 20, 40], [10, 20, 40]])
    return write_utrseq(folder, random_sequences(6), counts, spikes)


SMALL_HOURS = [0, 2, 8]  # the hours of small_utrseq
SMALL_REPORTERS = 30


def small_utrseq(folder: Path) -> Path:
    """30 decaying reporters x 3 hours (0, 2, 8) with two spike-ins of 500 reads."""
    rates = np.random.default_rng(0).uniform(0.05, 0.5, size=SMALL_REPORTERS)
    counts = np.array([[int(1000 * 2 ** (-rate * h)) + 50 for h in SMALL_HOURS] for rate in rates])
    spikes = np.full((2, len(SMALL_HOURS)), 500)
    return write_utrseq(folder, random_sequences(SMALL_REPORTERS, length=60, seed=11), counts, spikes)


def small_table(folder: Path) -> Path:
    """The table source (the original project's CSVs): 30 reporters on log scale at 1, 2 and 6 h."""
    folder.mkdir(parents=True, exist_ok=True)
    values = np.random.default_rng(1).normal(5, 1, size=(SMALL_REPORTERS, 3)).round(3)
    (folder / "expression.csv").write_text(
        "id,1h,2h,6h\n" + "".join(f"R{i},{a},{b},{c}\n" for i, (a, b, c) in enumerate(values)))
    sequences = random_sequences(SMALL_REPORTERS, 60, seed=12)
    (folder / "sequences.csv").write_text("id,Sequence\n" + "".join(f"R{i},{s}\n" for i, s in enumerate(sequences)))
    return folder


# ---------------------------------------------------------------------------------------------
# two libraries of the same reporters (data.libraries)

LIBRARY_HOURS = [0, 2, 4, 8]


def write_libraries(folder: Path, n: int = 400, seed: int = 0, shared_ids: bool = True) -> dict:
    """Two count tables of the same 60-nt reporters (prefixed time columns, an EMPTY row, a few count
    ids without a sequence) whose decay rates follow their TTT and GGG counts, B's correlated with A's;
    and one sequence file. Returns the files by name (A, B, sequences) and the rates."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    sequences = random_sequences(n, seed=seed)
    motif = np.array([s.count("TTT") - s.count("GGG") for s in sequences], dtype=float)
    rates = {"A": 0.15 + 0.08 * motif, "B": 0.2 + 0.05 * motif + 0.05 * rng.standard_normal(n)}
    ids = [f"R{i}" for i in range(n)]
    (folder / "seq.txt").write_text("".join(f"{i}\t{s}\n" for i, s in zip(ids, sequences)))
    files = {"sequences": str(folder / "seq.txt"), "rates": rates}
    if not shared_ids:  # B's reporters under other ids, with their own sequence file
        (folder / "seq_B.txt").write_text("".join(f"B{i}\t{s}\n" for i, s in zip(ids, sequences)))
        files["sequences_B"] = str(folder / "seq_B.txt")
    t = np.array(LIBRARY_HOURS, dtype=float)
    for name, prefix in (("A", "LIB_0xA"), ("B", "LIB_40xA")):
        level = -np.clip(rates[name], 0.0, None)[:, None] * np.maximum(0.0, t[None, :] - 2.0)
        counts = rng.poisson(300 * np.exp2(level))
        rows = [[rid if shared_ids or name == "A" else f"{name}{rid}", *c] for rid, c in zip(ids, counts)]
        rows += [[f"X{i}", 50, 40, 30, 20] for i in range(3)]  # count ids without a sequence
        rows += [["EMPTY", 999, 999, 999, 999]] + [[f"SPIKE_{i}", 100, 100, 100, 100] for i in range(2)]
        table = pd.DataFrame(rows, columns=["id", *[f"{prefix}_AR{i + 1:02d}" for i in range(len(t))]])
        table.to_csv(folder / f"counts_{name}.txt", sep="\t", index=False)
        files[name] = str(folder / f"counts_{name}.txt")
    return files
