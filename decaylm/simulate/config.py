"""The simulator's settings: SimulationConfig (every knob and its default) and its checks.

`config_from_params` builds it from the config key ``data.simulate``; errors name the key
(``data.simulate.<setting>``). The defaults give data shaped like the real UTR-seq set
(decaylm/simulate/calibration.py has the figures).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from decaylm.errors import InputError
from decaylm.simulate.elements import BASES, ELEMENT_KINDS, GC_MIN_RUN, POLYU_MIN_RUN


WHERE = "data.simulate"  # the config key that errors name
# the shortest long 3'UTR (long_utr_lengths) that holds its elements far apart (decaylm/simulate/long_utrs.py)
LONG_UTR_MIN_LENGTH = 300


def _default_element_probs() -> dict[str, float]:
    # planted; chance sites of the background come on top (see the calibration, decaylm/simulate/calibration.py)
    return {"mir430": 0.002, "are": 0.017, "pumilio": 0.025, "polyu": 0.027, "gc_rich": 0.006, "uuag": 0.03}


def _default_early_effects() -> dict[str, float]:
    # log2 units per hour added to early_rate by one full-strength site
    return {"mir430": 0.0, "are": 0.0, "pumilio": 0.0, "polyu": -0.08, "gc_rich": 0.11, "uuag": -0.07}


def _default_late_effects() -> dict[str, float]:
    # log2 units per hour added to late_rate (after onset) by one full-strength site
    return {"mir430": 0.73, "are": 0.31, "pumilio": 0.24, "polyu": -0.11, "gc_rich": 0.0, "uuag": 0.0}


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
    # the k-th strongest copy of a kind counts copy_decay**(k-1); 0.85 until the context term, whose
    # change brought the simulated gain of copies and spacing nearer the real one (docs/simulator.md)
    copy_decay: float = 0.92
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
    # and a non-additive term, context-dependent motifs (decaylm/simulate/kinetics.py `context_rates`):
    # context_count random context_k-mers (weighted by their frequency in the background, none a part
    # of a planted element) whose effect per site grows with the A/T share of the context_flank nt on
    # each side (accessibility) and shrinks in G/C-rich flanks: normal per motif with these sds (log2
    # per hour per site, for flanks 10 points more A/T than the background's mean), from their own
    # stream (kmer_seed). Both sds 0: off, and the files are those of the simulator without the term.
    context_count: int = 8
    context_k: int = 4
    context_flank: int = 15
    context_early_sd: float = 0.028
    context_late_sd: float = 0.056
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
                    "short_kmer_max", "context_count", "context_k", "context_flank"):
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
        if not 2 <= self.context_k <= 8:
            raise bad("context_k", f"must be from 2 to 8, got {self.context_k}")
        if not 1 <= self.context_count <= 64:
            raise bad("context_count", f"must be from 1 to 64, got {self.context_count}")
        if not 1 <= self.context_flank <= self.length:
            raise bad("context_flank", f"must be from 1 to length ({self.length}), got {self.context_flank}")
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
                    "kmer_early_sd", "kmer_late_sd", "short_early_sd", "short_late_sd", "depth_sd", "context_early_sd",
                    "context_late_sd"):
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
        for key, minimum in (("polyu_lengths", POLYU_MIN_RUN), ("gc_lengths", GC_MIN_RUN)):
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
