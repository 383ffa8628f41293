"""Background sequences and planted elements (decaylm/simulate/sequences.py): planted at the configured rates."""

from __future__ import annotations

from decaylm.simulate import SimulationConfig, simulate
from decaylm.simulate.elements import ELEMENT_KINDS, KNOWN_KINDS
from tests.helpers.simulate import STRUCTURED


def test_elements_are_planted_at_the_configured_rates(structured_sim):
    cfg = SimulationConfig(**STRUCTURED)
    _, _, truth = structured_sim
    for kind in KNOWN_KINDS:
        carried = (truth[kind] > 0).mean()
        # planted at element_probs[kind]; chance sites in the background add a few %
        assert cfg.element_probs[kind] - 0.03 < carried < cfg.element_probs[kind] + 0.06, kind
    # nothing planted: the known elements are rare chance events; no background: y_true nearly constant
    _, _, bare = simulate(SimulationConfig(n_reporters=1000, element_probs={k: 0.0 for k in ELEMENT_KINDS},
                                           kmer_density=0.0, short_kmer_max=0, early_rate_sd=0.01, late_rate_sd=0.02,
                                           context_early_sd=0.0, context_late_sd=0.0))
    assert (bare[list(KNOWN_KINDS)].sum(axis=1) > 0).mean() < 0.12  # ~8% expected by chance
    no_site = (bare[list(ELEMENT_KINDS)] == 0).all(axis=1)
    assert bare.loc[no_site, "y_true"].std() < 0.15  # background rates and onset only
    assert bare.loc[no_site, "y_true"].std() < 0.2 * truth["y_true"].std()
    assert (bare["kmer_effect"] == 0).all() and "context_effect" not in bare
    # always planted: every reporter carries the element
    _, _, full = simulate(SimulationConfig(n_reporters=200, element_probs={"mir430": 1.0, "uuag": 1.0}))
    assert (full["mir430"] >= 1).all() and (full["uuag"] >= 1).all()
