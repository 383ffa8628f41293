"""BERT-style regressor trained from scratch on any decaylm tokenizer (rows BERT_*, MORPH_*, HYBRID).

A transformers `BertModel` (sdpa attention; decaylm.models.cpu for the CPU) under a pooled
regression head, trained with MSE by the shared loop in decaylm.training. Two options on top of plain BERT:

- `conv_stem`: kernel sizes of convolutions over the token embeddings, under the transformer
  (the HYBRID row). Convolutions see local motifs cheaply, attention then relates them; with
  `stem_pool` > 1 a max-pool shortens the sequence the attention layers see, which is also
  what makes the hybrid fast. For the nucleotide tokenizer the token embedding is a learned
  linear map of the one-hot base, so the stem is a CNN over one-hot nucleotides.
- `pretrained_dir` (the spec's `init_from`, resolved by the pipeline): the encoder starts from
  an MLM checkpoint written by decaylm.models.mlm; the architecture then comes from it.

The best-on-valid model is saved with `save_pretrained` in `{out_dir}/model/` together with
the tokenizer; `load_regressor(path)` loads it back.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import torch
from torch import nn
from transformers import BertConfig, BertModel, BertPreTrainedModel

from decaylm.auxiliary import load_auxiliary_targets, part_rows
from decaylm.errors import InputError
from decaylm.io import write_json
from decaylm.models.common import parts, run_fingerprint
from decaylm.models.cpu import attention_implementation, use_bf16, use_bit_dropout
from decaylm.training import TrainConfig, fit, predict

log = logging.getLogger(__name__)
POOLINGS = ("cls", "mean", "meanmax")
# Spec keys that are not settings of this module: the pipeline resolves them (tokenizer -> tokenizer_dir,
# init_from -> pretrained_dir) before calling train_and_predict.
PIPELINE_KEYS = {"kind", "tokenizer", "init_from"}


@dataclass
class BertSpec:
    layers: int = 4
    hidden: int = 128
    heads: int = 4
    intermediate: int = 512
    max_length: int = 128       # tokens per sequence with [CLS] and [SEP]; longer ones are cut
    dropout: float = 0.1        # hidden dropout inside BERT (and in the conv stem)
    attention_dropout: float = 0.0  # on attention probabilities: costly on the CPU (a mask per head pair) for little gain
    head_dropout: float = 0.1   # before the regression head
    # cls | mean | meanmax (masked mean and max, concatenated). Mean alone trained to a constant
    # prediction on the real data (BPE, 4x128) where cls and meanmax learned: meanmax is the default.
    pooling: str = "meanmax"
    conv_stem: list = field(default_factory=list)  # conv kernel sizes under the transformer; [] = plain BERT
    stem_pool: int = 1          # max-pool width after each stem conv (1 = keep the length)
    # bf16 autocast on the CPU (on|off|auto = where the CPU has bf16 dot products; see decaylm.models.cpu).
    # Measured on the real data: 4x128 BERT on BPE 15.9k -> 27k tokens/s, HYBRID 69k -> 99k nt/s
    # (2 threads), valid R2 unchanged (0.320 against 0.314; 0.562 and 0.562).
    bf16: str = "auto"
    # dropout masks from a quarter of the random numbers (decaylm.models.cpu.BitDropout): ~10-15%
    # faster on the CPU, the same dropout in distribution
    bit_dropout: bool = True
    # hours of the expression table also predicted, standardized, as extra outputs (multi-task; see
    # decaylm.auxiliary); output 0 stays the target, the only one evaluated. [] = the target alone.
    aux_hours: list = field(default_factory=list)


class ConvStem(nn.Module):
    """Conv, batch norm, GELU (and a max-pool) per kernel; padding is zeroed before each conv so it
    never leaks into real positions, and the mask is pooled along with the sequence."""

    def __init__(self, hidden: int, kernels: list[int], pool: int, dropout: float):
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv1d(hidden, hidden, k, padding=k // 2) for k in kernels)
        self.norms = nn.ModuleList(nn.BatchNorm1d(hidden) for _ in kernels)
        self.pool = pool
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = x.transpose(1, 2)  # (B, H, L) for Conv1d
        mask = mask[:, None, :].to(x.dtype)
        for conv, norm in zip(self.convs, self.norms):
            x = nn.functional.gelu(norm(conv(x * mask)))
            if self.pool > 1:
                x = nn.functional.max_pool1d(x, self.pool, ceil_mode=True)
                mask = nn.functional.max_pool1d(mask, self.pool, ceil_mode=True)
            x = self.dropout(x)
        return x.transpose(1, 2), mask[:, 0, :].to(torch.long)


class BertRegressor(BertPreTrainedModel):
    """BertModel (+ optional conv stem) -> pooled hidden states -> MLP -> one number per sequence.

    Extra config attributes: `pooling`, `conv_stem`, `stem_pool`, `head_dropout`, `num_outputs`
    (1 + auxiliary hours; with more than one, the output is (batch, num_outputs), column 0 the target)."""

    def __init__(self, config: BertConfig):
        super().__init__(config)
        self.bert = BertModel(config, add_pooling_layer=False)
        kernels = list(getattr(config, "conv_stem", []) or [])
        self.stem = ConvStem(config.hidden_size, kernels, getattr(config, "stem_pool", 1),
                             config.hidden_dropout_prob) if kernels else None
        pooled = config.hidden_size * (2 if config.pooling == "meanmax" else 1)
        self.head = nn.Sequential(nn.Dropout(config.head_dropout), nn.Linear(pooled, config.hidden_size), nn.GELU(),
                                  nn.Dropout(config.head_dropout),
                                  nn.Linear(config.hidden_size, getattr(config, "num_outputs", 1)))
        self.post_init()

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        # bf16 matmuls on CPUs with bf16 dot products (decaylm.models.cpu); weights, optimizer and head stay fp32
        bf16 = getattr(self.config, "cpu_bf16", False) and input_ids.device.type == "cpu"
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            if self.stem is None:
                h = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            else:
                x, attention_mask = self.stem(self.bert.embeddings.word_embeddings(input_ids), attention_mask)
                h = self.bert(inputs_embeds=x, attention_mask=attention_mask).last_hidden_state
        out = self.head(pool(h.float(), attention_mask, self.config.pooling))
        return out.squeeze(-1) if out.shape[-1] == 1 else out


def pool(h: torch.Tensor, mask: torch.Tensor, how: str) -> torch.Tensor:
    if how == "cls":
        return h[:, 0]
    m = mask[..., None].to(h.dtype)
    mean = (h * m).sum(1) / m.sum(1).clamp(min=1)
    if how == "mean":
        return mean
    return torch.cat([mean, h.masked_fill(m == 0, -1e4).amax(1)], dim=-1)


def split_spec(spec: dict, name: str) -> tuple[BertSpec, TrainConfig]:
    """A flat model spec -> architecture and training settings; unknown keys are refused."""
    arch_keys = {f.name for f in fields(BertSpec)}
    train_keys = {f.name for f in fields(TrainConfig)}
    unknown = set(spec) - arch_keys - train_keys - PIPELINE_KEYS
    if unknown:
        raise InputError(f"models.{name}", f"unknown parameter(s) {sorted(unknown)}",
                         f"use {sorted(arch_keys | train_keys | PIPELINE_KEYS)}")
    arch = BertSpec(**{k: v for k, v in spec.items() if k in arch_keys})
    if arch.pooling not in POOLINGS:
        raise InputError(f"models.{name}.pooling", f"unknown pooling '{arch.pooling}'", f"use one of {list(POOLINGS)}")
    if arch.hidden % arch.heads:
        raise InputError(f"models.{name}.heads", f"hidden {arch.hidden} is not divisible by heads {arch.heads}",
                         "pick heads that divide hidden")
    return arch, TrainConfig(**{k: v for k, v in spec.items() if k in train_keys})


def bert_config(arch: BertSpec, tokenizer) -> BertConfig:
    return BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=arch.hidden, num_hidden_layers=arch.layers,
                      num_attention_heads=arch.heads, intermediate_size=arch.intermediate,
                      hidden_dropout_prob=arch.dropout, attention_probs_dropout_prob=arch.attention_dropout,
                      max_position_embeddings=arch.max_length, type_vocab_size=1,
                      pad_token_id=tokenizer.pad_token_id)


def build_model(arch: BertSpec, tokenizer, pretrained_dir=None, spec: dict | None = None,
                name: str = "BERT") -> BertRegressor:
    """A fresh regressor, or one whose encoder is loaded from an MLM checkpoint (its architecture wins;
    an architecture key set explicitly in the spec that disagrees with it is an error)."""
    if pretrained_dir is None:
        config = bert_config(arch, tokenizer)
    else:
        config = BertConfig.from_pretrained(pretrained_dir)
        mine = {"layers": "num_hidden_layers", "hidden": "hidden_size", "heads": "num_attention_heads",
                "intermediate": "intermediate_size", "max_length": "max_position_embeddings"}
        for key, attr in mine.items():
            if key in (spec or {}) and spec[key] != getattr(config, attr):
                raise InputError(f"models.{name}.{key}", f"{spec[key]} differs from the pretrained checkpoint's "
                                 f"{getattr(config, attr)} ({pretrained_dir})", "drop the key or match the MLM spec")
        if config.vocab_size != tokenizer.vocab_size:
            raise InputError(f"models.{name}.init_from", f"checkpoint vocabulary {config.vocab_size} != tokenizer's "
                             f"{tokenizer.vocab_size}", "pretrain with the same tokenizer")
        config.hidden_dropout_prob, config.attention_probs_dropout_prob = arch.dropout, arch.attention_dropout
    config.pooling, config.conv_stem, config.stem_pool = arch.pooling, list(arch.conv_stem), arch.stem_pool
    config.head_dropout = arch.head_dropout
    config.aux_hours, config.num_outputs = list(arch.aux_hours), 1 + len(arch.aux_hours)
    config.bf16, config.cpu_bf16 = arch.bf16, use_bf16(arch.bf16)
    config._attn_implementation = attention_implementation(config.cpu_bf16)
    model = BertRegressor(config)
    if arch.bit_dropout:
        use_bit_dropout(model)
    if pretrained_dir is not None:
        load_encoder(model, pretrained_dir)
    return model


def load_encoder(model: BertRegressor, pretrained_dir) -> None:
    """Copy the `bert.*` weights of a BertForMaskedLM checkpoint into the regressor's encoder."""
    from safetensors.torch import load_file

    weights = load_file(str(Path(pretrained_dir) / "model.safetensors"))
    encoder = {k[len("bert."):]: v for k, v in weights.items() if k.startswith("bert.")}
    missing, unexpected = model.bert.load_state_dict(encoder, strict=False)
    missing = [k for k in missing if not k.endswith("position_ids") and "token_type_ids" not in k]
    if missing or not encoder:
        raise InputError("init_from", f"{pretrained_dir} is not a BERT MLM checkpoint (missing {missing[:3]})",
                         "point it at the output of the mlm rule")
    log.info("encoder initialised from %s (%d tensors)", pretrained_dir, len(encoder))


