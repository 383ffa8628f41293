"""From sequence to noise-free log2 expression: decay rates and two-phase kinetics.

- Site strength: kind-specific weight (8mer vs 7mer, run length; `find_sites`) times a mild
  position weight (sites nearer the 3' end act slightly more); copies of one kind give
  diminishing returns (the k-th strongest copy counts ``copy_decay**(k-1)``).
- A background of many weak k-mer effects, summed over every occurrence: every 1- to 4-mer
  (``short_kmer_max``) has a dense normal effect on the early and late rates (sd 0.004 and
  0.008 log2/h), composition-like as in the real data (where ridge on 1-4-mer counts explains
  44% of the target); a random tenth of the 6-mers (``kmer_density``) a sparse one (sd 0.015
  and 0.03). Drawn from their own streams (``kmer_seed``), so that every ``seed`` samples
  reporters of the same biology. The background makes about 60% of y_true's variance.
- A non-additive term, context-dependent motifs (`context_rates`): a site's effect depends on the
  nucleotides around it, beyond any k-mer. Eight common 4-mers (``context_count``, ``context_k``;
  drawn in proportion to their frequency in the background, none a part of a planted element) act
  per site in proportion to how much more A/T the 15 nt on each side hold (``context_flank``) than
  the background's mean, and the other way in G/C-rich flanks: a site in unstructured, A/U-rich
  sequence is open to its binding protein, one in G/C-rich sequence is paired and occluded (local
  A/U context sets the efficacy of miRNA sites, Grimson et al. 2007; structure hides RBP sites).
  The motif's mean effect is in the k-mer background; this term is the part that depends on its
  context, so a ridge on 1-6-mer counts fits little of it (R2 about 0.1 out of fold), while a
  convolution spanning motif and flanks (37 nt for the CNN) can. Sized to the real data's share
  of non-additive signal (docs/simulator.md): about 17% of y_true's variance, 0.08 of the target's
  out of fold beyond a k-mer ridge (``context_early_sd``, ``context_late_sd``). Drawn from its own
  stream ((``kmer_seed``, 4)), so it shifts no other draw; with both sds 0 it is off and the files
  are as before it.
- Two-phase kinetics, log2 expression
  ``E(t) = g(t) - early_rate * t - late_rate * max(0, t - onset)`` (plus the log2 initial
  abundance), with a per-reporter onset near 5 h and per-reporter background rates.
  Rates are net log2 changes per hour and add up linearly over elements and k-mers. ``g(t)``
  (``match_real_trend``, `real_trend`) is one offset per hour shared by all reporters, so that
  their mean E(t) - E(first hour) is the real data's (REAL_MEAN_LOG2: a fall of 1.8 by 2 h, 3.0
  by 8 h, 6.1 by 12 h); it moves every y_true by the same amount.

Effects per element kind (``early_effects``, ``late_effects``; Rabani et al. 2017): miR-430,
ARE and Pumilio late-onset destabilizing; poly-U stabilizing, more so the longer the run;
GC-rich early destabilizing, more so the longer the run; UUAG early stabilizing (in the real
data each TTAG adds +0.34 to the target).
"""

from __future__ import annotations

import re

import numpy as np

from decaylm.simulate.config import SimulationConfig
from decaylm.simulate.elements import BASES, ELEMENT_KINDS, find_sites


# Mean log2 expression of the real reporters relative to 0 h, per hour (Rabani et al. 2017 example
# data, ../shared/data/utrseq: log2((reads + 1) / spike-in sum), reporters with >= 20 reads at 2 h).
# With match_real_trend, a shared per-hour offset makes the simulated mean follow it.
REAL_MEAN_LOG2: dict[float, float] = {
    0: 0.0, 1: -0.79, 2: -1.77, 3: -1.81, 4: -1.54, 5: -2.36, 6: -2.45, 7: -2.72, 8: -2.99, 10: -4.51, 12: -6.09,
}


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


# The planted elements' forms (decaylm/simulate/sequences.py `_motif`); no context motif is a part of
# one or holds one, so that the term stays apart from the elements (and their interpretation).
_ELEMENT_FORMS = ("AGCACTTA", "AGCACTTC", "AGCACTTG", "AGCACTTT", "TATTTAT", "TGTAAATA", "TGTACATA", "TGTATATA",
                  "TTAG")
CONTEXT_UNIT = 0.1  # the context term's sds are per site whose flanks are this much more A/T than the mean


