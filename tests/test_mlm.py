"""Masked-LM pretraining: the loss falls, only training (+ extra) sequences are used, the checkpoint
resumes and is what a BERT regressor starts from."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

from decaylm.errors import InputError
from decaylm.models import bert, mlm
from decaylm.tokenization import train_tokenizer

TINY = {"layers": 1, "hidden": 32, "heads": 2, "intermediate": 64, "max_length": 64, "dropout": 0.0,
        "lr": 3e-3, "batch_size": 16, "epochs": 6, "holdout_fraction": 0.1}


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models gain nothing from a second thread; on a busy 2-core machine two OpenMP threads
    spin-wait on each other."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def structured_split(n=600, length=40, seed=0) -> pd.DataFrame:
    """Context a language model can use: each sequence draws from its own 2 of the 4 bases (ln 2 = 0.69
    nats per masked base for a model that reads the context, ln 4 = 1.39 for one that does not)."""
    rng = np.random.default_rng(seed)
    pairs = ["AC", "AG", "AT", "CG", "CT", "GT"]
    sequences = ["".join(rng.choice(list(pairs[int(rng.integers(6))]), length)) for _ in range(n)]
    part = np.where(np.arange(n) < 0.7 * n, "train", np.where(np.arange(n) < 0.85 * n, "valid", "test"))
    return pd.DataFrame({"id": [f"r{i}" for i in range(n)], "sequence": sequences, "y": rng.normal(size=n),
                         "split": part, "group": np.arange(n)})


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    split = structured_split()
    tok = tmp_path_factory.mktemp("tok")
    train = split[split["split"] == "train"]
    train_tokenizer({"kind": "nucleotide"}, train["sequence"].tolist(), train["y"].to_numpy(), tok, seed=0)
    out = tmp_path_factory.mktemp("mlm")
    mlm.pretrain(split, TINY, tok, out, seed=0)
    return split, tok, out


def test_mlm_loss_falls_and_writes_a_checkpoint(setup):
    split, tok, out = setup
    assert (out / "config.json").exists() and (out / "model.safetensors").exists()
    record = json.loads((out / "mlm.json").read_text())
    held_out = [epoch["heldout_loss"] for epoch in record["history"]]
    assert len(held_out) == TINY["epochs"]
    assert held_out[-1] < held_out[0] - 0.3, held_out
    assert held_out[-1] < 1.0, held_out  # below ln 4: it reads the context
    assert record["sequences"] == (split["split"] == "train").sum()  # training sequences only
    assert not (out / mlm.CHECKPOINT).exists()  # the resume state is gone once the model is saved


def test_init_from_loads_the_pretrained_encoder(setup, tmp_path):
    split, tok, out = setup
    weights = load_file(str(out / "model.safetensors"))
    arch, _ = bert.split_spec({"dropout": 0.0}, "BERT_NT")
    model = bert.build_model(arch, bert.load_tokenizer(tok), out)
    state = model.bert.state_dict()
    encoder_keys = [k for k in weights if k.startswith("bert.")]
    assert len(encoder_keys) > 10
    for key in encoder_keys:
        torch.testing.assert_close(state[key[len("bert."):]], weights[key])
    assert model.config.num_hidden_layers == TINY["layers"] and model.config.hidden_size == TINY["hidden"]
    # and a regressor trains from it through the public entry point
    pred = bert.train_and_predict(split, {"epochs": 1, "lr": 1e-3}, tmp_path, 0, "BERT_NT", tok, out)
    assert np.isfinite(pred).all()
    assert json.loads((tmp_path / "training.json").read_text())["pretrained_dir"] == str(out)


def test_init_from_refuses_a_conflicting_architecture(setup, tmp_path):
    split, tok, out = setup
    with pytest.raises(InputError, match=r"models\.BERT_NT\.layers.*pretrained"):
        bert.train_and_predict(split, {"layers": 3}, tmp_path, 0, "BERT_NT", tok, out)


def test_extra_sequences_are_used_but_never_valid_or_test_ones(setup, tmp_path):
    split, tok, _ = setup
    valid_seq = split.loc[split["split"] == "valid", "sequence"].iloc[0]
    fresh = structured_split(n=20, seed=9)["sequence"].tolist()
    fasta = tmp_path / "extra.fa"
    fasta.write_text(">leak\n" + valid_seq[:20] + "\n" + valid_seq[20:] + "\n>long\n" + fresh[0] + fresh[1] + "\n")
    tsv = tmp_path / "extra.tsv"
    tsv.write_text("id\tsequence\n" + "".join(f"x{i}\t{s}\n" for i, s in enumerate(fresh[2:5])))
    assert mlm.read_sequences(fasta) == [valid_seq, fresh[0] + fresh[1]]
    assert mlm.read_sequences(tsv) == fresh[2:5]
    out = tmp_path / "mlm"
    mlm.pretrain(split, {**TINY, "epochs": 1, "extra_sequences": [str(fasta), str(tsv)]}, tok, out, seed=0)
    n_train = (split["split"] == "train").sum()
    # the valid sequence is dropped, the 80-nt one is cut into two 40-nt windows, the TSV gives 3
    assert json.loads((out / "mlm.json").read_text())["sequences"] == n_train + 2 + 3


def test_a_killed_run_resumes_to_the_same_model(setup, tmp_path, monkeypatch):
    split, tok, _ = setup
    spec = {**TINY, "epochs": 2}
    mlm.pretrain(split, spec, tok, tmp_path / "straight", seed=1)

    real = mlm.heldout_loss
    calls = {"n": 0}

    def dies_in_epoch_two(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # the job is killed after the second epoch's updates
        return real(*args, **kwargs)

    monkeypatch.setattr(mlm, "heldout_loss", dies_in_epoch_two)
    with pytest.raises(KeyboardInterrupt):
        mlm.pretrain(split, spec, tok, tmp_path / "killed", seed=1)
    assert (tmp_path / "killed" / mlm.CHECKPOINT).exists()
    monkeypatch.setattr(mlm, "heldout_loss", real)
    mlm.pretrain(split, spec, tok, tmp_path / "killed", seed=1)
    a = load_file(str(tmp_path / "straight" / "model.safetensors"))
    b = load_file(str(tmp_path / "killed" / "model.safetensors"))
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)


def test_bad_spec_is_refused(setup, tmp_path):
    split, tok, _ = setup
    with pytest.raises(InputError, match=r"models\.mlm.*unknown parameter"):
        mlm.pretrain(split, {"epochz": 1}, tok, tmp_path, 0)
    with pytest.raises(InputError, match="mask_prob"):
        mlm.pretrain(split, {"mask_prob": 1.5}, tok, tmp_path, 0)
    with pytest.raises(InputError, match="file not found"):
        mlm.pretrain(split, {**TINY, "extra_sequences": [str(tmp_path / "missing.fa")]}, tok, tmp_path, 0)
