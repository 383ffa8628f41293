"""Reporter sequences: a background like the real reporters', with elements planted in it.

- Background: a first-order Markov chain with the real reporters' transition probabilities
  (REAL_TRANSITIONS; ``background_order: 0`` gives order-0 ``base_probs`` instead).
- Elements (decaylm/simulate/elements.py), each kind planted with its own probability (and
  rarely in extra copies) at random non-overlapping positions; chance sites of the background
  act as well.
"""

from __future__ import annotations

import logging

import numpy as np

from decaylm.simulate.config import SimulationConfig
from decaylm.simulate.elements import BASES, ELEMENT_KINDS

log = logging.getLogger(__name__)


# First-order transition probabilities of the real reporters (row: base, column: next base, in ACGT
# order; measured on ../shared/data/utrseq/reporter_seq.txt). Their chance sites come near the real
# frequencies (an order-0 background of the same composition makes twice the real AREs).
REAL_TRANSITIONS: dict[str, list[float]] = {
    "A": [0.307, 0.190, 0.179, 0.324],
    "C": [0.338, 0.192, 0.099, 0.371],
    "G": [0.260, 0.203, 0.157, 0.380],
    "T": [0.195, 0.164, 0.233, 0.408],
}


_MIN_GAP = 2  # nt between planted elements, so that they cannot merge into one site


def background_sequences(cfg: SimulationConfig, rng: np.random.Generator, n: int, length: int) -> np.ndarray:
    """n background sequences of `length` nt as an n x length array of letters (see background_order)."""
    alphabet = np.array(list(BASES))
    probs = np.array([cfg.base_probs[b] for b in BASES])
    if cfg.background_order == 0:
        return alphabet[rng.choice(4, size=(n, length), p=probs)]
    cumulative = np.cumsum([REAL_TRANSITIONS[b] for b in BASES], axis=1)
    cumulative /= cumulative[:, -1:]
    draws = rng.random((n, length))
    codes = np.empty((n, length), dtype=np.int64)
    codes[:, 0] = np.minimum(np.searchsorted(np.cumsum(probs), draws[:, 0], side="right"), 3)
    for i in range(1, length):
        codes[:, i] = np.minimum((draws[:, i : i + 1] >= cumulative[codes[:, i - 1]]).sum(axis=1), 3)
    return alphabet[codes]


def plant_elements(cfg: SimulationConfig, rng: np.random.Generator) -> list[str]:
    """Background sequences with elements planted at random non-overlapping positions."""
    background = background_sequences(cfg, rng, cfg.n_reporters, cfg.length)
    gc = np.array(list("GC"))
    sequences = []
    dropped = 0
    for i in range(cfg.n_reporters):
        motifs: list[str] = []
        for kind in ELEMENT_KINDS:
            if rng.random() >= cfg.element_probs[kind]:
                continue
            copies = 1
            while copies < cfg.max_copies and rng.random() < cfg.extra_copy_prob:
                copies += 1
            for _ in range(copies):
                motifs.append(_motif(kind, cfg, rng, gc))
        row = background[i]
        if motifs:
            order = rng.permutation(len(motifs))
            motifs = [motifs[j] for j in order]
            while sum(len(m) for m in motifs) + _MIN_GAP * (len(motifs) - 1) > cfg.length:
                motifs.pop()  # too many for this length: drop the last in random order
                dropped += 1
            total = sum(len(m) for m in motifs) + _MIN_GAP * (len(motifs) - 1)
            free = cfg.length - total
            # stars and bars: k sorted slots among free + k places give uniform spacing
            slots = np.sort(rng.choice(free + len(motifs), size=len(motifs), replace=False))
            start = 0
            for j, motif in enumerate(motifs):
                pos = start + (slots[j] - j) - (slots[j - 1] - (j - 1) if j else 0)
                row[pos : pos + len(motif)] = list(motif)
                start = pos + len(motif) + _MIN_GAP
        sequences.append("".join(row))
    if dropped:
        log.info("dropped %d planted elements that did not fit in %d nt", dropped, cfg.length)
    return sequences


def _motif(kind: str, cfg: SimulationConfig, rng: np.random.Generator, gc: np.ndarray) -> str:
    """One planted site of `kind` in a form drawn from `rng` (runs with flanks that keep their length)."""
    if kind == "mir430":
        return "AGCACTTA" if rng.random() < cfg.mir430_8mer_prob else "AGCACTT" + "CGT"[rng.integers(3)]
    if kind == "are":
        return "TATTTAT"
    if kind == "pumilio":
        return "TGTA" + "ACT"[rng.integers(3)] + "ATA"
    if kind == "polyu":
        # flanked by non-T so the planted run keeps its length
        return "A" + "T" * int(rng.integers(cfg.polyu_lengths[0], cfg.polyu_lengths[1] + 1)) + "A"
    if kind == "gc_rich":
        n = int(rng.integers(cfg.gc_lengths[0], cfg.gc_lengths[1] + 1))
        return "A" + "".join(gc[rng.integers(2, size=n)]) + "T"
    if kind == "uuag":
        return "TTAG"
    raise ValueError(kind)
