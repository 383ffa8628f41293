"""The simulator's element kinds, and how their sites are found in a sequence.

Known elements (the five of MORPH_O's table, decaylm/tokenizers/rbp_motifs.py): miR-430 site ``AGCACTT``
(seed GCACTT; an ``A`` after it makes the stronger 8mer), AU-rich element ``TATTTAT``, Pumilio
``TGTAHATA`` (H = A/C/T), poly-U (a run of >= 8 T) and GC-rich stretch (a run of >= 10 G/C).
Not in that table (NOVEL_KINDS): UUAG (``TTAG``). Overlapping occurrences are separate sites.

`find_sites` is the one scanner: the truth table's per-kind counts and ``sites`` column, the
site strengths behind y_true (decaylm/simulate/kinetics.py), the long 3'UTRs' clean-up and the
calibration's site counts all use it, so the truth always agrees with the sequence.
"""

from __future__ import annotations

import re

import pandas as pd


# The first five are the MORPH_O tokenizer's known elements (decaylm/tokenizers/rbp_motifs.py, table `known`);
# `uuag` (UUAG, stabilizing in Rabani et al. 2017) is planted too but is not in that table.
KNOWN_KINDS: tuple[str, ...] = ("mir430", "are", "pumilio", "polyu", "gc_rich")
NOVEL_KINDS: tuple[str, ...] = ("uuag",)
ELEMENT_KINDS: tuple[str, ...] = KNOWN_KINDS + NOVEL_KINDS
BASES = "ACGT"


# Scanners: how a site of each kind is recognised in a sequence.
_MIR430 = re.compile(r"(?=AGCACTT)")
_ARE = re.compile(r"(?=TATTTAT)")
_PUMILIO = re.compile(r"(?=TGTA[ACT]ATA)")
_UUAG = re.compile(r"(?=TTAG)")
POLYU_MIN_RUN = 8
GC_MIN_RUN = 10
_POLYU = re.compile(r"T{%d,}" % POLYU_MIN_RUN)
_GC_RUN = re.compile(r"[GC]{%d,}" % GC_MIN_RUN)


def find_sites(sequence: str, mir430_7mer_weight: float = 0.7) -> dict[str, list[tuple[int, float]]]:
    """Sites of every element kind in `sequence`: kind -> [(start, kind-specific weight)].

    Weights: miR-430 8mer (AGCACTTA) 1.0, 7mer (AGCACTT + other) `mir430_7mer_weight`;
    poly-U runs (len - 5) / 3 (an 8-T run is 1.0); GC runs (len - 5) / 5 (10 nt is 1.0):
    both run weights are the number of 6-mers in the run over that of the shortest run;
    UUAG (TTAG, overlapping) 1.0.
    """
    sites: dict[str, list[tuple[int, float]]] = {}
    sites["mir430"] = [
        (m.start(), 1.0 if sequence[m.start() + 7 : m.start() + 8] == "A" else mir430_7mer_weight)
        for m in _MIR430.finditer(sequence)
    ]
    sites["are"] = [(m.start(), 1.0) for m in _ARE.finditer(sequence)]
    sites["pumilio"] = [(m.start(), 1.0) for m in _PUMILIO.finditer(sequence)]
    sites["polyu"] = [(m.start(), (len(m.group()) - 5) / 3) for m in _POLYU.finditer(sequence)]
    sites["gc_rich"] = [(m.start(), (len(m.group()) - 5) / 5) for m in _GC_RUN.finditer(sequence)]
    sites["uuag"] = [(m.start(), 1.0) for m in _UUAG.finditer(sequence)]
    return sites


def sites_text(sequence: str) -> str:
    """Every site in `sequence` as 'kind:start' (1-based), ';'-separated in order of position."""
    found = sorted((start, ELEMENT_KINDS.index(kind), kind) for kind, sites in find_sites(sequence).items()
                   for start, _ in sites)
    return ";".join(f"{kind}:{start + 1}" for start, _, kind in found)


def count_sites(sequence: str) -> dict[str, int]:
    """Number of sites of each element kind in `sequence` (as truth.tsv reports them)."""
    return {kind: len(found) for kind, found in find_sites(sequence).items()}


def site_counts(sequences) -> pd.DataFrame:
    """Sites per kind (columns ELEMENT_KINDS) of each sequence, as truth.tsv counts them."""
    return pd.DataFrame([count_sites(seq) for seq in sequences], columns=list(ELEMENT_KINDS))
