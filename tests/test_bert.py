"""BERT-style regressor from scratch (BERT_*, MORPH_*, HYBRID rows): learns, saves a model folder that
load_model reads back to the same predictions, refuses bad specs."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest
import torch

from decaylm.models.batching import TokenBatches, encode, token_items
from decaylm.errors import InputError
from decaylm.models.registry import parse_model_spec
from decaylm.models import bert, load_model
from decaylm.models.cpu import BitDropout
from decaylm.tokenizers import load_tokenizer, train_tokenizer
from tests.helpers.models import frame, motif_split, r2, train_and_load

TINY = {"layers": 2, "hidden": 32, "heads": 2, "intermediate": 64, "max_length": 64, "dropout": 0.0,
        "head_dropout": 0.0, "lr": 3e-3, "batch_size": 32, "epochs": 15, "patience": 15, "warmup_fraction": 0.1}


pytestmark = pytest.mark.usefixtures("one_thread")


def gc_split(n=480, length=40, seed=0) -> pd.DataFrame:
    """Sequences of varied GC content; y = standardized G+C fraction + small noise."""
    rng = np.random.default_rng(seed)
    sequences, y = [], []
    for _ in range(n):
        gc = rng.uniform(0.2, 0.8)
        seq = "".join(rng.choice(list("ACGT"), length, p=[(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2]))
        sequences.append(seq)
        y.append(((seq.count("G") + seq.count("C")) / length - 0.5) * 5 + rng.normal(0, 0.1))
    return frame(sequences, np.asarray(y))


def tokenizer_for(split, spec, path):
    train = split[split["split"] == "train"]
    train_tokenizer(spec, train["sequence"].tolist(), train["y"].to_numpy(), path, seed=0)
    return path


def bert_spec(name="BERT_NT", seed=0, **spec):
    return parse_model_spec(name, {"kind": "bert", "tokenizer": "nt", **spec}, seed)


def trained_predictions(module, split, spec, out_dir, **inputs) -> np.ndarray:
    module.train(split, spec, out_dir, **inputs)
    return load_model(out_dir).predict(split["sequence"].tolist())


def head_outputs(loaded, sequences) -> np.ndarray:
    """Every output column of a loaded BERT regressor's head (predict reports column 0)."""
    captured = []
    handle = loaded.module.head.register_forward_hook(lambda module, args, out: captured.append(out.detach().float()))
    try:
        batch = loaded.collate(token_items(encode(loaded.tokenizer, sequences, loaded.max_tokens)))
        with torch.no_grad():
            loaded.module.eval()(**batch)
    finally:
        handle.remove()
    return captured[0].numpy()


@pytest.fixture(scope="module")
def nt_gc(tmp_path_factory):
    split = gc_split()
    return split, tokenizer_for(split, {"kind": "nucleotide"}, tmp_path_factory.mktemp("tok_nt"))


def test_bert_learns_a_planted_signal_and_saves_a_loadable_model(nt_gc, tmp_path):
    split, tok_dir = nt_gc
    out = tmp_path / "BERT_NT"
    loaded, pred = train_and_load(bert, split, bert_spec(**TINY), out, tokenizer_dir=tok_dir)
    assert pred.shape == (len(split),) and np.isfinite(pred).all()
    assert r2(split, pred) > 0.6, r2(split, pred)

    record = json.loads((out / "training.json").read_text())
    assert {"history", "best_epoch", "train_tokens_per_second", "train_seconds"} <= set(record)
    assert record["train_tokens_per_second"] > 0 and 1 <= record["best_epoch"] <= len(record["history"])
    model_json = json.loads((out / "model.json").read_text())
    assert model_json["kind"] == "bert" and model_json["name"] == "BERT_NT" and model_json["input_length"] == 40
    assert model_json["spec"]["architecture"]["layers"] == TINY["layers"] and model_json["spec"]["tokenizer"] == "nt"
    for name in ("weights/config.json", "weights/model.safetensors", "tokenizer/tokenizer.json"):
        assert (out / name).exists(), name
    # the folder alone is the model: moved elsewhere (and the tokenizer it was trained with gone), it loads
    # and predicts the same numbers
    moved = tmp_path / "elsewhere" / "BERT_NT"
    moved.parent.mkdir()
    shutil.move(out, moved)
    shutil.copytree(tok_dir, tmp_path / "tok_backup")
    shutil.rmtree(tok_dir)
    try:
        np.testing.assert_array_equal(load_model(moved).predict(split["sequence"].tolist()), pred)
    finally:
        shutil.copytree(tmp_path / "tok_backup", tok_dir)  # the module's fixture is shared