def load_tokenizer(tokenizer_dir):
    from decaylm.tokenization import load_tokenizer as load  # the tokenizer module of decaylm

    return load(tokenizer_dir)


def encode(tokenizer, sequences, max_length: int) -> list[np.ndarray]:
    """Token ids per sequence, [CLS] ... [SEP], cut to max_length (keeping the final [SEP])."""
    out = []
    for ids in tokenizer.encode_many(list(sequences)):
        if len(ids) > max_length:
            ids = list(ids[: max_length - 1]) + [tokenizer.sep_token_id]
        out.append(np.asarray(ids, dtype=np.int64))
    return out


def make_collate(pad_id: int):
    def collate(items: list[dict]) -> dict:
        length = max(len(item["input_ids"]) for item in items)
        ids = np.full((len(items), length), pad_id, dtype=np.int64)
        mask = np.zeros((len(items), length), dtype=np.int64)
        for row, item in enumerate(items):
            ids[row, : len(item["input_ids"])] = item["input_ids"]
            mask[row, : len(item["input_ids"])] = 1
        return {"input_ids": torch.from_numpy(ids), "attention_mask": torch.from_numpy(mask),
                "y": torch.from_numpy(np.asarray([item.get("y", 0.0) for item in items], dtype=np.float32))}
    return collate


