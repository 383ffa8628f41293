"""BERT-style regressor from scratch (BERT_*, MORPH_*, HYBRID rows): learns, saves, reloads, refuses bad specs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from decaylm.errors import InputError
from decaylm.models import bert
from decaylm.models.cpu import BitDropout
from decaylm.tokenization import load_tokenizer, train_tokenizer

MOTIF = "GGGCC"
TINY = {"layers": 2, "hidden": 32, "heads": 2, "intermediate": 64, "max_length": 64, "dropout": 0.0,
        "head_dropout": 0.0, "lr": 3e-3, "batch_size": 32, "epochs": 15, "patience": 15, "warmup_fraction": 0.1}


pytestmark = pytest.mark.usefixtures("one_thread")


def frame(sequences, y, seed=0) -> pd.DataFrame:
    n = len(sequences)
    part = np.where(np.arange(n) < 0.7 * n, "train", np.where(np.arange(n) < 0.85 * n, "valid", "test"))
    return pd.DataFrame({"id": [f"r{i}" for i in range(n)], "sequence": sequences, "y": y, "split": part,
                         "group": np.arange(n)})


def motif_split(n=480, length=40, motif=MOTIF, background="ACGT", p=None, max_copies=2, seed=0) -> pd.DataFrame:
    """Random background with 0..max_copies planted motifs; y = copies + small noise."""
    rng = np.random.default_rng(seed)
    sequences, y = [], []
    for _ in range(n):
        seq = list(rng.choice(list(background), length, p=p))
        copies = int(rng.integers(0, max_copies + 1))
        for c in range(copies):
            start = 1 + c * (length // 2) + int(rng.integers(0, length // 2 - len(motif) - 1))
            seq[start:start + len(motif)] = motif
        sequences.append("".join(seq))
        y.append(copies + rng.normal(0, 0.1))
    return frame(sequences, np.asarray(y), seed)


def gc_split(n=480, length=40, seed=0) -> pd.DataFrame:
    """Sequences of varied GC content; y = standardized G+C fraction + small noise."""
    rng = np.random.default_rng(seed)
    sequences, y = [], []
    for _ in range(n):
        gc = rng.uniform(0.2, 0.8)
        seq = "".join(rng.choice(list("ACGT"), length, p=[(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2]))
        sequences.append(seq)
        y.append(((seq.count("G") + seq.count("C")) / length - 0.5) * 5 + rng.normal(0, 0.1))
    return frame(sequences, np.asarray(y), seed)


def tokenizer_for(split, spec, path):
    train = split[split["split"] == "train"]
    train_tokenizer(spec, train["sequence"].tolist(), train["y"].to_numpy(), path, seed=0)
    return path


def r2(split, pred, part="test") -> float:
    where = split["split"].to_numpy() == part
    y = split["y"].to_numpy()[where]
    return float(1 - np.sum((y - pred[where]) ** 2) / np.sum((y - y.mean()) ** 2))


@pytest.fixture(scope="module")
def nt_gc(tmp_path_factory):
    split = gc_split()
    return split, tokenizer_for(split, {"kind": "nucleotide"}, tmp_path_factory.mktemp("tok_nt"))


def test_bert_learns_a_planted_signal_and_saves_a_loadable_model(nt_gc, tmp_path):
    split, tok_dir = nt_gc
    pred = bert.train_and_predict(split, {"kind": "bert", "tokenizer": "nt", **TINY}, tmp_path, 0, "BERT_NT", tok_dir)
    assert pred.shape == (len(split),) and np.isfinite(pred).all()
    assert r2(split, pred) > 0.6, r2(split, pred)

    record = json.loads((tmp_path / "training.json").read_text())
    assert {"history", "best_epoch", "train_tokens_per_second", "train_seconds"} <= set(record)
    assert record["train_tokens_per_second"] > 0 and 1 <= record["best_epoch"] <= len(record["history"])
    model_dir = tmp_path / "model"
    for name in ("config.json", "model.safetensors", "tokenizer.json", "decaylm_tokenizer/tokenizer.json"):
        assert (model_dir / name).exists(), name
    # a user reloads the model and its tokenizer from model/ alone and gets the same predictions
    model = bert.load_regressor(model_dir)
    tok = load_tokenizer(model_dir / "decaylm_tokenizer")
    again = bert.predict(model, bert.items_of(split, tok, 64), bert.make_collate(tok.pad_token_id))
    np.testing.assert_allclose(again, pred, rtol=1e-4, atol=1e-4)


def test_same_seed_same_predictions_other_seed_differs(nt_gc, tmp_path):
    split, tok_dir = nt_gc
    spec = {**TINY, "epochs": 2, "dropout": 0.1}
    a = bert.train_and_predict(split, spec, tmp_path / "a", 5, "BERT_NT", tok_dir)
    b = bert.train_and_predict(split, spec, tmp_path / "b", 5, "BERT_NT", tok_dir)
    c = bert.train_and_predict(split, spec, tmp_path / "c", 6, "BERT_NT", tok_dir)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


@pytest.mark.parametrize("setting", ["on", "off"])
def test_cpu_bf16_setting_picks_attention_and_bit_dropout_replaces_every_dropout(nt_gc, setting, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    split, tok_dir = nt_gc
    arch, _ = bert.split_spec({**TINY, "dropout": 0.1, "bf16": setting}, "BERT_NT")
    model = bert.build_model(arch, load_tokenizer(tok_dir))
    assert model.config.cpu_bf16 == (setting == "on")
    assert model.config._attn_implementation == ("eager" if setting == "on" else "sdpa")
    dropouts = [m for m in model.modules() if isinstance(m, torch.nn.Dropout)]
    assert dropouts and all(isinstance(m, BitDropout) for m in dropouts)
    arch, _ = bert.split_spec({**TINY, "dropout": 0.1, "bit_dropout": False}, "BERT_NT")
    assert not any(isinstance(m, BitDropout) for m in bert.build_model(arch, load_tokenizer(tok_dir)).modules())
    ids = torch.tensor([[2, 5, 6, 7, 3], [2, 5, 3, 0, 0]])
    out = model.eval()(input_ids=ids, attention_mask=(ids != 0).long())
    assert out.dtype == torch.float32 and torch.isfinite(out).all()


def test_hybrid_conv_stem_learns_a_motif(tmp_path):
    split = motif_split()
    tok_dir = tokenizer_for(split, {"kind": "nucleotide"}, tmp_path / "tok")
    spec = {**TINY, "layers": 1, "conv_stem": [5, 3], "stem_pool": 2, "pooling": "meanmax"}
    pred = bert.train_and_predict(split, spec, tmp_path / "run", 0, "HYBRID", tok_dir)
    assert r2(split, pred) > 0.6, r2(split, pred)
    assert bert.load_regressor(tmp_path / "run" / "model").stem is not None


def test_sequences_that_encode_to_cls_sep_only(tmp_path):
    """rbp_window keeps only motif k-mers: reporters without one are [CLS][SEP] and must still work."""
    split = motif_split(motif="TATTTAT", background="AC", p=[0.8, 0.2], max_copies=1)
    tok_dir = tokenizer_for(split, {"kind": "rbp_window", "table": "known", "k": 7}, tmp_path / "tok")
    lengths = np.array([len(ids) for ids in load_tokenizer(tok_dir).encode_many(split["sequence"])])
    empty = lengths == 2
    assert 0.2 < empty.mean() < 0.8  # the data really has both kinds
    pred = bert.train_and_predict(split, {**TINY, "epochs": 8}, tmp_path / "run", 0, "MORPH_K", tok_dir)
    assert np.isfinite(pred).all()
    assert np.ptp(pred[empty]) < 1e-5  # nothing to tell them apart: one prediction for all
    assert r2(split, pred) > 0.8, r2(split, pred)


def test_spec_errors_name_the_model_key(nt_gc, tmp_path):
    split, tok_dir = nt_gc
    with pytest.raises(InputError, match=r"models\.BERT_X.*unknown parameter.*'layerz'"):
        bert.train_and_predict(split, {"layerz": 2}, tmp_path, 0, "BERT_X", tok_dir)
    with pytest.raises(InputError, match=r"models\.BERT_X\.pooling"):
        bert.train_and_predict(split, {"pooling": "max"}, tmp_path, 0, "BERT_X", tok_dir)
    with pytest.raises(InputError, match=r"models\.BERT_X\.heads"):
        bert.train_and_predict(split, {"hidden": 30, "heads": 4}, tmp_path, 0, "BERT_X", tok_dir)
    with pytest.raises(InputError, match=r"models\.BERT_X\.init_from"):  # never silently from scratch
        bert.train_and_predict(split, {"init_from": "mlm_nt"}, tmp_path, 0, "BERT_X", tok_dir)


def test_long_sequences_are_cut_to_max_length(nt_gc):
    tok = load_tokenizer(nt_gc[1])
    ids = bert.encode(tok, ["ACGT" * 40], 16)[0]
    assert len(ids) == 16 and ids[0] == tok.cls_token_id and ids[-1] == tok.sep_token_id


def test_auxiliary_hours_train_extra_outputs_and_leave_the_target_first(nt_gc, tmp_path):
    split, tok_dir = nt_gc
    rng = np.random.default_rng(3)
    # an auxiliary hour that carries the signal with other noise, and one that is pure noise
    expression = pd.DataFrame({"id": split["id"], "sequence": split["sequence"],
                               "4h": split["y"] + rng.normal(0, 0.2, len(split)), "6h": rng.normal(size=len(split))})
    expression.to_csv(tmp_path / "expression.tsv", sep="\t", index=False)
    spec = {**TINY, "aux_hours": [4, 6]}
    pred = bert.train_and_predict(split, spec, tmp_path / "run", 0, "BERT_NT", tok_dir,
                                  expression_path=tmp_path / "expression.tsv")
    assert pred.shape == (len(split),) and r2(split, pred) > 0.6, r2(split, pred)

    model = bert.load_regressor(tmp_path / "run" / "model")
    assert model.config.num_outputs == 3 and model.config.aux_hours == [4, 6]
    tok = load_tokenizer(tmp_path / "run" / "model" / "decaylm_tokenizer")
    batch = bert.make_collate(tok.pad_token_id)(bert.items_of(split, tok, 64))
    out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).detach().numpy()
    test = split["split"].to_numpy() == "test"
    np.testing.assert_allclose(out[:, 0], pred, rtol=1e-4, atol=1e-4)  # column 0 is what is reported
    assert np.corrcoef(out[test, 1], expression["4h"][test])[0, 1] > 0.8  # the auxiliary head learned its hour
    with pytest.raises(InputError, match="need the expression table"):
        bert.train_and_predict(split, spec, tmp_path / "none", 0, "BERT_NT", tok_dir)
