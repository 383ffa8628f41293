"""Semantic config checks: each failure is one line naming the key."""

import copy

import pytest

from decaylm.config import check_config
from decaylm.errors import InputError


def test_default_config_passes(config):
    check_config(config)


@pytest.mark.parametrize("change, key", [
    (lambda c: c["target"].update(from_hour=8, to_hour=2), "target.to_hour"),
    (lambda c: c["target"].update(to_hour=9), "target.to_hour"),
    (lambda c: c["data"].update(hours=[0, 2, 1]), "data.hours"),
    (lambda c: c["data"].update(filter_hours=[5.5]), "data.filter_hours"),
    (lambda c: c["data"].update(source="utrseq", path=""), "data.path"),
    (lambda c: c["data"].update(source="utrseq", path="/nonexistent/folder"), "data.path"),
    (lambda c: c["data"].update(source="table", expression="", sequences="x.csv"), "data.expression"),
    (lambda c: c["split"].update(fractions={"train": 0.5, "valid": 0.1, "test": 0.1}), "split.fractions"),
    (lambda c: c["models"].update(X={"kind": "bert", "tokenizer": "nope"}), "models.X.tokenizer"),
    (lambda c: c["models"].update(X={"kind": "bert"}), "models.X.tokenizer"),
    (lambda c: c["models"].update(D={"kind": "pretrained"}), "models.D.checkpoint"),
    (lambda c: c.update(results="/proc/decaylm-results"), "results"),
    (lambda c: c["models"]["CNN"].update(repeats=0), "models.CNN.repeats"),
    (lambda c: c["models"]["KMER_RIDGE"].update(repeats=2), "models.KMER_RIDGE.repeats"),  # nothing to repeat
    (lambda c: c["models"].update(S={"kind": "repeat_ensemble", "of": "CNN"}), "models.S.of"),  # CNN trains once
    (lambda c: c["models"].update(S={"kind": "repeat_ensemble", "of": "KMER_RIDGE"}), "models.S.of"),
])
def test_bad_config_names_the_key(config, change, key):
    bad = copy.deepcopy(config)
    change(bad)
    with pytest.raises(InputError) as error:
        check_config(bad)
    assert str(error.value).startswith(key + ":")
