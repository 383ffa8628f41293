"""decaylm.models.registry: every kind declared once, and what the pipeline derives from it (the config
check of a `models` entry, the module that trains and loads a kind, its rule, repeats, links)."""

from __future__ import annotations

import importlib
import re

import pytest

from decaylm.errors import InputError
from decaylm.models.registry import (KINDS, PRETRAINING, SEEDED_KINDS, kinds_with_link, parse_model_spec,
                                     parse_pretraining_spec)
from decaylm.repeats import training_jobs
from tests.helpers.paths import REPO


def test_every_kind_has_a_module_that_loads_it_and_a_rule_that_makes_its_folder():
    """A kind made of other entries (members, of) is combined by its rule; every other kind is
    trained by its module's train (the model job); masked-LM pretraining by mlm.pretrain."""
    rules = "".join(path.read_text() for path in sorted((REPO / "rules").glob("*.smk")))
    declared = set(re.findall(r"^rule (\w+):", rules, re.M))
    declared |= set(re.findall(r"^use rule \w+ as (\w+) with:", rules, re.M))
    for name, kind in KINDS.items():
        module = importlib.import_module(kind.module)
        assert callable(getattr(module, "load", None)), name
        combined = {"members", "of"} & set(kind.links)
        assert combined or callable(getattr(module, "train", None)), name
        assert kind.rule in declared, f"{name}: no rule {kind.rule} in rules/*.smk"
    assert callable(importlib.import_module(PRETRAINING.module).pretrain) and PRETRAINING.rule in declared


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_minimal_entry_of_each_kind_parses_with_the_kinds_settings(kind):
    entry = {"kind": kind, **({"checkpoint": "local/folder"} if kind == "pretrained" else {})}
    spec = parse_model_spec("M", entry, default_seed=7)
    assert spec.kind == kind and spec.name == "M" and spec.seed == 7
    assert (spec.training is not None) == KINDS[kind].trains
    assert (spec.architecture is None) == (KINDS[kind].architecture is None)
    if spec.training is not None:  # a kind's own training defaults win over the loop's
        for key, value in KINDS[kind].training_defaults.items():
            assert getattr(spec.training, key) == value, (kind, key)


def test_repeats_train_only_the_seeded_kinds_again():
    config = {"repeats": 2, "models": {kind: {"kind": kind} for kind in KINDS}}
    repeated = {kind for kind in KINDS if len(training_jobs(config, kind)) == 2}
    assert repeated == set(SEEDED_KINDS) == {"cnn", "legnet", "bert", "pretrained"}


def test_links_name_the_entries_a_kind_refers_to():
    assert kinds_with_link("tokenizer") == {"bert"}
    assert kinds_with_link("members") == {"ensemble"} and kinds_with_link("of") == {"repeat_ensemble"}
    spec = parse_model_spec("B", {"kind": "bert", "tokenizer": "bpe", "init_from": "mlm"})
    assert spec.links == {"tokenizer": "bpe", "init_from": "mlm"}
    assert parse_pretraining_spec("P", {"tokenizer": "bpe"}).links == {"tokenizer": "bpe"}


def test_an_entry_without_a_known_kind_is_one_line():
    with pytest.raises(InputError, match=r"^models\.M: has no kind \(give kind: one of kmer_ridge, cnn, legnet, bert"):
        parse_model_spec("M", {"k_max": 3})
    with pytest.raises(InputError, match=r"^models\.M\.kind: unknown kind 'rnn' \(use one of kmer_ridge, cnn"):
        parse_model_spec("M", {"kind": "rnn"})
    with pytest.raises(InputError, match=r"^pretraining\.P: is not a mapping"):
        parse_pretraining_spec("P", "bpe")