def _kmer_words(k: int) -> list[str]:
    return ["".join(BASES[(i // 4 ** (k - 1 - j)) % 4] for j in range(k)) for i in range(4**k)]


def background_kmer_probs(cfg: SimulationConfig, k: int) -> np.ndarray:
    """Probability of each k-mer (id base 4, A=0) in the background chain (decaylm/simulate/sequences.py):
    the first base from base_probs, then REAL_TRANSITIONS (background_order 1) or base_probs (order 0)."""
    from decaylm.simulate.sequences import REAL_TRANSITIONS

    first = np.array([cfg.base_probs[b] for b in BASES])
    step = (np.array([REAL_TRANSITIONS[b] for b in BASES]) if cfg.background_order == 1
            else np.tile(first, (4, 1)))
    step = step / step.sum(axis=1, keepdims=True)
    probs = first
    for _ in range(k - 1):
        probs = (probs[:, None] * step[np.arange(len(probs)) % 4]).reshape(-1)  # id * 4 + next base
    return probs / probs.sum()


def context_motifs(cfg: SimulationConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The context-dependent motifs: ids (base 4, A=0) of context_count distinct context_k-mers, drawn in
    proportion to their frequency in the background from those that are no part of a planted element's
    form and hold none (no T run of 8, no G/C run, not TTAG); and each motif's effects on early_rate and
    late_rate per site at flanks CONTEXT_UNIT more A/T than the mean. From their own stream, seeded by
    (kmer_seed, 4): the term draws nothing from the reporters' stream."""
    rng = np.random.default_rng([cfg.kmer_seed, 4])
    k = cfg.context_k
    forms = _ELEMENT_FORMS + ("A" + "T" * cfg.polyu_lengths[1] + "A",)
    allowed = np.array([not any(word in form or form in word for form in forms)
                        and not re.fullmatch(r"A?[GC]+T?", word)  # a part of a planted G/C run with its flanks
                        for word in _kmer_words(k)])
    probs = np.where(allowed, background_kmer_probs(cfg, k), 0.0)
    count = min(cfg.context_count, int(allowed.sum()))
    ids = rng.choice(4**k, size=count, replace=False, p=probs / probs.sum())
    early = cfg.context_early_sd * rng.standard_normal(count)
    late = cfg.context_late_sd * rng.standard_normal(count)
    return ids, early, late


def context_sites(cfg: SimulationConfig, sequences: list[str]) -> np.ndarray:
    """Reporters x motifs: the sum over each motif's sites of (A/T share of the context_flank nt on either
    side of the site - the background's A/T share) / CONTEXT_UNIT."""
    ids, _, _ = context_motifs(cfg)
    k, flank = cfg.context_k, cfg.context_flank
    windows = _kmer_ids(sequences, k)
    length = windows.shape[1] + k - 1
    at = np.frombuffer("".join(sequences).encode("ascii"), dtype=np.uint8).reshape(len(sequences), length)
    at = (at == ord("A")) | (at == ord("T"))
    cumulative = np.concatenate([np.zeros((len(sequences), 1)), np.cumsum(at, axis=1)], axis=1)
    start = np.arange(windows.shape[1])
    left, right = np.maximum(start - flank, 0), np.minimum(start + k + flank, length)
    share = ((cumulative[:, start] - cumulative[:, left] + cumulative[:, right] - cumulative[:, start + k])
             / (start - left + right - start - k))
    centre = cfg.base_probs["A"] + cfg.base_probs["T"]
    deviation = (share - centre) / CONTEXT_UNIT
    return np.stack([np.where(windows == motif, deviation, 0.0).sum(axis=1) for motif in ids], axis=1)


def context_rates(cfg: SimulationConfig, sequences: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per reporter: the context-dependent motifs' part of early_rate and late_rate."""
    _, early, late = context_motifs(cfg)
    sites = context_sites(cfg, sequences)
    return sites @ early, sites @ late


def context_on(cfg: SimulationConfig) -> bool:
    """Whether the context-dependent motifs act (either sd above 0)."""
    return cfg.context_early_sd > 0 or cfg.context_late_sd > 0


def element_strength(cfg: SimulationConfig, sequences: list[str]) -> tuple[np.ndarray, np.ndarray]:
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


def log2_expression(hours, early_rate, late_rate, onset) -> np.ndarray:
    """Two-phase log2 expression relative to the first moment: reporters x hours."""
    t = np.asarray(hours, dtype=float)[None, :]
    early = np.asarray(early_rate, dtype=float)[:, None]
    late = np.asarray(late_rate, dtype=float)[:, None]
    on = np.asarray(onset, dtype=float)[:, None]
    return -early * t - late * np.maximum(0.0, t - on)


def real_trend(hours) -> np.ndarray:
    """The real reporters' mean log2 expression relative to the first hour, at `hours` (linear between
    the measured hours, flat outside them)."""
    known = np.array(sorted(REAL_MEAN_LOG2), dtype=float)
    values = np.interp(np.asarray(hours, dtype=float), known, [REAL_MEAN_LOG2[h] for h in sorted(REAL_MEAN_LOG2)])
    return values - values[0]
