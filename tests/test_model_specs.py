"""Model and pretraining entries are checked at start-up, each failure one line naming the user's key."""

from __future__ import annotations

import copy

import pytest
import yaml

from decaylm.config import check_config
from decaylm.errors import InputError
from decaylm.models.specs import BertArchitecture, Training, known_keys
from decaylm.models.registry import KINDS, parse_model_spec, parse_pretraining_spec
from tests.helpers.paths import REPO
from tests.helpers.snakemake import run_snakemake


@pytest.fixture(scope="module")
def default_config() -> dict:
    """config.yaml as Snakemake sees it before validation fills defaults (enough for check_config)."""
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config.setdefault("predict", {})
    return config


def test_every_default_entry_parses(default_config):
    for name, spec in default_config["models"].items():
        parsed = parse_model_spec(name, spec, 42)
        assert parsed.kind == spec["kind"] and parsed.seed == spec.get("seed", 42)
    for name, spec in default_config["pretraining"].items():
        assert parse_pretraining_spec(name, spec).links["tokenizer"] == spec["tokenizer"]


def test_defaults_are_filled_and_given_keys_win():
    spec = parse_model_spec("B", {"kind": "bert", "tokenizer": "nt", "layers": 2, "lr": 3e-3}, 7)
    assert isinstance(spec.architecture, BertArchitecture) and spec.architecture.layers == 2
    assert spec.architecture.hidden == BertArchitecture().hidden
    assert spec.training.lr == 3e-3 and spec.training.epochs == Training().epochs and spec.training.seed == 7
    assert spec.given == ("layers", "lr", "tokenizer")
    assert spec.architecture.nt_features == []  # off unless given
    assert parse_model_spec("B", {"kind": "bert", "nt_features": [9, 7]}).architecture.nt_features == [9, 7]
    finetune = parse_model_spec("D", {"kind": "pretrained"})
    assert finetune.training.lr == 3e-5  # the fine-tuning defaults, not the regressors'
    assert parse_model_spec("D", {"kind": "pretrained", "lr": 1e-4}).training.lr == 1e-4


@pytest.mark.parametrize("spec, where, problem", [
    ({"kind": "bert", "tokenizer": "nt", "epoch": 3}, "models.M.epoch", "not a key of kind bert"),
    ({"kind": "cnn", "tokenizer": "nt"}, "models.M.tokenizer", "not a key of kind cnn"),
    ({"kind": "cnn", "epochs": "3"}, "models.M.epochs", "'3' is not a whole number"),
    ({"kind": "cnn", "lr": True}, "models.M.lr", "True is not a number"),
    ({"kind": "cnn", "kernel_sizes": [9, 0]}, "models.M.kernel_sizes", "not a list of positive whole numbers"),
    ({"kind": "bert", "hidden": 30, "heads": 4}, "models.M.heads", "not divisible"),
    ({"kind": "bert", "pooling": "max"}, "models.M.pooling", "unknown pooling"),
    ({"kind": "bert", "bf16": "maybe"}, "models.M.bf16", "is not allowed"),
    ({"kind": "bert", "nt_features": True}, "models.M.nt_features", "True is not a list of kernel sizes"),
    ({"kind": "bert", "nt_features": [9, 0]}, "models.M.nt_features", "not a list of positive whole numbers"),
    ({"kind": "bert", "nt_features": [9, 6]}, "models.M.nt_features", "holds an even kernel size"),
    ({"kind": "kmer_ridge", "k_max": 4.5}, "models.M.k_max", "is not a whole number"),
    ({"kind": "ensemble", "members": "CNN", "epochs": 2}, "models.M.epochs", "not a key of kind ensemble"),
    ({"kind": "transformer"}, "models.M.kind", "unknown kind"),
    ({"kind": "cnn", "batch_size": 0}, "models.M.batch_size", "is not >= 1"),
])
def test_a_bad_model_key_names_it(spec, where, problem):
    with pytest.raises(InputError) as error:
        parse_model_spec("M", spec)
    assert str(error.value).startswith(f"{where}: ") and problem in str(error.value)
    assert "\n" not in str(error.value)


def test_an_unknown_key_lists_the_known_ones():
    with pytest.raises(InputError) as error:
        parse_model_spec("BERT_X", {"kind": "bert", "tokenizer": "nt", "epoch": 3})
    assert "known keys: " + ", ".join(known_keys(KINDS["bert"])) in str(error.value)
    assert "epochs" in str(error.value)


@pytest.mark.parametrize("spec, where", [
    ({"tokenizer": "bpe", "epochz": 1}, "pretraining.mlm_bpe.epochz"),
    ({"tokenizer": "bpe", "mask_prob": 1.5}, "pretraining.mlm_bpe.mask_prob"),
    ({"tokenizer": "bpe", "pooling": "cls"}, "pretraining.mlm_bpe.pooling"),  # a regressor's key, not MLM's
])
def test_a_bad_pretraining_key_names_the_pretraining_entry(spec, where):
    with pytest.raises(InputError, match=rf"^{where}: "):
        parse_pretraining_spec("mlm_bpe", spec)


def test_the_config_check_parses_every_model_and_pretraining_entry(default_config):
    config = copy.deepcopy(default_config)
    config["models"]["BERT_BPE"]["epoch"] = 3
    with pytest.raises(InputError, match=r"^models\.BERT_BPE\.epoch: "):
        check_config(config)
    config = copy.deepcopy(default_config)
    config["pretraining"]["mlm_bpe"]["layer"] = 1
    with pytest.raises(InputError, match=r"^pretraining\.mlm_bpe\.layer: "):
        check_config(config)


def test_a_misspelt_key_stops_the_workflow_before_any_job(tmp_path):
    """`models: {BERT_X: {epoch: 3}}` used to pass the start-up check and fail minutes later."""
    override = tmp_path / "bad.yaml"
    override.write_text("models:\n  BERT_X: {kind: bert, tokenizer: nt, epoch: 3}\n")
    done = run_snakemake("-n", results=tmp_path / "results", configfiles=("config/tiny.yaml", str(override)),
                         check=False)
    assert done.returncode != 0
    output = done.stdout + done.stderr
    line = next(line for line in output.splitlines() if "config error" in line)
    assert "models.BERT_X.epoch: not a key of kind bert" in line and "known keys:" in line
    assert "Traceback" not in output and "Job stats" not in output
    assert not (tmp_path / "results").exists()