def items_of(frame, tokenizer, max_length: int, aux: np.ndarray | None = None) -> list[dict]:
    """One item per row: token ids and y (with auxiliary targets, [y, *aux] as float32)."""
    ids = encode(tokenizer, frame["sequence"], max_length)
    if aux is None:
        return [{"input_ids": i, "y": float(y)} for i, y in zip(ids, frame["y"])]
    ys = np.column_stack([frame["y"].to_numpy(dtype=np.float32), aux]).astype(np.float32)
    return [{"input_ids": i, "y": y} for i, y in zip(ids, ys)]


def train_and_predict(split, spec: dict, out_dir, seed: int, name: str = "BERT", tokenizer_dir=None,
                      pretrained_dir=None, expression_path=None) -> np.ndarray:
    """Train on the split's train part (early stopping on valid), predict every row of `split` in order.
    `expression_path` (the normalized expression table) is read only for auxiliary hours."""
    if tokenizer_dir is None:
        raise InputError(f"models.{name}.tokenizer", "no tokenizer given", "name a tokenizer from `tokenizers:`")
    if pretrained_dir is None and spec.get("init_from"):
        if not Path(str(spec["init_from"])).is_dir():  # never train from scratch when pretraining was asked for
            raise InputError(f"models.{name}.init_from", f"no pretrained checkpoint was given for {spec['init_from']!r}",
                             "name an entry of `pretraining:` (the pipeline passes its checkpoint) or a directory")
        pretrained_dir = spec["init_from"]
    arch, train_cfg = split_spec({"seed": seed, **spec}, name)
    tokenizer = load_tokenizer(tokenizer_dir)
    torch.manual_seed(train_cfg.seed)
    model = build_model(arch, tokenizer, pretrained_dir, spec, name)
    aux = load_auxiliary_targets(expression_path, split, arch.aux_hours, f"models.{name}.aux_hours")
    data = parts(split)
    collate = make_collate(tokenizer.pad_token_id)
    max_length = model.config.max_position_embeddings  # the spec's, or the pretrained checkpoint's
    out_dir = Path(out_dir)
    train_items, valid_items = (items_of(data[part], tokenizer, max_length, part_rows(aux, split, part))
                                for part in ("train", "valid"))
    result = fit(model, train_items, valid_items, collate, train_cfg, out_dir,
                 fingerprint=run_fingerprint(spec, split, str(seed), str(tokenizer_dir), str(pretrained_dir),
                                             aux))
    log.info("best epoch %d, valid mse %.4f, %.0f tokens/s", result.best_epoch, result.best_valid_loss,
             result.train_tokens_per_second)
    save(model, tokenizer, tokenizer_dir, out_dir / "model")
    write_json({"architecture": asdict(arch), "training": asdict(train_cfg), "tokenizer_dir": str(tokenizer_dir),
                "pretrained_dir": str(pretrained_dir) if pretrained_dir else None,
                "parameters": sum(p.numel() for p in model.parameters()), "best_epoch": result.best_epoch,
                "best_valid_loss": result.best_valid_loss, "history": result.history,
                "train_tokens_per_second": result.train_tokens_per_second, "train_seconds": result.train_seconds},
               out_dir / "training.json")
    return predict(model, items_of(split, tokenizer, max_length), collate)


def save(model: BertRegressor, tokenizer, tokenizer_dir, model_dir: Path) -> None:
    """save_pretrained weights + config, the tokenizer as a transformers tokenizer, and a copy of the
    decaylm tokenizer folder (for kinds whose encoding is more than the transformers tokenizer)."""
    tmp = model_dir.with_name(model_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    if getattr(tokenizer, "hf", None) is not None:
        tokenizer.hf.save_pretrained(tmp)
    shutil.copytree(tokenizer_dir, tmp / "decaylm_tokenizer")
    shutil.rmtree(model_dir, ignore_errors=True)
    tmp.rename(model_dir)


def load_regressor(model_dir) -> BertRegressor:
    """The saved regressor, ready for `model(input_ids=..., attention_mask=...)`; bf16 and attention
    are chosen again for this machine, as when it was trained."""
    config = BertConfig.from_pretrained(model_dir)
    config.cpu_bf16 = use_bf16(getattr(config, "bf16", "off"))
    return BertRegressor.from_pretrained(model_dir, config=config,
                                         attn_implementation=attention_implementation(config.cpu_bf16)).eval()
