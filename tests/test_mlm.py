"""Masked-LM pretraining: the loss falls, only training (+ extra) sequences are used, it trains in the
shared loop (decaylm.models.training.fit) on the loop's device, the checkpoint resumes and is what a BERT
regressor starts from."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

from decaylm.models import training
from decaylm.models.batching import MaskedTokenBatches
from decaylm.errors import InputError
from decaylm.models.registry import parse_model_spec, parse_pretraining_spec
from decaylm.models import bert, load_model, mlm
from decaylm.sequences import read_sequences
from decaylm.tokenizers import load_tokenizer, train_tokenizer

TINY = {"layers": 1, "hidden": 32, "heads": 2, "intermediate": 64, "max_length": 64, "dropout": 0.0,
        "lr": 3e-3, "batch_size": 16, "epochs": 6, "patience": 6, "holdout_fraction": 0.1}

pytestmark = pytest.mark.usefixtures("one_thread")


def mlm_spec(seed=0, name="mlm_nt", **spec):
    return parse_pretraining_spec(name, {"tokenizer": "nt", **spec}, seed)


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
    mlm.pretrain(split, mlm_spec(**TINY), tok, out)
    return split, tok, out


def epochs_of(path) -> list:
    """An mlm.json's history without its timings."""
    return [(e["epoch"], e["train_loss"], e["heldout_loss"]) for e in json.loads(path.read_text())["history"]]


def test_mlm_loss_falls_and_writes_a_checkpoint(setup):
    split, tok, out = setup
    assert (out / "config.json").exists() and (out / "model.safetensors").exists()
    record = json.loads((out / "mlm.json").read_text())
    held_out = [epoch["heldout_loss"] for epoch in record["history"]]
    assert len(held_out) == TINY["epochs"]
    assert held_out[-1] < held_out[0] - 0.3, held_out
    assert held_out[-1] < 1.0, held_out  # below ln 4: it reads the context
    assert all(epoch["heldout_loss"] == epoch["valid_loss"] for epoch in record["history"])
    assert record["sequences"] == (split["split"] == "train").sum()  # training sequences only
    assert record["spec"]["architecture"]["layers"] == TINY["layers"] and record["spec"]["seed"] == 0
    assert not (out / training.CHECKPOINT).exists()  # the resume state is gone once the model is saved


