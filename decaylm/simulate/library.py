"""One simulated MPRA library: `simulate` (sequences, rates, reads) and its files.

Reads: at each hour the sequenced library holds reporter molecules (initial abundance,
lognormal, times ``2**E(t)``), constant spike-in molecules and a constant pool of other RNA
(15% of the library at the first hour); a time point's depth (lognormal around
``reads_per_reporter`` x reporters / ``reporter_fraction``, sd ``depth_sd``) is shared among
them in proportion to molecule numbers, and counts are negative-binomial (overdispersed)
around that. Reporter read totals therefore fall with time and spike-in reads rise, as in the
real data, and dividing by the spike-in sum recovers expression.

Files, exactly the real UTR-seq format (see ../shared/data/utrseq/README.md), so one reader
serves real and simulated data:

- ``reporter_counts.txt``: tab-separated, header ``id AR01 .. ARnn`` (one column per hour,
  AR01 = first hour), integer read counts per reporter, then spike-in rows ``SPIKE_0..``.
- ``reporter_seq.txt``: tab-separated, no header: id, upper-case DNA sequence.
- ``truth.tsv``: id, y_true (noise-free log2 expression at ``to_hour`` minus at
  ``from_hour``), one column per element kind with the number of its sites in the
  sequence, early_rate, late_rate, onset, kmer_effect (the k-mer background's part of
  y_true), context_effect (the context-dependent motifs' part; only when that term is on, so
  that files without it are byte for byte those of the simulator before it) and sites (every
  site as ``kind:start``, 1-based, ``;``-separated).

Which sites count: truth columns hold the sites found by scanning the final sequence (planted
ones plus any the background made by chance), and y_true is computed from those same sites.
Every random draw of the reporters comes from one ``numpy.random.default_rng(seed)`` stream,
in a fixed order: changing the order changes every file. The biology (k-mer effects, context
motifs) comes from streams of its own (``kmer_seed``), so turning a term on or off moves no other draw.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from decaylm.io import atomic_path, write_tsv
from decaylm.simulate.config import SimulationConfig
from decaylm.simulate.elements import ELEMENT_KINDS, sites_text
from decaylm.simulate.kinetics import (background_rates, context_on, context_rates, element_strength, log2_expression,
                                      real_trend)
from decaylm.simulate.sequences import plant_elements

log = logging.getLogger(__name__)


COUNTS_NAME = "reporter_counts.txt"
SEQUENCES_NAME = "reporter_seq.txt"
TRUTH_NAME = "truth.tsv"


def _negative_binomial(rng: np.random.Generator, mu: np.ndarray, dispersion: float) -> np.ndarray:
    """Counts around `mu` with variance mu + dispersion * mu**2 (Poisson when dispersion is 0)."""
    if dispersion == 0:
        return rng.poisson(mu)
    size = 1.0 / dispersion
    return rng.negative_binomial(size, size / (size + mu))


def ar_columns(n_hours: int) -> list[str]:
    """The count columns of the UTR-seq layout: AR01, AR02, ... (one per hour, first hour first)."""
    width = max(2, len(str(n_hours)))
    return [f"AR{i + 1:0{width}d}" for i in range(n_hours)]


def simulate(cfg: SimulationConfig) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Simulate one MPRA: (counts with id + ARnn and spike rows, sequences, truth)."""
    rng = np.random.default_rng(cfg.seed)
    n = cfg.n_reporters
    hours = [float(h) for h in cfg.hours]
    ids = [f"{cfg.id_prefix}{i + 1}" for i in range(n)]

    sequences = plant_elements(cfg, rng)
    counts_per_kind, strength = element_strength(cfg, sequences)
    early_w = np.array([cfg.early_effects[k] for k in ELEMENT_KINDS])
    late_w = np.array([cfg.late_effects[k] for k in ELEMENT_KINDS])

    bg_early, bg_late = background_rates(cfg, sequences)
    early_rate = cfg.base_early_rate + cfg.early_rate_sd * rng.standard_normal(n) + strength @ early_w + bg_early
    late_rate = cfg.base_late_rate + cfg.late_rate_sd * rng.standard_normal(n) + strength @ late_w + bg_late
    if context_on(cfg):  # the non-additive term, from its own stream: off, nothing changes
        context_early, context_late = context_rates(cfg, sequences)
        early_rate, late_rate = early_rate + context_early, late_rate + context_late
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
    if context_on(cfg):  # written only when the term acts, so that files without it are as before
        context_expr = log2_expression([cfg.from_hour, cfg.to_hour], context_early, context_late, onset)
        truth["context_effect"] = context_expr[:, 1] - context_expr[:, 0]
    truth["sites"] = [sites_text(seq) for seq in sequences]
    log.info(
        "simulated %d reporters x %d hours (seed %d): y_true mean %.2f sd %.2f",
        n, len(hours), cfg.seed, y_true.mean(), y_true.std(),
    )
    return counts, seqs, truth


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
