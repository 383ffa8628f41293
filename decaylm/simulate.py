"""A seeded simulator of a UTR-seq MPRA: the pipeline's embedded default data source.

It writes exactly the real UTR-seq format (see ../shared/data/utrseq/README.md), so one
reader serves real and simulated data:

- ``reporter_counts.txt``: tab-separated, header ``id AR01 .. ARnn`` (one column per hour,
  AR01 = first hour), integer read counts per reporter, then spike-in rows ``SPIKE_0..``.
- ``reporter_seq.txt``: tab-separated, no header: id, upper-case DNA sequence.
- ``truth.tsv``: id, y_true (noise-free log2 expression at ``to_hour`` minus at
  ``from_hour``), one column per element kind with the number of its sites in the
  sequence, early_rate, late_rate, onset, kmer_effect (the k-mer background's part of
  y_true) and sites (every site as ``kind:start``, 1-based, ``;``-separated).
- ``long_utrs.fa`` and ``long_utrs_truth.tsv`` (``simulate_long_utrs``): a few long 3'UTR-like
  sequences (600-1500 nt, the same background) with elements planted far apart at known
  positions (id, kind, start, end; 1-based, inclusive), for the workflow's predict stage.

Biology (maternal mRNA clearance in the zebrafish embryo, Rabani et al. 2017):

- Background: a first-order Markov chain with the real reporters' transition probabilities
  (REAL_TRANSITIONS; ``background_order: 0`` gives order-0 ``base_probs`` instead).
- Elements, each kind planted with its own probability (and rarely in extra copies) at random
  non-overlapping positions; chance sites of the background act as well. Known elements (the
  five of MORPH_O's table, decaylm/motifs.py): miR-430 site ``AGCACTT`` (seed GCACTT; an ``A``
  after it makes the stronger 8mer), AU-rich element ``TATTTAT``, Pumilio ``TGTAHATA``
  (H = A/C/T): late-onset destabilizing; poly-U (a run of >= 8 T): stabilizing, more so the
  longer the run; GC-rich stretch (a run of >= 10 G/C): early destabilizing, more so the
  longer the run. Not in that table (NOVEL_KINDS): UUAG (``TTAG``), early stabilizing, one of
  the two stabilizing signals Rabani et al. report; in the real data each TTAG adds +0.34 to
  the target and TTAG counts explain 5% of its variance beyond the known elements.
- Site strength: kind-specific weight (8mer vs 7mer, run length) times a mild position
  weight (sites nearer the 3' end act slightly more); copies of one kind give diminishing
  returns (the k-th strongest copy counts ``copy_decay**(k-1)``).
- A background of many weak k-mer effects, summed over every occurrence: every 1- to 4-mer
  (``short_kmer_max``) has a dense normal effect on the early and late rates (sd 0.004 and
  0.008 log2/h), composition-like as in the real data (where ridge on 1-4-mer counts explains
  44% of the target); a random tenth of the 6-mers (``kmer_density``) a sparse one (sd 0.015
  and 0.03). Drawn from their own streams (``kmer_seed``), so that every ``seed`` samples
  reporters of the same biology. The background makes about 70% of y_true's variance.
- Two-phase kinetics, log2 expression
  ``E(t) = g(t) - early_rate * t - late_rate * max(0, t - onset)`` (plus the log2 initial
  abundance), with a per-reporter onset near 5 h and per-reporter background rates.
  Rates are net log2 changes per hour and add up linearly over elements and k-mers. ``g(t)``
  (``match_real_trend``) is one offset per hour shared by all reporters, so that their mean
  E(t) - E(first hour) is the real data's (REAL_MEAN_LOG2: a fall of 1.8 by 2 h, 3.0 by 8 h,
  6.1 by 12 h); it moves every y_true by the same amount.
- Reads: at each hour the sequenced library holds reporter molecules
  (initial abundance, lognormal, times ``2**E(t)``), constant spike-in molecules and a
  constant pool of other RNA (15% of the library at the first hour); a time point's depth
  (lognormal around ``reads_per_reporter`` x reporters / ``reporter_fraction``, sd
  ``depth_sd``) is shared among them in proportion to molecule numbers, and counts are
  negative-binomial (overdispersed) around that. Reporter read totals therefore fall with
  time and spike-in reads rise, as in the real data, and dividing by the spike-in sum
  recovers expression.

Which sites count: truth columns hold the sites found by scanning the final sequence
(planted ones plus any the background made by chance), and y_true is computed from those
same sites, so the truth always agrees with the sequence.

Same seed gives byte-identical files (one ``numpy.random.default_rng(seed)`` stream; the
k-mer effects from ``kmer_seed``, the long 3'UTRs from ``(seed, 1)``).

Calibration (defaults, 4000 reporters; ``measure`` computes the same figures on real and
simulated files, ``python -m decaylm.simulate --real [folder]`` on the real ones and
``python -m decaylm.simulate [seed ...]`` on simulated ones; docs/simulator.md has the
commands and the history). Target as the pipeline computes it (normalize_counts with >= 20
reads at from_hour, compute_target: log2 8 h / 2 h). Share of the target's variance that the
five known elements explain: R2 of an OLS of the target on their per-kind site counts,
predicted out of fold (5-fold GroupKFold over the pipeline's 30-nt overlap groups).

- Real data (12,322 reporters): target mean -1.21 sd 1.10; known elements 0.141 (with UUAG
  0.192); reporters carrying a site: miR-430 1.2%, ARE 4.3%, Pumilio 3.5%, poly-U 6.6%,
  GC-rich 0.5%, UUAG 37%; median reads per reporter 176 / 111 / 92 / 10 at 0 / 2 / 8 / 12 h,
  spike-in reads 480 / 1068 / 1847 / 1939.
- Simulated, seeds 0-3 and 7: target mean -1.23 to -1.31, sd 1.06-1.09 (y_true sd 1.02-1.03);
  known elements 0.121-0.145 (seed 7: 0.142), with UUAG 0.177-0.203 (seed 7: 0.192); sites
  in miR-430 0.9-1.3%, ARE 3.8-4.4%, Pumilio 3.5-3.9%, poly-U 6.3-7.2%, GC-rich 0.5-0.8%,
  UUAG 45-47% of reporters; median reads at 0 / 2 / 8 / 12 h 138-216 / 98-162 / 57-78 /
  12-18, spike-in reads 374-454 at 0 h; measured target vs y_true r = 0.93-0.94; a char
  1-6-mer CountVectorizer + RidgeCV trained on the measured target of a random 80% scores
  R2 0.59-0.63 on the other 20% (0.69-0.73 against y_true).
- The previous simulator (seed 7): known elements 0.856, sites in 25-31% of reporters each
  (7-50 times the real rates), median reads 211 / 198 / 107 / 57, spike-ins 1.3-2.5 k, and a
  1-6-mer ridge R2 0.915 against y_true.

tests/test_simulate.py checks these figures.
"""


