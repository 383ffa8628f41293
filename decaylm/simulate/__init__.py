"""A seeded simulator of a UTR-seq MPRA: the pipeline's embedded default data source.

It writes exactly the real UTR-seq format, so one reader serves real and simulated data, and
models maternal mRNA clearance in the zebrafish embryo (Rabani et al. 2017). One module a job:

- config.py: `SimulationConfig` (every knob, its default and its checks) and
  `config_from_params` (from the config key ``data.simulate``).
- elements.py: the element kinds (KNOWN_KINDS, the five of MORPH_O's table, and NOVEL_KINDS:
  UUAG) and `find_sites`, the one scanner behind every site count.
- sequences.py: background sequences like the real reporters' and the planted elements.
- kinetics.py: decay rates from site strengths, a background of weak k-mer effects and a
  non-additive term (motifs whose effect depends on their flanks), and the two-phase kinetics
  (`log2_expression`, `real_trend`).
- library.py: `simulate` (one library: sequences, rates, reads) and `write_simulation` /
  `write_outputs` (reporter_counts.txt, reporter_seq.txt, truth.tsv; the format is there).
- long_utrs.py: `simulate_long_utrs` / `write_long_utrs`, long 3'UTRs with elements at known
  positions for the predict stage (long_utrs.fa, long_utrs_truth.tsv).
- calibration.py: `measure`, `measure_real` and `calibrate`, the figures that compare the
  simulated data with the real data (run by benchmarks/calibrate_simulator.py).

Same seed gives byte-identical files: the reporters come from one
``numpy.random.default_rng(seed)`` stream, the k-mer effects and context motifs from ``kmer_seed``, the long
3'UTRs from ``(seed, 1)``.
"""

from decaylm.simulate.calibration import calibrate, measure, measure_real
from decaylm.simulate.config import SimulationConfig, config_from_params
from decaylm.simulate.elements import ELEMENT_KINDS, KNOWN_KINDS, NOVEL_KINDS, count_sites, find_sites, sites_text
from decaylm.simulate.kinetics import log2_expression, real_trend
from decaylm.simulate.library import COUNTS_NAME, SEQUENCES_NAME, TRUTH_NAME, simulate, write_outputs, write_simulation
from decaylm.simulate.long_utrs import LONG_TRUTH_NAME, LONG_UTRS_NAME, simulate_long_utrs, write_long_utrs

__all__ = [
    "COUNTS_NAME", "ELEMENT_KINDS", "KNOWN_KINDS", "LONG_TRUTH_NAME", "LONG_UTRS_NAME", "NOVEL_KINDS",
    "SEQUENCES_NAME", "TRUTH_NAME", "SimulationConfig", "calibrate", "config_from_params", "count_sites",
    "find_sites", "log2_expression", "measure", "measure_real", "real_trend", "simulate", "simulate_long_utrs",
    "sites_text", "write_long_utrs", "write_outputs", "write_simulation",
]
