"""Long 3'UTR-like sequences with elements at known positions, for the workflow's predict stage.

``long_utrs.fa`` and ``long_utrs_truth.tsv``: a few sequences of 600-1500 nt (the reporters'
background) with elements planted far apart at known positions (id, kind, start, end, motif;
1-based, inclusive). Drawn from their own stream, so the reporters do not change.
"""

from __future__ import annotations

import itertools
import logging

import numpy as np
import pandas as pd

from decaylm.io import atomic_path, write_tsv
from decaylm.simulate.config import SimulationConfig
from decaylm.simulate.elements import BASES, find_sites
from decaylm.simulate.sequences import background_sequences

log = logging.getLogger(__name__)


LONG_UTRS_NAME = "long_utrs.fa"
LONG_TRUTH_NAME = "long_utrs_truth.tsv"
LONG_UTR_SPACING = 300  # one element per this many nt (at most 4 a sequence), so they lie far apart
# Kinds in the order they are planted, over all sequences: the destabilizing ones most often.
LONG_UTR_KINDS = ("mir430", "are", "gc_rich", "polyu", "mir430", "pumilio", "uuag", "are", "gc_rich")


def _long_element(kind: str, cfg: SimulationConfig) -> tuple[str, int, int]:
    """The strongest form of an element kind: (motif with flanks, offset of the element, its length)."""
    if kind == "mir430":
        return "AGCACTTA", 0, 8  # the 8mer
    if kind == "are":
        return "TATTTAT", 0, 7
    if kind == "pumilio":
        return "TGTAAATA", 0, 8
    if kind == "polyu":
        n = cfg.polyu_lengths[1]
        return "A" + "T" * n + "A", 1, n
    if kind == "gc_rich":
        n = cfg.gc_lengths[1]
        return "A" + ("GCCGCGGCGC" * (n // 10 + 1))[:n] + "T", 1, n
    if kind == "uuag":
        return "TTAG", 0, 4
    raise ValueError(kind)


def simulate_long_utrs(cfg: SimulationConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`cfg.n_long_utrs` long 3'UTR-like sequences with elements planted at known positions.

    The background is the reporters' (`background_order`, `base_probs`); lengths are drawn from
    `long_utr_lengths`. A sequence of L nt carries min(4, L // 300) elements, one near each of
    the points that cut it into equal parts (+-20 nt), so they are 160 nt or more apart: a
    110-nt window holds at most one. Elements take the strongest form of their kind (miR-430
    8mer AGCACTTA, ARE TATTTAT, Pumilio TGTAAATA, the longest poly-U and GC runs, UUAG TTAG) in the order
    of LONG_UTR_KINDS, mostly destabilizing. Sites the background made by chance are mutated
    away, so the truth table lists every site in the sequences.

    Returns (sequences: id, sequence; truth: id, kind, start, end, motif), positions 1-based
    and inclusive like decaylm.predict's windows (`sequence[start - 1:end] == motif`). Drawn from their own random stream (seeded by (seed, 1)): the
    reporters of `simulate(cfg)` do not change.
    """
    rng = np.random.default_rng([cfg.seed, 1])
    probs = np.array([cfg.base_probs[b] for b in BASES])
    alphabet = np.array(list(BASES))
    low, high = cfg.long_utr_lengths
    kinds = itertools.cycle(LONG_UTR_KINDS)
    sequences, rows = [], []
    for i in range(cfg.n_long_utrs):
        uid = f"LONG_UTR_{i + 1}"
        length = int(rng.integers(low, high + 1))
        row = background_sequences(cfg, rng, 1, length)[0]
        k = max(1, min(4, length // LONG_UTR_SPACING))
        planted = np.zeros(length, dtype=bool)  # planted motifs and their flanks: never mutated
        elements = []
        for j in range(k):
            kind = next(kinds)
            motif, offset, size = _long_element(kind, cfg)
            centre = (j + 1) * length // (k + 1) + int(rng.integers(-20, 21))
            pos = centre - len(motif) // 2
            row[pos : pos + len(motif)] = list(motif)
            planted[pos : pos + len(motif)] = True
            elements.append((kind, pos + offset + 1, pos + offset + size, motif[offset : offset + size]))
        expected = {(kind, start - 1) for kind, start, _, _ in elements}
        for _ in range(100_000):  # mutate chance sites until only the planted ones are left
            chance = [(kind, start) for kind, found in find_sites("".join(row)).items()
                      for start, _ in found if (kind, start) not in expected]
            if not chance:
                break
            kind, start = chance[0]
            free = [p for p in range(start, min(start + 12, length)) if not planted[p]]
            row[free[int(rng.integers(len(free)))]] = alphabet[rng.choice(4, p=probs)]
        else:  # pragma: no cover - a site always has a free base to mutate
            raise RuntimeError(f"could not clear the chance sites of {uid}")
        sequences.append((uid, "".join(row)))
        rows += [(uid, kind, start, end, motif) for kind, start, end, motif in elements]
    seqs = pd.DataFrame(sequences, columns=["id", "sequence"])
    truth = pd.DataFrame(rows, columns=["id", "kind", "start", "end", "motif"])
    log.info("simulated %d long 3'UTRs (%d-%d nt) with %d planted elements",
             len(seqs), seqs["sequence"].str.len().min(), seqs["sequence"].str.len().max(), len(truth))
    return seqs, truth


def write_long_utrs(frames, fasta_path, truth_path) -> None:
    """Write simulate_long_utrs()'s sequences as FASTA (one line a sequence) and its truth table."""
    seqs, truth = frames
    with atomic_path(fasta_path) as tmp:
        tmp.write_text("".join(f">{uid}\n{seq}\n" for uid, seq in zip(seqs["id"], seqs["sequence"])))
    write_tsv(truth, truth_path)