from __future__ import annotations

import dataclasses
import itertools
import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from decaylm.errors import InputError
from decaylm.io import atomic_path, write_tsv

log = logging.getLogger("decaylm.simulate")

# The first five are the MORPH_O tokenizer's known elements (decaylm/motifs.py, table `known`);
# `uuag` (UUAG, stabilizing in Rabani et al. 2017) is planted too but is not in that table.
KNOWN_KINDS: tuple[str, ...] = ("mir430", "are", "pumilio", "polyu", "gc_rich")
NOVEL_KINDS: tuple[str, ...] = ("uuag",)
ELEMENT_KINDS: tuple[str, ...] = KNOWN_KINDS + NOVEL_KINDS
BASES = "ACGT"
WHERE = "data.simulate"

# Scanners: how a site of each kind is recognised in a sequence.
_MIR430 = re.compile(r"(?=AGCACTT)")
_ARE = re.compile(r"(?=TATTTAT)")
_PUMILIO = re.compile(r"(?=TGTA[ACT]ATA)")
_UUAG = re.compile(r"(?=TTAG)")
_POLYU_MIN = 8
_GC_MIN = 10
_POLYU = re.compile(r"T{%d,}" % _POLYU_MIN)
_GC_RUN = re.compile(r"[GC]{%d,}" % _GC_MIN)


def _default_element_probs() -> dict[str, float]:
    # planted; chance sites of the background come on top (see the calibration in the docstring)
    return {"mir430": 0.002, "are": 0.017, "pumilio": 0.025, "polyu": 0.027, "gc_rich": 0.006, "uuag": 0.03}


def _default_early_effects() -> dict[str, float]:
    # log2 units per hour added to early_rate by one full-strength site
    return {"mir430": 0.0, "are": 0.0, "pumilio": 0.0, "polyu": -0.08, "gc_rich": 0.11, "uuag": -0.07}


def _default_late_effects() -> dict[str, float]:
    # log2 units per hour added to late_rate (after onset) by one full-strength site
    return {"mir430": 0.73, "are": 0.31, "pumilio": 0.24, "polyu": -0.11, "gc_rich": 0.0, "uuag": 0.0}


# Mean log2 expression of the real reporters relative to 0 h, per hour (Rabani et al. 2017 example
# data, ../shared/data/utrseq: log2((reads + 1) / spike-in sum), reporters with >= 20 reads at 2 h).
# With match_real_trend, a shared per-hour offset makes the simulated mean follow it.
REAL_MEAN_LOG2: dict[float, float] = {
    0: 0.0, 1: -0.79, 2: -1.77, 3: -1.81, 4: -1.54, 5: -2.36, 6: -2.45, 7: -2.72, 8: -2.99, 10: -4.51, 12: -6.09,
}


# First-order transition probabilities of the real reporters (row: base, column: next base, in ACGT
# order; measured on ../shared/data/utrseq/reporter_seq.txt). Their chance sites come near the real
# frequencies (an order-0 background of the same composition makes twice the real AREs).
REAL_TRANSITIONS: dict[str, list[float]] = {
    "A": [0.307, 0.190, 0.179, 0.324],
    "C": [0.338, 0.192, 0.099, 0.371],
    "G": [0.260, 0.203, 0.157, 0.380],
    "T": [0.195, 0.164, 0.233, 0.408],
}


