"""The simulator's settings (decaylm/simulate/config.py): errors name the key, partial dicts keep defaults."""

from __future__ import annotations

import pytest

from decaylm.errors import InputError
from decaylm.simulate.config import SimulationConfig, config_from_params


def test_config_errors_name_the_key():
    with pytest.raises(InputError, match=r"^data\.simulate\.n_reporter: unknown setting"):
        config_from_params({"n_reporter": 10})
    with pytest.raises(InputError, match=r"^data\.simulate\.from_hour:"):
        config_from_params({"from_hour": 2.5})
    with pytest.raises(InputError, match=r"^data\.simulate\.to_hour:"):
        config_from_params({"from_hour": 8, "to_hour": 2})
    with pytest.raises(InputError, match=r"^data\.simulate\.element_probs\.let7:"):
        config_from_params({"element_probs": {"let7": 0.1}})
    with pytest.raises(InputError, match=r"^data\.simulate\.base_probs:"):
        config_from_params({"base_probs": {"A": 0.5, "C": 0.5, "G": 0.5, "T": 0.5}})
    with pytest.raises(InputError, match=r"^data\.simulate\.dispersion:"):
        config_from_params({"dispersion": "high"})
    with pytest.raises(InputError, match=r"^data\.simulate\.context_late_sd:"):
        config_from_params({"context_late_sd": -0.1})
    with pytest.raises(InputError, match=r"^data\.simulate\.context_k:"):
        config_from_params({"context_k": 1})
    with pytest.raises(InputError, match=r"^data\.simulate\.context_count:"):
        config_from_params({"context_count": 0})
    with pytest.raises(InputError, match=r"^data\.simulate\.context_flank:"):
        config_from_params({"context_flank": 2.5})
    # partial per-element dicts keep the other kinds' defaults
    cfg = config_from_params({"element_probs": {"mir430": 0.5}, "seed": 3})
    assert cfg.element_probs["mir430"] == 0.5 and cfg.element_probs["are"] == SimulationConfig().element_probs["are"]
    assert config_from_params(None) == SimulationConfig()