def test_pretraining_runs_in_the_shared_loop(setup, tmp_path, monkeypatch):
    split, tok, _ = setup
    calls, forward_devices = [], []
    real_fit, real_forward = training.fit, mlm.MaskedLanguageModel.forward
    assert mlm.fit is real_fit  # the very loop the regressors train in

    def recording_fit(model, train_items, valid_items, collate, cfg, checkpoint_dir, **kwargs):
        result = real_fit(model, train_items, valid_items, collate, cfg, checkpoint_dir, **kwargs)
        calls.append({"model": model, "train": len(train_items), "valid": len(valid_items), "collate": collate,
                      "cfg": cfg, "dir": checkpoint_dir, "result": result})
        return result

    def recording_forward(self, input_ids, attention_mask, labels=None):
        forward_devices.append({input_ids.device, attention_mask.device, next(self.parameters()).device}
                               | ({labels.device} if labels is not None else set()))
        return real_forward(self, input_ids, attention_mask, labels)

    monkeypatch.setattr(mlm, "fit", recording_fit)
    monkeypatch.setattr(mlm.MaskedLanguageModel, "forward", recording_forward)
    spec = mlm_spec(**{**TINY, "epochs": 2})
    mlm.pretrain(split, spec, tok, tmp_path)

    assert len(calls) == 1  # one fit
    call = calls[0]
    n_train = int((split["split"] == "train").sum())
    assert isinstance(call["model"], mlm.MaskedLanguageModel) and isinstance(call["collate"], MaskedTokenBatches)
    assert call["cfg"] is spec.training and str(call["dir"]) == str(tmp_path)
    assert call["valid"] == round(TINY["holdout_fraction"] * n_train) and call["train"] + call["valid"] == n_train
    # the forward saw the training and the held-out batches, every tensor and weight on that device
    assert len(forward_devices) >= 2 * (-(-call["train"] // TINY["batch_size"]))
    assert all(seen == {training.pick_device()} for seen in forward_devices)
    # and mlm.json is the loop's record: its held-out losses are fit's validation losses
    assert [(e["epoch"], e["train_loss"], e["valid_loss"]) for e in call["result"].history] == epochs_of(
        tmp_path / "mlm.json")


class FirstStep(Exception):
    """Raised by a patched forward to stop the training at its first batch."""


def test_pretraining_runs_on_the_device_the_loop_picks(setup, tmp_path, monkeypatch):
    """pick_device returns a device no tensor is on by default (meta: shapes without data): the first
    training batch reaches the model on it, with the model's weights. The batch is stopped there,
    since a meta tensor holds no numbers to train on."""
    split, tok, _ = setup
    seen = []

    def recording_forward(self, input_ids, attention_mask, labels=None):
        seen.append({"inputs": {input_ids.device, attention_mask.device, labels.device},
                     "weights": {p.device for p in self.parameters()}, "training": self.training})
        raise FirstStep

    monkeypatch.setattr(training, "pick_device", lambda: torch.device("meta"))
    monkeypatch.setattr(mlm.MaskedLanguageModel, "forward", recording_forward)
    with pytest.raises(FirstStep):
        mlm.pretrain(split, mlm_spec(**TINY), tok, tmp_path)
    meta = {torch.device("meta")}
    assert seen == [{"inputs": meta, "weights": meta, "training": True}]


def test_init_from_loads_the_pretrained_encoder(setup, tmp_path, monkeypatch):
    split, tok, out = setup
    weights = load_file(str(out / "model.safetensors"))
    arch = parse_model_spec("BERT_NT", {"kind": "bert", "dropout": 0.0}).architecture
    model = bert.build_model(arch, load_tokenizer(tok), out)
    state = model.bert.state_dict()
    encoder_keys = [k for k in weights if k.startswith("bert.")]
    assert len(encoder_keys) > 10
    for key in encoder_keys:
        torch.testing.assert_close(state[key[len("bert."):]], weights[key])
    assert model.config.num_hidden_layers == TINY["layers"] and model.config.hidden_size == TINY["hidden"]

    # and a regressor trains from it through the job's entry point: the encoder it starts from is the MLM's
    start = {}
    real_fit = bert.fit

    def recording_fit(model, *args, **kwargs):
        start.update({k: v.detach().clone() for k, v in model.bert.state_dict().items()})
        return real_fit(model, *args, **kwargs)

    monkeypatch.setattr(bert, "fit", recording_fit)
    spec = parse_model_spec("BERT_NT", {"kind": "bert", "tokenizer": "nt", "init_from": "mlm_nt", "epochs": 1,
                                        "lr": 1e-3}, 0)
    bert.train(split, spec, tmp_path, tokenizer_dir=tok, pretrained_dir=out)
    for key in encoder_keys:
        torch.testing.assert_close(start[key[len("bert."):]], weights[key], rtol=0, atol=0)
    pred = load_model(tmp_path).predict(split["sequence"].tolist())
    assert pred.shape == (len(split),) and np.isfinite(pred).all()
    assert json.loads((tmp_path / "training.json").read_text())["pretrained_dir"] == str(out)
    trained = load_file(str(tmp_path / "weights" / "model.safetensors"))
    assert any(not torch.equal(trained[key], weights[key]) for key in encoder_keys)  # and fine-tuned it


def test_init_from_with_nt_features_adds_new_convolutions_to_the_pretrained_encoder(setup, tmp_path, monkeypatch):
    """The nucleotide convolutions are not in the MLM checkpoint: they start fresh and train, on the
    encoder the MLM left, and the saved model has them."""
    split, tok, out = setup
    weights = load_file(str(out / "model.safetensors"))
    start = {}
    real_fit = bert.fit

    def recording_fit(model, *args, **kwargs):
        start.update({k: v.detach().clone() for k, v in model.state_dict().items()})
        return real_fit(model, *args, **kwargs)

    monkeypatch.setattr(bert, "fit", recording_fit)
    spec = parse_model_spec("BERT_NT", {"kind": "bert", "tokenizer": "nt", "init_from": "mlm_nt", "epochs": 1,
                                        "lr": 1e-3, "nt_features": [5, 3]}, 0)
    bert.train(split, spec, tmp_path, tokenizer_dir=tok, pretrained_dir=out)
    encoder = [k for k in weights if k.startswith("bert.")]
    assert all(torch.equal(start[key], weights[key]) for key in encoder)
    trained = load_file(str(tmp_path / "weights" / "model.safetensors"))
    convs = [k for k in trained if k.startswith("nt.") and k.endswith("weight")]
    assert convs and not any(k.startswith("nt.") for k in weights)
    assert all(not torch.equal(trained[key], start[key]) for key in convs)  # they trained
    loaded = load_model(tmp_path)
    assert loaded.module.config.nt_features == [5, 3] and np.isfinite(loaded.predict(split["sequence"].tolist())).all()


def test_init_from_refuses_a_conflicting_architecture(setup, tmp_path):
    split, tok, out = setup
    spec = parse_model_spec("BERT_NT", {"kind": "bert", "tokenizer": "nt", "init_from": "mlm_nt", "layers": 3}, 0)
    with pytest.raises(InputError, match=r"models\.BERT_NT\.layers: 3 differs from the pretrained checkpoint's 1"):
        bert.train(split, spec, tmp_path, tokenizer_dir=tok, pretrained_dir=out)


def test_extra_sequences_are_used_but_never_valid_or_test_ones(setup, tmp_path):
    split, tok, _ = setup
    valid_seq = split.loc[split["split"] == "valid", "sequence"].iloc[0]
    fresh = structured_split(n=20, seed=9)["sequence"].tolist()
    fasta = tmp_path / "extra.fa"
    fasta.write_text(">leak\n" + valid_seq[:20] + "\n" + valid_seq[20:] + "\n>long\n" + fresh[0] + fresh[1] + "\n")
    tsv = tmp_path / "extra.tsv"
    tsv.write_text("id\tsequence\n" + "".join(f"x{i}\t{s}\n" for i, s in enumerate(fresh[2:5])))
    assert read_sequences(fasta)["sequence"].tolist() == [valid_seq, fresh[0] + fresh[1]]
    assert read_sequences(tsv)["sequence"].tolist() == fresh[2:5]
    out = tmp_path / "mlm"
    mlm.pretrain(split, mlm_spec(**{**TINY, "epochs": 1, "extra_sequences": [str(fasta), str(tsv)]}), tok, out)
    n_train = (split["split"] == "train").sum()
    # the valid sequence is dropped, the 80-nt one is cut into two 40-nt windows, the TSV gives 3
    assert json.loads((out / "mlm.json").read_text())["sequences"] == n_train + 2 + 3


def test_a_killed_run_resumes_to_the_same_model(setup, tmp_path, monkeypatch):
    split, tok, _ = setup
    spec = mlm_spec(seed=1, **{**TINY, "epochs": 3, "dropout": 0.1})  # dropout: the RNG state must resume too
    mlm.pretrain(split, spec, tok, tmp_path / "straight")

    real = training.validation_loss
    calls = {"n": 0}

    def dies_in_epoch_two(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # the job is killed after the second epoch's updates
        return real(*args, **kwargs)

    monkeypatch.setattr(training, "validation_loss", dies_in_epoch_two)
    with pytest.raises(KeyboardInterrupt):
        mlm.pretrain(split, spec, tok, tmp_path / "killed")
    assert calls["n"] == 2
    checkpoint = tmp_path / "killed" / training.CHECKPOINT
    assert torch.load(checkpoint, weights_only=False)["state"]["epoch"] == 1  # killed mid-run, after epoch 1
    assert not (tmp_path / "killed" / "model.safetensors").exists()
    monkeypatch.setattr(training, "validation_loss", real)
    mlm.pretrain(split, spec, tok, tmp_path / "killed")
    a = load_file(str(tmp_path / "straight" / "model.safetensors"))
    b = load_file(str(tmp_path / "killed" / "model.safetensors"))
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)
    straight, resumed = epochs_of(tmp_path / "straight" / "mlm.json"), epochs_of(tmp_path / "killed" / "mlm.json")
    assert [e[:2] for e in resumed] == [e[:2] for e in straight]  # the same updates, epoch by epoch
    assert resumed[0] == straight[0]  # the epoch before the kill, restored from the checkpoint
    best = [json.loads((tmp_path / run / "mlm.json").read_text())["best_epoch"] for run in ("straight", "killed")]
    assert best[0] == best[1]


def test_heldout_loss_uses_the_same_masks_every_epoch(setup, tmp_path):
    """With a learning rate of 0 the model never changes, so the held-out loss is the same each epoch
    if and only if it is scored on the same masks (MaskedTokenBatches: epoch 0's seed for validation),
    which is also what makes a resumed run's held-out losses those of the unbroken run."""
    split, tok, _ = setup
    mlm.pretrain(split, mlm_spec(**{**TINY, "epochs": 3, "lr": 0.0}), tok, tmp_path)
    held_out = [e[2] for e in epochs_of(tmp_path / "mlm.json")]
    assert len(held_out) == 3 and held_out[0] == held_out[1] == held_out[2], held_out


def test_bad_spec_is_refused(setup, tmp_path):
    split, tok, _ = setup
    with pytest.raises(InputError, match=r"^pretraining\.mlm_nt\.epochz: not a key of kind mlm "
                                         r"\(known keys: .*\bepochs\b.*\bmask_prob\b"):
        mlm_spec(epochz=1)
    with pytest.raises(InputError, match=r"^pretraining\.mlm_nt\.mask_prob: 1\.5 is not in \(0, 1\)"):
        mlm_spec(mask_prob=1.5)
    with pytest.raises(InputError, match=r"^pretraining\.mlm_nt\.layers: 'one' is not a whole number"):
        mlm_spec(layers="one")
    with pytest.raises(InputError, match=r"missing\.fa: file not found"):
        mlm.pretrain(split, mlm_spec(**{**TINY, "extra_sequences": [str(tmp_path / "missing.fa")]}), tok, tmp_path)


def test_extra_windows_drop_overlaps_with_held_out_and_name_the_config_key(tmp_path):
    held_out, fresh = (structured_split(n=2, seed=seed)["sequence"].tolist() for seed in (3, 4))
    path = tmp_path / "extra.fa"
    path.write_text(f">long\n{fresh[0]}{held_out[0]}{fresh[1]}\n")  # three windows, the middle one held out
    window = len(fresh[0])
    assert mlm.extra_windows([path], window, held_out, 20) == [fresh[0], fresh[1]]
    with pytest.raises(InputError, match=r"^pretraining.X.extra_sequences: .*nowhere.fa: file not found"):
        mlm.extra_windows([tmp_path / "nowhere.fa"], window, held_out, 20, "pretraining.X.extra_sequences")
