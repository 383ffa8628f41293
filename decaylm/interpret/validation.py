"""The interpretation stage on a simulated library whose elements are known (issue 14, point 6).

`recover_planted` simulates a library with more planted sites than the default (the default's
0.2-3% of reporters leave too few sites for modisco-lite in a few hundred reporters), trains the
k-mer ridge (the best model of the simulated comparison) on the noise-free target, runs ISM on
test reporters, modisco-lite and TOMTOM with the pipeline's settings, and inserts one full-strength
site of each planted kind into shuffled test reporters. `planted_effects` gives each kind's effect
on the target, to compare with. tests/test_interpret_validation.py asserts on one seed;
benchmarks/bench_interpret_simulator.py prints the same checks over other seeds and settings.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import r2_score

from decaylm.interpret import attribution, marginalize, motifs
from decaylm.sequences import BASES

# planted share of reporters per kind in the validation library
ELEMENT_PROBS = {"mir430": 0.08, "are": 0.1, "pumilio": 0.1, "polyu": 0.1, "gc_rich": 0.1, "uuag": 0.15}
# the sign of each known element's planted effect on log2 8 h / 2 h (decaylm.simulate)
PLANTED_SIGNS = {"miR-430": "-", "ARE": "-", "Pumilio": "-", "GC-rich": "-", "poly-U": "+"}


def site_pwm(columns: list[str]) -> np.ndarray:
    """(4, w) PWM drawing each column uniformly from its letters (one letter: that base)."""
    return np.array([[float(b in c) / len(c) for b in BASES] for c in columns]).T


# One full-strength site of each planted kind, in the forms the simulator plants (decaylm.simulate.sequences._motif,
# find_sites weights 1.0): the miR-430 8mer, ARE, Pumilio TGTAHATA with H drawn from A/C/T, an 8-T run
# and a 10-nt G/C run each between an A and a T (as planted, so that the run keeps its length), UUAG.
PLANTED_SITES = {"mir430": "AGCACTTA", "are": "TATTTAT", "pumilio": site_pwm(list("TGTA") + ["ACT"] + list("ATA")),
                 "polyu": "A" + "T" * 8 + "A", "gc_rich": site_pwm(["A"] + ["CG"] * 10 + ["T"]), "uuag": "TTAG"}


@dataclass
class Recovery:
    found: list  # motifs.Discovered, most seqlets first, TOMTOM matches filled
    effects: pd.DataFrame  # marginalize.element_effects of PLANTED_SITES
    planted: dict  # kind -> planted effect
    test_r2: float

    def seqlets_by_sign(self) -> dict[str, dict[str, int]]:
        """Known element -> {"+": seqlets, "-": seqlets} of the motifs whose best match it is."""
        out = {name: {"+": 0, "-": 0} for name in PLANTED_SIGNS}
        for m in self.found:
            if m.matches and m.matches[0][0] in out:
                out[m.matches[0][0]][m.sign] += m.seqlets
        return out

    def missing(self) -> list[str]:
        """Known elements with no motif of the planted sign, or with more seqlets in wrong-sign motifs."""
        counts = self.seqlets_by_sign()
        wrong = {"+": "-", "-": "+"}
        return [name for name, sign in PLANTED_SIGNS.items()
                if counts[name][sign] == 0 or counts[name][wrong[sign]] >= counts[name][sign]]

    def novel(self) -> list:
        """Stabilizing motifs without a known match that hold the UUAG element the known table lacks."""
        return [m for m in self.found if not m.matches and m.sign == "+" and "TTAG" in m.consensus]

    def summary(self) -> list[tuple]:
        return [(m.sign, m.consensus, m.seqlets, m.matches[0][0] if m.matches else "new") for m in self.found]


def planted_effects(cfg) -> dict[str, float]:
    """Effect of one full-strength site of each kind on the noise-free target (log2 to_hour - from_hour)."""
    from decaylm.simulate import log2_expression

    hours = [cfg.from_hour, cfg.to_hour]

    def target(early, late):
        course = log2_expression(hours, [early], [late], [cfg.onset_mean])[0]
        return course[1] - course[0]

    base = target(cfg.base_early_rate, cfg.base_late_rate)
    return {kind: target(cfg.base_early_rate + cfg.early_effects[kind], cfg.base_late_rate + cfg.late_effects[kind]) - base
            for kind in cfg.early_effects}


def recover_planted(seed: int = 11, n_reporters: int = 6000, n_sequences: int = 600, n_backgrounds: int = 100,
                    modisco: dict | None = None, max_motifs: int = motifs.MAX_MOTIFS, effects: bool = True) -> Recovery:
    """Simulate, train the k-mer ridge (k <= 6) on 90% of the reporters, interpret n_sequences of the rest."""
    from decaylm import simulate
    from decaylm.interpret.pipeline import known_motifs
    from decaylm.models.registry import parse_model_spec
    from decaylm.models import load_model
    from decaylm.models.kmer_ridge import train

    cfg = simulate.SimulationConfig(n_reporters=n_reporters, seed=seed, element_probs=ELEMENT_PROBS)
    _, sequences, truth = simulate.simulate(cfg)
    rng = np.random.default_rng(0)
    split = pd.DataFrame({"id": truth["id"], "sequence": sequences["sequence"], "y": truth["y_true"],
                          "split": np.where(rng.random(len(truth)) < 0.9, "train", "test"),
                          "group": np.arange(len(truth))})
    with tempfile.TemporaryDirectory() as folder:
        train(split, parse_model_spec("RIDGE", {"kind": "kmer_ridge", "k_max": 6, "cv_folds": 3}, 0), folder)
        model = load_model(folder)
        test = split[split["split"] == "test"]
        r2 = float(r2_score(test["y"], model.predict(test["sequence"].tolist())))
        chosen = attribution.test_sequences(split, n_sequences, 0)["sequence"].tolist()
        _, delta = attribution.ism(model, chosen)
        found = motifs.discover(attribution.one_hot_batch(chosen), attribution.hypothetical(delta), modisco,
                                max_motifs=max_motifs)
        motifs.match(found, known_motifs())
        table = pd.DataFrame()
        if effects:
            backgrounds = marginalize.backgrounds(chosen[:n_backgrounds], 0)
            table = marginalize.element_effects(model, backgrounds, PLANTED_SITES, 0)
    return Recovery(found, table, planted_effects(cfg), r2)