@dataclass
class SimulationConfig:
    """Every knob of the simulator; defaults give data shaped like the real UTR-seq set."""

    n_reporters: int = 4000
    length: int = 110
    seed: int = 0
    hours: list[float] = field(default_factory=lambda: [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12])
    from_hour: float = 2
    to_hour: float = 8
    id_prefix: str = "SIM_T"
    # background: order 1 (REAL_TRANSITIONS, the first base from base_probs) or order 0 (base_probs);
    # base_probs are the real reporters' composition (A .26, C .18, G .18, T .37)
    background_order: int = 1
    base_probs: dict[str, float] = field(
        default_factory=lambda: {"A": 0.26, "C": 0.18, "G": 0.18, "T": 0.38}
    )
    # elements: probability that a reporter carries the kind; then each extra copy with
    # probability extra_copy_prob, up to max_copies
    element_probs: dict[str, float] = field(default_factory=_default_element_probs)
    extra_copy_prob: float = 0.08
    max_copies: int = 3
    copy_decay: float = 0.85
    position_slope: float = 0.1  # site weight runs from 1 - slope (5' end) to 1 + slope (3')
    mir430_8mer_prob: float = 0.5  # planted miR-430 sites that are 8mers (AGCACTTA)
    mir430_7mer_weight: float = 0.7  # strength of a 7mer relative to an 8mer
    polyu_lengths: list[int] = field(default_factory=lambda: [8, 10])  # planted run, inclusive
    gc_lengths: list[int] = field(default_factory=lambda: [10, 12])  # planted run, inclusive
    early_effects: dict[str, float] = field(default_factory=_default_early_effects)
    late_effects: dict[str, float] = field(default_factory=_default_late_effects)
    # background of many weak k-mer effects: each k-mer has an effect with probability kmer_density,
    # normal with these sds (log2 per hour, on early_rate and late_rate, per occurrence); drawn
    # from their own stream (kmer_seed), so every seed samples reporters of the same biology
    kmer_k: int = 6
    kmer_density: float = 0.1
    kmer_early_sd: float = 0.015
    kmer_late_sd: float = 0.03
    kmer_seed: int = 0
    # and dense short k-mer effects: every k-mer of 1 to short_kmer_max nt has a normal effect
    # (composition-like signals: in the real data 1-4-mers explain 44% of the target)
    short_kmer_max: int = 4
    short_early_sd: float = 0.004
    short_late_sd: float = 0.008
    # kinetics (log2 per hour)
    base_early_rate: float = 0.02
    early_rate_sd: float = 0.02
    base_late_rate: float = 0.08
    late_rate_sd: float = 0.1
    onset_mean: float = 5.0
    onset_sd: float = 0.15
    onset_min: float = 4.0
    onset_max: float = 6.0
    # a per-hour offset shared by all reporters, so that their mean log2 expression relative to the
    # first hour follows the real data's (REAL_MEAN_LOG2, linear between its hours)
    match_real_trend: bool = True
    # reads
    abundance_sd: float = 0.45  # natural-log sd of the initial abundance
    reads_per_reporter: float = 215.0  # mean reads per reporter at the first hour (real: 2.65 M / 12,322)
    depth_sd: float = 0.2  # natural-log sd of each time point's sequencing depth (lognormal, mean 1)
    reporter_fraction: float = 0.85  # share of the library that is reporters at the first hour
    spike_reads: float = 480.0  # expected spike-in reads (all five) at the first hour
    spike_weights: list[float] = field(default_factory=lambda: [0.5, 0.05, 0.06, 0.22, 0.12])
    dispersion: float = 0.02  # reporter reads, negative binomial: var = mu + dispersion * mu**2
    spike_dispersion: float = 0.001  # spike-in reads: near Poisson, as the real spike-ins agree
    # long 3'UTR-like sequences with elements at known positions (long_utrs.fa, for the predict stage)
    n_long_utrs: int = 6
    long_utr_lengths: list[int] = field(default_factory=lambda: [600, 1500])  # nt, inclusive range

    def __post_init__(self) -> None:
        self.element_probs = _merge_kinds("element_probs", self.element_probs, _default_element_probs())
        self.early_effects = _merge_kinds("early_effects", self.early_effects, _default_early_effects())
        self.late_effects = _merge_kinds("late_effects", self.late_effects, _default_late_effects())
        self._validate()
        self._validate_long_utrs()

    def _validate_long_utrs(self) -> None:
        n, lengths = self.n_long_utrs, self.long_utr_lengths
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= 1000:
            raise InputError(f"{WHERE}.n_long_utrs", f"must be an integer from 1 to 1000, got {n!r}")
        if (
            not isinstance(lengths, (list, tuple))
            or len(lengths) != 2
            or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in lengths)
            or not LONG_UTR_MIN_LENGTH <= lengths[0] <= lengths[1]
        ):
            raise InputError(f"{WHERE}.long_utr_lengths",
                             f"must be [shortest, longest] with {LONG_UTR_MIN_LENGTH} <= shortest <= longest, got {lengths!r}")

    def _validate(self) -> None:
        def bad(key: str, problem: str, fix: str = "") -> InputError:
            return InputError(f"{WHERE}.{key}", problem, fix)

        for key in ("n_reporters", "length", "seed", "max_copies", "kmer_k", "kmer_seed", "background_order",
                    "short_kmer_max"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise bad(key, f"must be an integer, got {value!r}")
        if self.n_reporters < 1:
            raise bad("n_reporters", f"must be at least 1, got {self.n_reporters}")
        if self.seed < 0:
            raise bad("seed", f"must be >= 0, got {self.seed}")
        if self.max_copies < 1:
            raise bad("max_copies", f"must be at least 1, got {self.max_copies}")
        if self.background_order not in (0, 1):
            raise bad("background_order", f"must be 0 or 1, got {self.background_order}")
        if not 1 <= self.kmer_k <= 8:
            raise bad("kmer_k", f"must be from 1 to 8, got {self.kmer_k}")
        if not 0 <= self.short_kmer_max <= 6:
            raise bad("short_kmer_max", f"must be from 0 to 6, got {self.short_kmer_max}")
        if self.kmer_seed < 0:
            raise bad("kmer_seed", f"must be >= 0, got {self.kmer_seed}")
        if not isinstance(self.match_real_trend, bool):
            raise bad("match_real_trend", f"must be true or false, got {self.match_real_trend!r}")
        floats = [f.name for f in dataclasses.fields(self) if f.type in ("float", float)]
        for key in floats:
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not math.isfinite(value):
                raise bad(key, f"must be a finite number, got {value!r}")
        for key in ("extra_copy_prob", "mir430_8mer_prob", "copy_decay", "kmer_density"):
            if not 0 <= getattr(self, key) <= 1:
                raise bad(key, f"must be between 0 and 1, got {getattr(self, key)}")
        if not 0 < self.reporter_fraction <= 1:
            raise bad("reporter_fraction", f"must be in (0, 1], got {self.reporter_fraction}")
        for key in ("early_rate_sd", "late_rate_sd", "onset_sd", "abundance_sd", "dispersion", "spike_dispersion", "position_slope", "mir430_7mer_weight",
                    "kmer_early_sd", "kmer_late_sd", "short_early_sd", "short_late_sd", "depth_sd"):
            if getattr(self, key) < 0:
                raise bad(key, f"must be >= 0, got {getattr(self, key)}")
        if self.position_slope >= 1:
            raise bad("position_slope", f"must be below 1, got {self.position_slope}")
        if self.reads_per_reporter <= 0:
            raise bad("reads_per_reporter", f"must be > 0, got {self.reads_per_reporter}")
        if self.spike_reads <= 0:
            raise bad("spike_reads", f"must be > 0, got {self.spike_reads}")
        if not self.onset_min <= self.onset_mean <= self.onset_max:
            raise bad("onset_mean", f"must lie in [onset_min, onset_max] = [{self.onset_min}, {self.onset_max}]")

        # hours
        if not isinstance(self.hours, (list, tuple)) or not all(
            isinstance(h, (int, float, np.number)) and not isinstance(h, bool) for h in self.hours
        ):
            raise bad("hours", f"must be a list of numbers, got {self.hours!r}")
        hours = [float(h) for h in self.hours]
        if len(hours) < 2 or any(b <= a for a, b in zip(hours, hours[1:])) or hours[0] < 0:
            raise bad("hours", f"must be at least two increasing hours >= 0, got {self.hours!r}")
        for key in ("from_hour", "to_hour"):
            if float(getattr(self, key)) not in hours:
                raise bad(key, f"{getattr(self, key)} is not one of the hours {list(self.hours)}",
                          "choose hours listed in data.hours")
        if not self.from_hour < self.to_hour:
            raise bad("to_hour", f"must be later than from_hour ({self.from_hour}), got {self.to_hour}")

        # composition
        probs = self.base_probs
        if not isinstance(probs, Mapping) or set(probs) != set(BASES):
            raise bad("base_probs", f"must map each of A, C, G, T to a probability, got {probs!r}")
        values = [probs[b] for b in BASES]
        if any(not isinstance(v, (int, float)) or v < 0 for v in values) or not math.isclose(sum(values), 1.0, abs_tol=1e-6):
            raise bad("base_probs", f"must be non-negative and sum to 1, got {probs!r}")
        for key, value in self.element_probs.items():
            if not 0 <= value <= 1:
                raise bad(f"element_probs.{key}", f"must be between 0 and 1, got {value}")

        # planted run lengths
        for key, minimum in (("polyu_lengths", _POLYU_MIN), ("gc_lengths", _GC_MIN)):
            pair = getattr(self, key)
            if (
                not isinstance(pair, (list, tuple))
                or len(pair) != 2
                or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in pair)
                or not minimum <= pair[0] <= pair[1]
            ):
                raise bad(key, f"must be [shortest, longest] with {minimum} <= shortest <= longest, got {pair!r}")

        # room for at least the longest single element (more are dropped if they do not fit)
        longest = max(8, self.polyu_lengths[1] + 2, self.gc_lengths[1] + 2)
        if self.length < longest:
            raise bad("length", f"{self.length} nt cannot hold a {longest}-nt element", "raise length")

        prefix = self.id_prefix
        if not isinstance(prefix, str) or not prefix or any(ch.isspace() for ch in prefix) or prefix.startswith("SPIKE"):
            raise bad("id_prefix", f"must be a non-empty word not starting with SPIKE, got {prefix!r}")

        weights = self.spike_weights
        if not isinstance(weights, (list, tuple)) or not weights or any(not isinstance(w, (int, float)) or w <= 0 for w in weights):
            raise bad("spike_weights", f"must be a non-empty list of positive numbers, got {weights!r}")


