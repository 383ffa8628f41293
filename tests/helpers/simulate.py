"""Shared by the simulator's tests (tests/test_simulate_*.py): data sets, settings, scanners
(paths and the hours are in tests/helpers/paths.py).

The fixtures `default_sim` and `structured_sim` are in tests/conftest.py (one per test module).
"""

from __future__ import annotations

import re



AR = [f"AR{i:02d}" for i in range(1, 12)]

# Elements planted often, no k-mer background (nor the context term) and little other variation: the
# site-level mechanics are visible. copy_decay as strong as before the context term (the default's 0.92
# is milder, docs/simulator.md), so that the test of diminishing returns keeps its power.
STRUCTURED = dict(element_probs={"mir430": 0.3, "are": 0.3, "pumilio": 0.25, "polyu": 0.25, "gc_rich": 0.25},
                  extra_copy_prob=0.25, kmer_density=0.0, short_kmer_max=0, early_rate_sd=0.01, late_rate_sd=0.02,
                  context_early_sd=0.0, context_late_sd=0.0, copy_decay=0.85)

# Independent scanners (not the module's): overlapping occurrences / maximal runs.
SCAN = {
    "mir430": lambda s: len(re.findall(r"(?=AGCACTT)", s)),
    "are": lambda s: len(re.findall(r"(?=TATTTAT)", s)),
    "pumilio": lambda s: sum(s[i : i + 4] == "TGTA" and s[i + 4] in "ACT" and s[i + 5 : i + 8] == "ATA" for i in range(len(s) - 7)),
    "polyu": lambda s: sum(len(run) >= 8 for run in re.findall(r"T+", s)),
    "gc_rich": lambda s: sum(len(run) >= 10 for run in re.findall(r"[GC]+", s)),
    "uuag": lambda s: sum(s[i:i + 4] == "TTAG" for i in range(len(s) - 3)),
}