def test_same_seed_same_predictions_other_seed_differs(nt_gc, tmp_path):
    split, tok_dir = nt_gc
    spec = {**TINY, "epochs": 2, "dropout": 0.1}
    a = trained_predictions(bert, split, bert_spec(seed=5, **spec), tmp_path / "a", tokenizer_dir=tok_dir)
    b = trained_predictions(bert, split, bert_spec(seed=5, **spec), tmp_path / "b", tokenizer_dir=tok_dir)
    c = trained_predictions(bert, split, bert_spec(seed=6, **spec), tmp_path / "c", tokenizer_dir=tok_dir)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_bf16_on_runs_the_encoder_in_bf16_and_predicts_close_to_fp32(nt_gc, monkeypatch):
    """`bf16: on` on a CPU: the encoder's matmuls run in bf16 (its linear layers give bf16), the head
    stays fp32, and the predictions of the same weights differ from fp32's by bf16 rounding only."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    split, tok_dir = nt_gc
    tokenizer = load_tokenizer(tok_dir)
    models = {setting: bert.build_model(bert_spec(**{**TINY, "bf16": setting}).architecture, tokenizer).eval()
              for setting in ("on", "off")}
    models["on"].load_state_dict(models["off"].state_dict())
    ids = encode(tokenizer, split["sequence"].tolist()[:16], 64)
    # one length, no padding: the nucleotide tokenizer gives every 40-nt reporter 42 ids
    input_ids = torch.tensor(np.stack(ids), dtype=torch.long)
    predictions, dtypes = {}, {}
    for setting, model in models.items():
        seen = dtypes[setting] = {"encoder": set(), "head": set()}
        hooks = [layer.register_forward_hook(lambda module, args, out, part=part: seen[part].add(out.dtype))
                 for part, root in (("encoder", model.bert), ("head", model.head))
                 for layer in root.modules() if isinstance(layer, torch.nn.Linear)]
        with torch.no_grad():
            predictions[setting], _ = model(input_ids=input_ids, attention_mask=torch.ones_like(input_ids))
        for hook in hooks:
            hook.remove()
    assert dtypes["on"] == {"encoder": {torch.bfloat16}, "head": {torch.float32}}
    assert dtypes["off"] == {"encoder": {torch.float32}, "head": {torch.float32}}
    assert predictions["on"].dtype == torch.float32
    scale = float(predictions["off"].abs().max())
    torch.testing.assert_close(predictions["on"], predictions["off"], rtol=0, atol=0.05 * scale)
    assert not torch.equal(predictions["on"], predictions["off"])  # it did round: bf16 really ran


def test_bit_dropout_replaces_every_dropout_and_the_loss_is_the_squared_error(nt_gc, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    split, tok_dir = nt_gc
    model = bert.build_model(bert_spec(**{**TINY, "dropout": 0.1}).architecture, load_tokenizer(tok_dir))
    dropouts = [m for m in model.modules() if isinstance(m, torch.nn.Dropout)]
    assert dropouts and all(isinstance(m, BitDropout) for m in dropouts)
    arch = bert_spec(**{**TINY, "dropout": 0.1, "bit_dropout": False}).architecture
    assert not any(isinstance(m, BitDropout) for m in bert.build_model(arch, load_tokenizer(tok_dir)).modules())
    ids = torch.tensor([[2, 5, 6, 7, 3], [2, 5, 3, 0, 0]])
    with torch.no_grad():
        prediction, loss = model.eval()(input_ids=ids, attention_mask=(ids != 0).long())
        assert loss is None  # no target, no loss
        assert prediction.shape == (2,) and prediction.dtype == torch.float32 and torch.isfinite(prediction).all()
        again, loss = model(input_ids=ids, attention_mask=(ids != 0).long(), y=torch.tensor([0.5, -0.5]))
    torch.testing.assert_close(again, prediction, rtol=0, atol=0)
    assert float(loss) == pytest.approx(float(((prediction - torch.tensor([0.5, -0.5])) ** 2).mean()), rel=1e-5)


def test_hybrid_conv_stem_learns_a_motif(tmp_path):
    split = motif_split()
    tok_dir = tokenizer_for(split, {"kind": "nucleotide"}, tmp_path / "tok")
    spec = bert_spec("HYBRID", **{**TINY, "layers": 1, "conv_stem": [5, 3], "stem_pool": 2, "pooling": "meanmax"})
    loaded, pred = train_and_load(bert, split, spec, tmp_path / "run", tokenizer_dir=tok_dir)
    assert r2(split, pred) > 0.6, r2(split, pred)
    stem = loaded.module.stem
    assert stem is not None and [conv.kernel_size[0] for conv in stem.convs] == [5, 3] and stem.pool == 2


def test_sequences_that_encode_to_cls_sep_only(tmp_path):
    """rbp_window keeps only motif k-mers: reporters without one are [CLS][SEP] and must still work."""
    split = motif_split(motif="TATTTAT", background="AC", p=[0.8, 0.2], max_copies=1)
    tok_dir = tokenizer_for(split, {"kind": "rbp_window", "table": "known", "k": 7}, tmp_path / "tok")
    lengths = np.array([len(ids) for ids in load_tokenizer(tok_dir).encode_many(split["sequence"])])
    empty = lengths == 2
    assert 0.2 < empty.mean() < 0.8  # the data really has both kinds
    loaded, pred = train_and_load(bert, split, bert_spec("MORPH_K", **{**TINY, "epochs": 8}, tokenizer="morph"),
                                  tmp_path / "run", tokenizer_dir=tok_dir)
    assert np.isfinite(pred).all()
    assert np.ptp(pred[empty]) < 1e-5  # nothing to tell them apart: one prediction for all
    assert r2(split, pred) > 0.8, r2(split, pred)
    assert loaded.min_length == 7  # a sequence shorter than one motif window gives no token


def test_spec_errors_name_the_model_key(nt_gc, tmp_path):
    split, tok_dir = nt_gc
    with pytest.raises(InputError, match=r"^models\.BERT_X\.layerz: not a key of kind bert \(known keys: .*\blayers\b"):
        parse_model_spec("BERT_X", {"kind": "bert", "layerz": 2})
    with pytest.raises(InputError, match=r"^models\.BERT_X\.layers: 'two' is not a whole number"):
        parse_model_spec("BERT_X", {"kind": "bert", "layers": "two"})
    with pytest.raises(InputError, match=r"^models\.BERT_X\.pooling: unknown pooling 'max'"):
        parse_model_spec("BERT_X", {"kind": "bert", "pooling": "max"})
    with pytest.raises(InputError, match=r"^models\.BERT_X\.heads: hidden 30 is not divisible by heads 4"):
        parse_model_spec("BERT_X", {"kind": "bert", "hidden": 30, "heads": 4})
    # init_from that names no checkpoint: never silently trained from scratch
    spec = parse_model_spec("BERT_X", {"kind": "bert", "tokenizer": "nt", "init_from": "mlm_nt", **TINY})
    with pytest.raises(InputError, match=r"^models\.BERT_X\.init_from: no pretrained checkpoint"):
        bert.train(split, spec, tmp_path / "run", tokenizer_dir=tok_dir)
    assert not (tmp_path / "run" / "model.json").exists()
    with pytest.raises(InputError, match=r"^models\.BERT_X\.tokenizer: no tokenizer given"):
        bert.train(split, spec, tmp_path / "run")


def test_long_sequences_are_cut_to_max_length(nt_gc):
    tok = load_tokenizer(nt_gc[1])
    ids = encode(tok, ["ACGT" * 40, "ACGT"], 16)
    assert len(ids[0]) == 16 and ids[0][0] == tok.cls_token_id and ids[0][-1] == tok.sep_token_id
    assert len(ids[1]) == 6  # a short one is left as it is


def test_auxiliary_hours_train_extra_outputs_and_leave_the_target_first(nt_gc, tmp_path):
    split, tok_dir = nt_gc
    rng = np.random.default_rng(3)
    # an auxiliary hour that carries the signal with other noise, and one that is pure noise
    expression = pd.DataFrame({"id": split["id"], "sequence": split["sequence"],
                               "4h": split["y"] + rng.normal(0, 0.2, len(split)), "6h": rng.normal(size=len(split))})
    expression.to_csv(tmp_path / "expression.tsv", sep="\t", index=False)
    spec = bert_spec(**{**TINY, "aux_hours": [4, 6]})
    loaded, pred = train_and_load(bert, split, spec, tmp_path / "run", tokenizer_dir=tok_dir,
                                  expression_path=tmp_path / "expression.tsv")
    assert pred.shape == (len(split),) and r2(split, pred) > 0.6, r2(split, pred)

    assert loaded.module.config.num_outputs == 3 and loaded.module.config.aux_hours == [4, 6]
    out = head_outputs(loaded, split["sequence"].tolist())
    assert out.shape == (len(split), 3)
    test = split["split"].to_numpy() == "test"
    np.testing.assert_allclose(out[:, 0], pred, rtol=1e-4, atol=1e-4)  # column 0 is what is reported
    assert np.corrcoef(out[test, 1], expression["4h"][test])[0, 1] > 0.8  # the auxiliary head learned its hour
    with pytest.raises(InputError, match=r"models\.BERT_NT\.aux_hours: auxiliary hours need the expression table"):
        bert.train(split, spec, tmp_path / "none", tokenizer_dir=tok_dir)


# ---------------------------------------------------------------------------------------------
# nt_features: convolutions over the nucleotides, averaged over each token's span, added to its embedding

NT_TOKENIZERS = {"nucleotide": {"kind": "nucleotide"}, "kmer": {"kind": "kmer", "k": 4},
                 "kmer_chunks": {"kind": "kmer", "k": 6, "overlapping": False}, "bpe": {"kind": "bpe", "vocab_size": 200},
                 "wordpiece": {"kind": "wordpiece", "vocab_size": 200}, "morfessor": {"kind": "morfessor"},
                 "rbp_window": {"kind": "rbp_window", "table": "known", "k": 7}}
ELEMENT = "CAT{}TAC"  # the base in its middle sets y


def middle_base_split(n=480, length=40, seed=0) -> pd.DataFrame:
    """Random reporters, each with ELEMENT at a random place; y = +1 when its middle base is G or C, else -1
    (+ small noise). Cut into 6-nt chunks, the base sits inside a token whose id is one of 4096, most of
    them unseen in training: the id does not tell a model the base unless it has learned that very id."""
    rng = np.random.default_rng(seed)
    sequences, y = [], []
    for _ in range(n):
        sequence, base, at = "".join(rng.choice(list("ACGT"), length)), rng.choice(list("ACGT")), int(rng.integers(0, length - 7))
        sequences.append(sequence[:at] + ELEMENT.format(base) + sequence[at + 7:])
        y.append((1.0 if base in "GC" else -1.0) + rng.normal(0, 0.1))
    return frame(sequences, np.asarray(y))


@pytest.mark.parametrize("kind", list(NT_TOKENIZERS))
def test_nt_features_train_save_and_load_with_every_tokenizer_kind(kind, tmp_path):
    split = motif_split(n=200)
    tok_dir = tokenizer_for(split, NT_TOKENIZERS[kind], tmp_path / "tok")
    both = {"conv_stem": [3], "stem_pool": 2} if kind == "nucleotide" else {}  # the stem convolves the sum
    spec = bert_spec("BERT_X", **{**TINY, "epochs": 2, "nt_features": [5, 3], **both})
    # train_and_load: the folder loads and predicts what the trained model in memory predicted
    loaded, pred = train_and_load(bert, split, spec, tmp_path / "run", tokenizer_dir=tok_dir)
    assert np.isfinite(pred).all() and loaded.module.config.nt_features == [5, 3]
    assert [conv.kernel_size[0] for conv in loaded.module.nt.convs.convs] == [5, 3]
    assert loaded.one_hot_module() is None  # attribution by ISM through predict


def test_nt_features_see_the_base_inside_a_token(tmp_path):
    """The same model with and without the option, on a target only the nucleotides inside a token tell."""
    split = middle_base_split()
    tok_dir = tokenizer_for(split, NT_TOKENIZERS["kmer_chunks"], tmp_path / "tok")
    fits = {}
    for kernels in ([], [7, 5]):
        spec = bert_spec("BERT_X", **{**TINY, "nt_features": kernels}, tokenizer="kmer6")
        _, pred = train_and_load(bert, split, spec, tmp_path / f"run{len(kernels)}", tokenizer_dir=tok_dir)
        fits[bool(kernels)] = r2(split, pred)
    assert fits[True] > 0.8 and fits[False] < 0.4, fits


def test_span_means_are_each_tokens_mean_and_padding_does_not_reach_them():
    torch.manual_seed(0)
    h = torch.randn(3, 12, 5)
    start = torch.randint(0, 12, (3, 7))
    spans = torch.stack([start, start + torch.randint(0, 4, (3, 7))], dim=-1).clamp(max=12)
    spans[:, 0] = spans[:, -1] = 0  # [CLS], [SEP]: empty
    slow = torch.zeros(3, 7, 5)
    for b in range(3):
        for t in range(7):
            a, e = spans[b, t].tolist()
            if e > a:
                slow[b, t] = h[b, a:e].mean(0)
    torch.testing.assert_close(bert.span_means(h, spans), slow, rtol=1e-5, atol=1e-5)
    # a reporter's features are the same alone and padded beside a longer one (padding zeroed before each conv)
    features = bert.NucleotideFeatures(8, [5, 3], 0.0).eval()
    bases = torch.randint(0, 5, (1, 12))
    padded = torch.cat([torch.cat([bases, torch.full((1, 6), -1)], 1), torch.randint(0, 5, (1, 18))])
    spans = torch.tensor([[[0, 0], [0, 4], [4, 12], [11, 12], [0, 0]]])
    with torch.no_grad():
        torch.testing.assert_close(features(padded, spans.expand(2, -1, -1))[:1], features(bases, spans))


def test_nt_features_under_bf16_predict_close_to_fp32(monkeypatch, tmp_path):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    split = motif_split(n=40)
    tokenizer = load_tokenizer(tokenizer_for(split, NT_TOKENIZERS["bpe"], tmp_path / "tok"))
    models = {setting: bert.build_model(bert_spec(**{**TINY, "bf16": setting, "nt_features": [5]}).architecture,
                                        tokenizer).eval() for setting in ("on", "off")}
    models["on"].load_state_dict(models["off"].state_dict())
    batch = TokenBatches(tokenizer.pad_token_id)(bert.regressor_items(models["on"].config, tokenizer, split["sequence"]))
    with torch.no_grad():
        predictions = {setting: model(**batch)[0] for setting, model in models.items()}
    scale = float(predictions["off"].abs().max())
    torch.testing.assert_close(predictions["on"], predictions["off"], rtol=0, atol=0.05 * scale)
    assert not torch.equal(predictions["on"], predictions["off"])
    with pytest.raises(ValueError, match="nt_features: its batches need nucleotides and spans"):
        models["off"](input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])


def test_nt_features_model_is_interpreted_by_ism_through_predict(tmp_path):
    """The interpret job on a model with the option: ISM through its predict (no gradients), and on the
    middle-base task the element's middle base is where substitutions move the prediction most."""
    from decaylm.interpret.attribution import decode
    from decaylm.interpret.pipeline import interpret_model
    from decaylm.io import write_tsv

    split = middle_base_split()
    tok_dir = tokenizer_for(split, NT_TOKENIZERS["kmer_chunks"], tmp_path / "tok")
    bert.train(split, bert_spec("BERT_X", **{**TINY, "nt_features": [7, 5]}, tokenizer="kmer6"), tmp_path / "run",
               tokenizer_dir=tok_dir)
    write_tsv(split, tmp_path / "split.tsv")
    (tmp_path / "run.json").write_text(json.dumps({"status": "ok"}))
    out = {key: str(tmp_path / "interpret" / name) for key, name in
           {"attributions": "a.npz", "motifs": "m.tsv", "meme": "m.meme", "effects": "e.tsv", "logos": "l.png",
            "positional": "p.png"}.items()}
    interpret_model("BERT_X", tmp_path / "run", tmp_path / "run.json", tmp_path / "split.tsv", out,
                    {"n_sequences": 6, "backgrounds": 2, "position_step": 20, "positional_motifs": 1})
    arrays = np.load(out["attributions"])
    assert "saliency_hypothetical" not in arrays and arrays["ism_delta"].shape == (6, 4, 40)
    for sequence, delta in zip(decode(arrays["one_hot"]), arrays["ism_delta"]):
        middle = re.search(ELEMENT.format("[ACGT]"), sequence).start() + 3
        assert np.abs(delta).sum(0).argmax() == middle, (sequence, middle)