_MIN_GAP = 2  # nt between planted elements, so that they cannot merge into one site


def _merge_kinds(key: str, given, defaults: dict[str, float]) -> dict[str, float]:
    """Fill a per-element dict from its defaults; unknown kinds or non-numbers are errors."""
    if not isinstance(given, Mapping):
        raise InputError(f"{WHERE}.{key}", f"must map element kinds to numbers, got {given!r}", f"kinds: {', '.join(ELEMENT_KINDS)}")
    merged = dict(defaults)
    for kind, value in given.items():
        if kind not in ELEMENT_KINDS:
            raise InputError(f"{WHERE}.{key}.{kind}", "unknown element kind", f"use one of {', '.join(ELEMENT_KINDS)}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise InputError(f"{WHERE}.{key}.{kind}", f"must be a finite number, got {value!r}")
        merged[kind] = float(value)
    return merged


def config_from_params(params) -> SimulationConfig:
    """Build a SimulationConfig from a config dict (``data.simulate``); unknown keys are errors."""
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise InputError(WHERE, f"must be a mapping of simulator settings, got {type(params).__name__}")
    known = {f.name for f in dataclasses.fields(SimulationConfig)}
    for key in params:
        if key not in known:
            raise InputError(f"{WHERE}.{key}", "unknown setting", f"known: {', '.join(sorted(known))}")
    return SimulationConfig(**dict(params))


# ----------------------------------------------------------------------------------------
# sequences


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


def _plant_elements(cfg: SimulationConfig, rng: np.random.Generator) -> list[str]:
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


def kmer_effects(cfg: SimulationConfig) -> tuple[np.ndarray, np.ndarray]:
    """The background's per-k-mer effects on early_rate and late_rate (4**k each; k-mer id base 4, A=0).

    Each k-mer has an effect with probability `kmer_density`; effects are normal with sds
    `kmer_early_sd` and `kmer_late_sd`, from their own stream seeded by `kmer_seed`.
    """
    rng = np.random.default_rng([cfg.kmer_seed, 2])
    size = 4**cfg.kmer_k
    active = rng.random(size) < cfg.kmer_density
    early = np.where(active, cfg.kmer_early_sd * rng.standard_normal(size), 0.0)
    late = np.where(active, cfg.kmer_late_sd * rng.standard_normal(size), 0.0)
    return early, late


def _kmer_ids(sequences: list[str], k: int) -> np.ndarray:
    """Ids (base 4, A=0) of every overlapping k-mer window: reporters x windows (equal lengths)."""
    codes = np.zeros(256, dtype=np.int64)
    for value, base in enumerate(BASES):
        codes[ord(base)] = value
    seq = codes[np.frombuffer("".join(sequences).encode("ascii"), dtype=np.uint8)].reshape(len(sequences), -1)
    windows = np.lib.stride_tricks.sliding_window_view(seq, k, axis=1)
    return windows @ (4 ** np.arange(k - 1, -1, -1))


def short_kmer_effects(cfg: SimulationConfig) -> list[tuple[np.ndarray, np.ndarray]]:
    """Dense effects (early, late) of every k-mer of k = 1 .. short_kmer_max nt (index: k - 1), drawn
    from their own stream seeded by (kmer_seed, 3)."""
    rng = np.random.default_rng([cfg.kmer_seed, 3])
    return [(cfg.short_early_sd * rng.standard_normal(4**k), cfg.short_late_sd * rng.standard_normal(4**k))
            for k in range(1, cfg.short_kmer_max + 1)]


def background_rates(cfg: SimulationConfig, sequences: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per reporter: the sum of the background k-mer effects over its windows (early, late)."""
    early, late = kmer_effects(cfg)
    ids = _kmer_ids(sequences, cfg.kmer_k)
    total_early, total_late = early[ids].sum(axis=1), late[ids].sum(axis=1)
    for k, (short_early, short_late) in enumerate(short_kmer_effects(cfg), start=1):
        ids = _kmer_ids(sequences, k)
        total_early = total_early + short_early[ids].sum(axis=1)
        total_late = total_late + short_late[ids].sum(axis=1)
    return total_early, total_late


def count_sites(sequence: str) -> dict[str, int]:
    """Number of sites of each element kind in `sequence` (as truth.tsv reports them)."""
    return {kind: len(found) for kind, found in find_sites(sequence).items()}


def _element_strength(cfg: SimulationConfig, sequences: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per reporter: site counts and combined strength per kind (n x kinds)."""
    n, k = len(sequences), len(ELEMENT_KINDS)
    counts = np.zeros((n, k), dtype=np.int64)
    strength = np.zeros((n, k))
    for i, seq in enumerate(sequences):
        found_by_kind = find_sites(seq, cfg.mir430_7mer_weight)
        for j, kind in enumerate(ELEMENT_KINDS):
            found = found_by_kind[kind]
            counts[i, j] = len(found)
            if not found:
                continue
            values = []
            for start, weight in found:
                where = min((start + 4) / (len(seq) - 1), 1.0)  # ~ site centre: 0 = 5' end, 1 = 3' end
                values.append(weight * (1 + cfg.position_slope * (2 * where - 1)))
            values.sort(reverse=True)
            strength[i, j] = sum(v * cfg.copy_decay**r for r, v in enumerate(values))
    return counts, strength


# ----------------------------------------------------------------------------------------
# kinetics and reads


def log2_expression(hours, early_rate, late_rate, onset) -> np.ndarray:
    """Two-phase log2 expression relative to the first moment: reporters x hours."""
    t = np.asarray(hours, dtype=float)[None, :]
    early = np.asarray(early_rate, dtype=float)[:, None]
    late = np.asarray(late_rate, dtype=float)[:, None]
    on = np.asarray(onset, dtype=float)[:, None]
    return -early * t - late * np.maximum(0.0, t - on)


def _negative_binomial(rng: np.random.Generator, mu: np.ndarray, dispersion: float) -> np.ndarray:
    if dispersion == 0:
        return rng.poisson(mu)
    size = 1.0 / dispersion
    return rng.negative_binomial(size, size / (size + mu))


def ar_columns(n_hours: int) -> list[str]:
    width = max(2, len(str(n_hours)))
    return [f"AR{i + 1:0{width}d}" for i in range(n_hours)]


def real_trend(hours) -> np.ndarray:
    """The real reporters' mean log2 expression relative to the first hour, at `hours` (linear between
    the measured hours, flat outside them)."""
    known = np.array(sorted(REAL_MEAN_LOG2), dtype=float)
    values = np.interp(np.asarray(hours, dtype=float), known, [REAL_MEAN_LOG2[h] for h in sorted(REAL_MEAN_LOG2)])
    return values - values[0]


def simulate(cfg: SimulationConfig) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Simulate one MPRA: (counts with id + ARnn and spike rows, sequences, truth)."""
    rng = np.random.default_rng(cfg.seed)
    n = cfg.n_reporters
    hours = [float(h) for h in cfg.hours]
    ids = [f"{cfg.id_prefix}{i + 1}" for i in range(n)]

    sequences = _plant_elements(cfg, rng)
    counts_per_kind, strength = _element_strength(cfg, sequences)
    early_w = np.array([cfg.early_effects[k] for k in ELEMENT_KINDS])
    late_w = np.array([cfg.late_effects[k] for k in ELEMENT_KINDS])

    bg_early, bg_late = background_rates(cfg, sequences)
    early_rate = cfg.base_early_rate + cfg.early_rate_sd * rng.standard_normal(n) + strength @ early_w + bg_early
    late_rate = cfg.base_late_rate + cfg.late_rate_sd * rng.standard_normal(n) + strength @ late_w + bg_late
    onset = np.clip(cfg.onset_mean + cfg.onset_sd * rng.standard_normal(n), cfg.onset_min, cfg.onset_max)

    expr = log2_expression(hours, early_rate, late_rate, onset)
    if cfg.match_real_trend:
        expr += real_trend(hours) - (expr - expr[:, :1]).mean(axis=0)
    i_from, i_to = hours.index(float(cfg.from_hour)), hours.index(float(cfg.to_hour))
    y_true = expr[:, i_to] - expr[:, i_from]
    bg_expr = log2_expression([cfg.from_hour, cfg.to_hour], bg_early, bg_late, onset)
    kmer_part = bg_expr[:, 1] - bg_expr[:, 0]

    # molecules: reporters (mean initial abundance 1), spike-ins and other RNA, constant
    abundance = np.exp(cfg.abundance_sd * rng.standard_normal(n) - cfg.abundance_sd**2 / 2)
    reporters = abundance[:, None] * np.exp2(expr - expr[:, :1].mean())  # n x hours, mean 1 at the first hour
    other = reporters[:, 0].sum() * (1.0 / cfg.reporter_fraction - 1.0)
    mean_depth = cfg.reads_per_reporter * n / cfg.reporter_fraction
    library0 = reporters[:, 0].sum() + other
    spike_total = cfg.spike_reads * library0 / (mean_depth - cfg.spike_reads)
    weights = np.asarray(cfg.spike_weights, dtype=float)
    spikes = spike_total * weights / weights.sum()

    depth = mean_depth * np.exp(cfg.depth_sd * rng.standard_normal(len(hours)) - cfg.depth_sd**2 / 2)
    library = reporters.sum(axis=0) + spikes.sum() + other  # molecules per hour
    reads_per_molecule = depth / library
    reporter_reads = _negative_binomial(rng, reporters * reads_per_molecule, cfg.dispersion)
    spike_reads = _negative_binomial(rng, spikes[:, None] * reads_per_molecule[None, :], cfg.spike_dispersion)

    columns = ar_columns(len(hours))
    count_ids = ids + [f"SPIKE_{s}" for s in range(len(spikes))]
    counts = pd.DataFrame(np.vstack([reporter_reads, spike_reads]).astype(np.int64), columns=columns)
    counts.insert(0, "id", count_ids)

    seqs = pd.DataFrame({"id": ids, "sequence": sequences})

    truth = pd.DataFrame({"id": ids, "y_true": y_true})
    for j, kind in enumerate(ELEMENT_KINDS):
        truth[kind] = counts_per_kind[:, j]
    truth["early_rate"] = early_rate
    truth["late_rate"] = late_rate
    truth["onset"] = onset
    truth["kmer_effect"] = kmer_part
    truth["sites"] = [sites_text(seq) for seq in sequences]
    log.info(
        "simulated %d reporters x %d hours (seed %d): y_true mean %.2f sd %.2f",
        n, len(hours), cfg.seed, y_true.mean(), y_true.std(),
    )
    return counts, seqs, truth


# ----------------------------------------------------------------------------------------
# output

COUNTS_NAME = "reporter_counts.txt"
SEQUENCES_NAME = "reporter_seq.txt"
TRUTH_NAME = "truth.tsv"


def write_outputs(frames, counts_path, sequences_path, truth_path) -> None:
    """Write simulate()'s three frames atomically in the UTR-seq layout."""
    counts, seqs, truth = frames
    write_tsv(counts, counts_path)
    with atomic_path(sequences_path) as tmp:
        seqs[["id", "sequence"]].to_csv(tmp, sep="\t", index=False, header=False)
    write_tsv(truth, truth_path)


def write_simulation(cfg: SimulationConfig, out_dir) -> None:
    """Simulate and write reporter_counts.txt, reporter_seq.txt and truth.tsv into out_dir."""
    out = Path(out_dir)
    write_outputs(simulate(cfg), out / COUNTS_NAME, out / SEQUENCES_NAME, out / TRUTH_NAME)


# ----------------------------------------------------------------------------------------
# long 3'UTR-like sequences for the predict stage

LONG_UTRS_NAME = "long_utrs.fa"
LONG_TRUTH_NAME = "long_utrs_truth.tsv"
LONG_UTR_MIN_LENGTH = 300
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


# ----------------------------------------------------------------------------------------
# calibration: `python -m decaylm.simulate [seed ...]`


def site_counts(sequences) -> pd.DataFrame:
    """Sites per kind (columns ELEMENT_KINDS) of each sequence, as truth.tsv counts them."""
    return pd.DataFrame([count_sites(seq) for seq in sequences], columns=list(ELEMENT_KINDS))


def element_share(sites: pd.DataFrame, y, groups, kinds=KNOWN_KINDS, folds: int = 5) -> float:
    """Share of the variance of `y` that the site counts of `kinds` explain: R2 of an OLS of y on the
    per-kind counts, predicted out of fold (GroupKFold over `groups`, e.g. overlap groups)."""
    from sklearn.linear_model import LinearRegression
    from sklearn.metrics import r2_score
    from sklearn.model_selection import GroupKFold, cross_val_predict

    x = sites[list(kinds)].to_numpy(dtype=float)
    predicted = cross_val_predict(LinearRegression(), x, y, groups=groups, cv=GroupKFold(folds))
    return float(r2_score(y, predicted))


def depth_summary(counts: pd.DataFrame) -> dict[str, list[float]]:
    """Per time point: median and mean reads per reporter, and the spike-in read sum."""
    table = counts.set_index("id")
    is_spike = table.index.str.startswith("SPIKE_")
    reporters = table.loc[~is_spike]
    return {
        "median_reads": [float(v) for v in reporters.median()],
        "mean_reads": [round(float(v), 1) for v in reporters.mean()],
        "spike_reads": [float(v) for v in table.loc[is_spike].sum()],
    }


def measure(counts: pd.DataFrame, sequences: pd.DataFrame, hours, from_hour=2, to_hour=8, min_reads: int = 20,
            pseudocount: float = 1.0, group_overlap_nt: int = 30) -> dict:
    """The figures the calibration matches, computed the same way on real and simulated files.

    Target as the pipeline computes it (decaylm.expression.normalize_counts, reporters with
    >= min_reads at from_hour, then decaylm.target.compute_target); groups as the pipeline's
    overlap split (decaylm.split.overlap_groups); shares of variance by `element_share`.
    """
    from decaylm.expression import normalize_counts
    from decaylm.sources import RawCounts
    from decaylm.split import overlap_groups
    from decaylm.target import compute_target

    table = counts.set_index("id")
    table.columns = [float(h) for h in hours]
    is_spike = table.index.str.startswith("SPIKE_")
    raw = RawCounts(reporters=table.loc[~is_spike], spikes=table.loc[is_spike],
                    sequences=sequences.set_index("id")["sequence"])
    target = compute_target(normalize_counts(raw, pseudocount, min_reads, [float(from_hour)]), "difference",
                            float(from_hour), float(to_hour))
    y = target["y"].to_numpy()
    groups = overlap_groups(target["sequence"].tolist(), group_overlap_nt)
    sites = site_counts(target["sequence"])
    return {
        "reporters": int((~is_spike).sum()),
        "kept": len(target),
        "target_mean": float(y.mean()),
        "target_sd": float(y.std()),
        "share_known": element_share(sites, y, groups, KNOWN_KINDS),
        "share_all": element_share(sites, y, groups, ELEMENT_KINDS),
        "carry": {k: float((sites[k] > 0).mean()) for k in ELEMENT_KINDS},
        "sites_per_reporter": {k: float(sites[k].mean()) for k in ELEMENT_KINDS},
        **depth_summary(counts),
    }


def measure_real(folder, hours=(0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12)) -> dict:
    """`measure` on a UTR-seq folder (reporter_counts.txt, reporter_seq.txt), e.g. the real data."""
    folder = Path(folder)
    counts = pd.read_csv(folder / COUNTS_NAME, sep="\t")
    sequences = pd.read_csv(folder / SEQUENCES_NAME, sep="\t", header=None, names=["id", "sequence"])
    return measure(counts, sequences, list(hours))


def calibrate(cfg: SimulationConfig, min_reads: int = 20, pseudocount: float = 1.0) -> dict:
    """Numbers that show the simulated data are shaped like the real data, and learnable.

    `measure` on the simulated files, plus: the share of y_true's variance due to the k-mer
    background (var of truth.tsv's kmer_effect over var of y_true), the correlation of the
    measured target with y_true, and a char 1-6-mer CountVectorizer + RidgeCV (alpha by 3-fold
    CV) trained on the measured target of a random 80% and scored by R2 against the measured
    target and against y_true of the other 20%.
    """
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import RidgeCV
    from sklearn.metrics import r2_score

    counts, seqs, truth = simulate(cfg)
    numbers = measure(counts, seqs, cfg.hours, cfg.from_hour, cfg.to_hour, min_reads, pseudocount)
    hours = [float(h) for h in cfg.hours]
    columns = ar_columns(len(hours))
    col_from, col_to = columns[hours.index(float(cfg.from_hour))], columns[hours.index(float(cfg.to_hour))]
    table = counts.set_index("id")
    spikes = table.loc[table.index.str.startswith("SPIKE_")].sum()
    reporters = table.loc[truth["id"]]
    log2 = np.log2((reporters + pseudocount) / spikes)
    measured = (log2[col_to] - log2[col_from]).to_numpy()
    keep = reporters[col_from].to_numpy() >= min_reads
    y, y_true, sequences = measured[keep], truth["y_true"].to_numpy()[keep], seqs["sequence"].to_numpy()[keep]

    order = np.random.default_rng(cfg.seed + 1).permutation(len(y))
    n_train = int(0.8 * len(y))
    train, test = order[:n_train], order[n_train:]
    vectorizer = CountVectorizer(analyzer="char", ngram_range=(1, 6), lowercase=False)
    model = RidgeCV(alphas=(10.0, 30.0, 100.0, 300.0, 1000.0), cv=3).fit(
        vectorizer.fit_transform(sequences[train]), y[train])
    predicted = model.predict(vectorizer.transform(sequences[test]))
    return {
        **numbers,
        "y_true_mean": float(y_true.mean()),
        "y_true_sd": float(y_true.std()),
        "kmer_background_share_of_y_true": float(truth["kmer_effect"].var() / truth["y_true"].var()),
        "corr_target_truth": float(np.corrcoef(y, y_true)[0, 1]),
        "kmer_ridge_alpha": float(model.alpha_),
        "kmer_ridge_r2": float(r2_score(y[test], predicted)),
        "kmer_ridge_r2_vs_truth": float(r2_score(y_true[test], predicted)),
    }


def _format(numbers: dict) -> str:
    def one(value):
        if isinstance(value, float):
            return f"{value:.3f}" if abs(value) < 100 else f"{value:.0f}"
        if isinstance(value, dict):
            return "{" + ", ".join(f"{k} {one(v)}" for k, v in value.items()) + "}"
        if isinstance(value, list):
            return "[" + " ".join(one(v) for v in value) + "]"
        return str(value)

    return "\n".join(f"  {key}: {one(value)}" for key, value in numbers.items())


if __name__ == "__main__":
    import sys

    args = sys.argv[1:]
    if args[:1] == ["--real"]:
        folder = args[1] if len(args) > 1 else str(Path(__file__).resolve().parents[2] / "shared" / "data" / "utrseq")
        print(f"real data {folder}:\n" + _format(measure_real(folder)))
    else:
        for seed_arg in args or ["0"]:
            print(f"seed {seed_arg}:\n" + _format(calibrate(SimulationConfig(seed=int(seed_arg)))))
