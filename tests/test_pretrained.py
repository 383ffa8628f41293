"""DNABERT2 row: fine-tuning through the real from_pretrained path, on tiny checkpoints made here; the
model folder (fine-tuned encoder with its tokenizer, and the head) loads back to the same predictions."""

from __future__ import annotations

import json
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest
import torch

from decaylm.models.batching import TokenBatches, token_items
from decaylm.errors import InputError
from decaylm.models.registry import parse_model_spec
from decaylm.models import load_model, pretrained
from decaylm.models.common import ModelUnavailable
from decaylm.models.training import predict
from tests.helpers.models import VOCAB, save_tiny_checkpoint, save_tokenizer, train_and_load

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    """A 2-layer BERT with a nucleotide vocabulary, saved as a local 'pretrained' checkpoint."""
    return save_tiny_checkpoint(tmp_path_factory.mktemp("tiny_bert"), hidden=32, layers=2, intermediate=64)


def planted_split(n=480, length=40, seed=0) -> pd.DataFrame:
    """Sequences of varied GC content; y = G+C fraction, standardized, + noise; random train/valid/test."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        gc = rng.uniform(0.2, 0.8)
        seq = "".join(rng.choice(list("ACGT"), length, p=[(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2]))
        y = ((seq.count("G") + seq.count("C")) / length - 0.5) * 5
        rows.append({"id": f"r{i}", "sequence": seq, "y": y + rng.normal(0, 0.1), "group": i})
    frame = pd.DataFrame(rows)
    frame["split"] = np.where(np.arange(n) < 0.7 * n, "train", np.where(np.arange(n) < 0.85 * n, "valid", "test"))
    return frame


def r2(y, p) -> float:
    return 1 - np.sum((y - p) ** 2) / np.sum((y - np.mean(y)) ** 2)


def finetune_spec(seed=0, name="DNABERT2", **spec):
    return parse_model_spec(name, {"kind": "pretrained", **spec}, seed)


def test_finetunes_a_local_checkpoint_and_learns(tiny_checkpoint, tmp_path):
    split = planted_split()
    spec = finetune_spec(seed=1, checkpoint=str(tiny_checkpoint), epochs=12, patience=12, lr=3e-3, batch_size=32)
    tokenizer, encoder, hidden = pretrained.load_pretrained(str(tiny_checkpoint))
    torch.manual_seed(0)
    untrained = pretrained.Regressor(encoder, hidden, 0.0)
    before = predict(untrained, token_items(pretrained.encode(tokenizer, split["sequence"], 64)), TokenBatches(0))

    loaded, pred = train_and_load(pretrained, split, spec, tmp_path)
    assert pred.shape == (len(split),) and np.isfinite(pred).all()
    assert np.abs(pred - before).mean() > 0.1  # training changed the model
    test = split["split"].to_numpy() == "test"
    assert r2(split["y"].to_numpy()[test], pred[test]) > 0.5  # and it learned the planted signal
    record = json.loads((tmp_path / "training.json").read_text())
    assert record["best_epoch"] >= 1 and record["train_tokens_per_second"] > 0
    assert (tmp_path / "encoder" / "model.safetensors").exists()
    assert (tmp_path / "encoder" / "tokenizer.json").exists()
    assert (tmp_path / "head.safetensors").exists()
    model_json = json.loads((tmp_path / "model.json").read_text())
    assert model_json["kind"] == "pretrained" and model_json["files"] == {"weights": "encoder", "head": "head.safetensors"}
    assert model_json["spec"]["training"]["lr"] == 3e-3 and model_json["spec"]["architecture"]["max_length"] == 64


def test_fine_tuning_defaults_are_a_small_rate_and_few_epochs(tiny_checkpoint):
    training = finetune_spec(checkpoint=str(tiny_checkpoint)).training
    assert (training.lr, training.epochs, training.patience, training.batch_size) == (3e-5, 5, 2, 32)


def test_same_seed_same_predictions(tiny_checkpoint, tmp_path):
    split = planted_split(n=160)
    spec = {"checkpoint": str(tiny_checkpoint), "epochs": 2, "lr": 1e-3}
    pretrained.train(split, finetune_spec(seed=3, **spec), tmp_path / "a")
    pretrained.train(split, finetune_spec(seed=3, **spec), tmp_path / "b")
    pretrained.train(split, finetune_spec(seed=4, **spec), tmp_path / "c")
    a, b, c = (load_model(tmp_path / run).predict(split["sequence"].tolist()) for run in "abc")
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_offline_hub_id_is_unavailable_quickly(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))  # an empty cache
    started = time.perf_counter()
    with pytest.raises(ModelUnavailable, match="DNABERT-2 weights not available offline"):
        pretrained.train(planted_split(n=40), finetune_spec(checkpoint="zhihan1996/DNABERT-2-117M"), tmp_path)
    assert time.perf_counter() - started < 10
    assert not (tmp_path / "model.json").exists()


def test_unreachable_hub_is_unavailable_without_retries(tmp_path, monkeypatch):
    import huggingface_hub.constants as hub

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(hub, "ENDPOINT", "http://127.0.0.1:9")  # nothing listens there: refused at once
    monkeypatch.setattr(pretrained, "offline", lambda: False)
    started = time.perf_counter()
    with pytest.raises(ModelUnavailable, match="cannot reach http://127.0.0.1:9"):
        pretrained.load_pretrained("someone/not-cached-model-xyz")
    assert time.perf_counter() - started < 10


def test_unknown_key_names_the_model(tiny_checkpoint):
    with pytest.raises(InputError, match=r"^models\.DNABERT2\.layerz: not a key of kind pretrained "
                                         r"\(known keys: .*\bcheckpoint\b.*\bfreeze_encoder\b"):
        finetune_spec(checkpoint=str(tiny_checkpoint), layerz=2)
    with pytest.raises(InputError, match=r"^models\.DNABERT2\.freeze_encoder: 'yes' is not true or false"):
        finetune_spec(checkpoint=str(tiny_checkpoint), freeze_encoder="yes")


def test_a_checkpoint_path_that_is_not_a_directory_is_refused(tmp_path):
    with pytest.raises(InputError, match=r"models\.DNABERT2\.checkpoint: .*missing is not a directory"):
        pretrained.train(planted_split(n=40), finetune_spec(checkpoint=str(tmp_path / "missing")), tmp_path / "run")


# A stand-in for DNABERT-2's remote code with its three problems: a config class of its own named
# BertConfig, a guarded import of a Triton kernel module that imports triton at the top (the kernel
# fails on a CPU), and an ALiBi tensor built in __init__ and kept as a plain attribute.
REMOTE_CONFIG = '''
from transformers import PretrainedConfig

class BertConfig(PretrainedConfig):
    model_type = "bert"

    def __init__(self, vocab_size=9, hidden_size=32, num_attention_heads=2, alibi_starting_size=64, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size, self.hidden_size = vocab_size, hidden_size
        self.num_attention_heads, self.alibi_starting_size = num_attention_heads, alibi_starting_size
'''
REMOTE_TRITON = '''
import triton
import triton.language as tl

def flash_attn_qkvpacked_func(*args, **kwargs):
    raise RuntimeError("the Triton kernel cannot run here")
'''
REMOTE_MODEL = '''
import torch
from torch import nn
from transformers.models.bert.modeling_bert import BertPreTrainedModel

try:
    from .flash_attn_triton import flash_attn_qkvpacked_func
except ImportError as e:
    flash_attn_qkvpacked_func = None


class Encoder(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.heads = config.num_attention_heads
        self.qkv = nn.Linear(config.hidden_size, 3 * config.hidden_size)
        self.out = nn.Linear(config.hidden_size, config.hidden_size)
        self._current_alibi_size = config.alibi_starting_size
        self.rebuild_alibi_tensor(size=config.alibi_starting_size)

    def rebuild_alibi_tensor(self, size, device=None):
        position = torch.arange(size, device=device)
        self.alibi = -0.5 * (position[None, :] - position[:, None]).abs().float()[None, None]
        self._current_alibi_size = size

    def forward(self, x, mask):
        b, l, h = x.shape
        q, k, v = self.qkv(x).view(b, l, 3, self.heads, h // self.heads).permute(2, 0, 3, 1, 4)
        if flash_attn_qkvpacked_func is not None:
            return flash_attn_qkvpacked_func(q, k, v)
        bias = self.alibi[:, :, :l, :l].to(x.device) + (1.0 - mask[:, None, None, :].float()) * -10000.0
        attn = torch.softmax(q @ k.transpose(-1, -2) / (h // self.heads) ** 0.5 + bias, dim=-1)
        return x + self.out((attn @ v).transpose(1, 2).reshape(b, l, h))


class BertModel(BertPreTrainedModel):
    def __init__(self, config, add_pooling_layer=True):
        super().__init__(config)
        self.embeddings = nn.Embedding(config.vocab_size, config.hidden_size)
        self.encoder = Encoder(config)
        self.post_init()

    def forward(self, input_ids, token_type_ids=None, attention_mask=None, **kwargs):
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        return (self.encoder(self.embeddings(input_ids), attention_mask), None)
'''


@pytest.fixture(scope="module")
def remote_code_checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("remote_bert")
    (path / "configuration_bert.py").write_text(textwrap.dedent(REMOTE_CONFIG))
    (path / "bert_layers.py").write_text(textwrap.dedent(REMOTE_MODEL))
    (path / "flash_attn_triton.py").write_text(textwrap.dedent(REMOTE_TRITON))
    config = {"model_type": "bert", "architectures": ["BertModel"], "vocab_size": len(VOCAB), "hidden_size": 32,
              "num_attention_heads": 2, "alibi_starting_size": 64,
              "auto_map": {"AutoConfig": "configuration_bert.BertConfig", "AutoModel": "bert_layers.BertModel"}}
    (path / "config.json").write_text(json.dumps(config))
    # weights: the classes from these very files
    sys.path.insert(0, str(path))
    try:
        import bert_layers
        import configuration_bert

        torch.manual_seed(0)
        model = bert_layers.BertModel(configuration_bert.BertConfig(**{k: v for k, v in config.items() if k != "auto_map"}))
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path / "model.safetensors"))
    finally:
        sys.path.remove(str(path))
        for name in ("bert_layers", "configuration_bert", "flash_attn_triton"):
            sys.modules.pop(name, None)
    save_tokenizer(path)
    return path


def test_remote_code_model_uses_pytorch_attention_and_trains(remote_code_checkpoint, tmp_path):
    tokenizer, encoder, hidden = pretrained.load_pretrained(str(remote_code_checkpoint), trust_remote_code=True)
    module = sys.modules[type(encoder).__module__]
    assert module.flash_attn_qkvpacked_func is None
    assert encoder.encoder.alibi.device.type == "cpu"
    split = planted_split(n=200)
    spec = finetune_spec(checkpoint=str(remote_code_checkpoint), epochs=3, lr=3e-3, trust_remote_code=True)
    # the folder holds the remote code with the weights, and loads to the same predictions
    loaded, pred = train_and_load(pretrained, split, spec, tmp_path)
    assert pred.shape == (len(split),) and np.isfinite(pred).all() and pred.std() > 0
    assert (tmp_path / "encoder" / "bert_layers.py").exists()
    assert sys.modules[type(loaded.module.encoder).__module__].flash_attn_qkvpacked_func is None
