"""BERT-style regressor trained from scratch on any decaylm tokenizer (rows BERT_*, MORPH_*, HYBRID).

A transformers `BertModel` (sdpa attention; decaylm.models.cpu for the CPU) under a pooled
regression head, trained with MSE by the shared loop in decaylm.models.training. Two options on top of plain BERT:

- `conv_stem`: kernel sizes of convolutions over the token embeddings, under the transformer
  (the HYBRID row). Convolutions see local motifs cheaply, attention then relates them; with
  `stem_pool` > 1 a max-pool shortens the sequence the attention layers see, which is also
  what makes the hybrid fast. For the nucleotide tokenizer the token embedding is a learned
  linear map of the one-hot base, so the stem is a CNN over one-hot nucleotides.
- `nt_features`: kernel sizes of convolutions over the one-hot nucleotides (any tokenizer). Their
  output, averaged over the nucleotides each token stands for (DnaTokenizer.encode_with_spans), is
  added to the token's embedding. A BPE or k-mer id is an arbitrary label: what its letters share
  with other tokens' (a motif inside it, its composition) the model must otherwise learn anew for
  every id, from the reporters that hold it; convolutions over the bases learn it once for all.
  The segmentation still decides what attention works over. The batches carry the nucleotides and
  spans (batching.nucleotide_token_items); with `conv_stem` as well, the stem convolves the
  embeddings with the features added.
- `pretrained_dir` (the spec's `init_from`, resolved by the pipeline): the encoder starts from
  an MLM checkpoint written by decaylm.models.mlm; the architecture then comes from it (the
  nucleotide convolutions are new and train from scratch).

The best-on-valid model is saved with `save_pretrained` in `{out_dir}/weights/`, the tokenizer
is copied to `{out_dir}/tokenizer/`, and model.json names both (decaylm.models.artifact).
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from torch import nn
from transformers import BertConfig, BertModel, BertPreTrainedModel
from transformers.utils import logging as transformers_logging

from decaylm.models.auxiliary import load_auxiliary, part_rows
from decaylm.models.batching import TokenBatches, encode, nucleotide_token_items, targets, token_items, with_weights
from decaylm.errors import InputError
from decaylm.io import write_json
from decaylm.models.specs import BertArchitecture, Encoder, ModelSpec
from decaylm.models.artifact import TrainedModel, atomic_directory, copy_tree_atomically, write_model_json
from decaylm.models.common import parts, run_fingerprint, training_length
from decaylm.models.cpu import attention_implementation, encoder_autocast, use_bf16, use_bit_dropout
from decaylm.tokenizers import load_tokenizer
from decaylm.models.training import fit, predict, reads_weights, regression_loss
from decaylm.sequences import BASES

log = logging.getLogger(__name__)
transformers_logging.disable_progress_bar()  # a bar per saved or loaded model clutters the job logs
WEIGHTS, TOKENIZER = "weights", "tokenizer"


class ConvStem(nn.Module):
    """Conv, batch norm, GELU (and a max-pool) per kernel; padding is zeroed before each conv so it
    never leaks into real positions, and the mask is pooled along with the sequence. The first conv
    takes `in_channels` (default hidden), the rest hidden."""

    def __init__(self, hidden: int, kernels: list[int], pool: int, dropout: float, in_channels: int | None = None):
        super().__init__()
        widths = [in_channels or hidden] + [hidden] * (len(kernels) - 1)
        self.convs = nn.ModuleList(nn.Conv1d(width, hidden, k, padding=k // 2) for width, k in zip(widths, kernels))
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


class NucleotideFeatures(nn.Module):
    """The `nt_features` option: a ConvStem over the one-hot nucleotides (hidden channels, no pooling),
    averaged over each token's span."""

    def __init__(self, hidden: int, kernels: list[int], dropout: float):
        super().__init__()
        self.convs = ConvStem(hidden, kernels, 1, dropout, in_channels=len(BASES))

    def forward(self, nucleotides: torch.Tensor, spans: torch.Tensor) -> torch.Tensor:
        """nucleotides (B, L): base codes, -1 for padding; spans (B, T, 2) -> features (B, T, hidden)."""
        # one-hot as the CNN's: N (code 4) and padding are all-zero columns
        x = (nucleotides[..., None] == torch.arange(len(BASES), device=nucleotides.device)).float()
        features, _ = self.convs(x, nucleotides >= 0)
        return span_means(features, spans)


def span_means(h: torch.Tensor, spans: torch.Tensor) -> torch.Tensor:
    """The mean of h (B, L, H) over each span [start, end) of spans (B, T, 2), 0 for an empty span: by
    cumulative sums over positions, cs[end] - cs[start], in fp32 (bf16 sums of a hundred terms lose digits)."""
    cs = nn.functional.pad(h.float().cumsum(1), (0, 0, 1, 0))  # (B, L + 1, H); cs[:, i] = sum of h[:, :i]

    def at(index: torch.Tensor) -> torch.Tensor:  # cs at each token's start or end: (B, T, H)
        return cs.gather(1, index[..., None].expand(-1, -1, cs.shape[-1]))

    width = (spans[..., 1] - spans[..., 0]).clamp(min=1)[..., None]
    return (at(spans[..., 1]) - at(spans[..., 0])) / width


class BertRegressor(BertPreTrainedModel):
    """BertModel (+ optional nucleotide features and conv stem) -> pooled hidden states -> MLP -> one
    number per sequence.

    Extra config attributes: `pooling`, `conv_stem`, `stem_pool`, `nt_features`, `head_dropout`,
    `num_outputs` (1 + auxiliary hours; column 0 is the target), `aux_weight`, `bf16` and `cpu_bf16`."""

    def __init__(self, config: BertConfig):
        super().__init__(config)
        self.bert = BertModel(config, add_pooling_layer=False)
        kernels = list(getattr(config, "conv_stem", []) or [])
        self.stem = ConvStem(config.hidden_size, kernels, getattr(config, "stem_pool", 1),
                             config.hidden_dropout_prob) if kernels else None
        kernels = list(getattr(config, "nt_features", []) or [])  # absent from models saved before the option
        self.nt = NucleotideFeatures(config.hidden_size, kernels, config.hidden_dropout_prob) if kernels else None
        pooled = config.hidden_size * (2 if config.pooling == "meanmax" else 1)
        self.head = nn.Sequential(nn.Dropout(config.head_dropout), nn.Linear(pooled, config.hidden_size), nn.GELU(),
                                  nn.Dropout(config.head_dropout),
                                  nn.Linear(config.hidden_size, getattr(config, "num_outputs", 1)))
        self.post_init()

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, y: torch.Tensor | None = None,
                w: torch.Tensor | None = None, nucleotides: torch.Tensor | None = None,
                spans: torch.Tensor | None = None):
        out = self.outputs(attention_mask, input_ids=input_ids, nucleotides=nucleotides, spans=spans)
        return regression_loss(out.squeeze(-1) if out.shape[-1] == 1 else out, y,
                               getattr(self.config, "aux_weight", 1.0), self.training, w)

    def outputs(self, attention_mask: torch.Tensor, input_ids: torch.Tensor | None = None,
                inputs_embeds: torch.Tensor | None = None, nucleotides: torch.Tensor | None = None,
                spans: torch.Tensor | None = None) -> torch.Tensor:
        """The head's outputs (B, num_outputs) from token ids, or from their embeddings (the one-hot path
        of attribution, OneHotBert); with `nt_features`, also from the nucleotides and token spans."""
        if self.nt is not None and (nucleotides is None or spans is None):
            raise ValueError("this model has nt_features: its batches need nucleotides and spans "
                             "(decaylm.models.batching.nucleotide_token_items)")
        # bf16 matmuls on CPUs with bf16 dot products (decaylm.models.cpu); weights, optimizer and head stay fp32
        with encoder_autocast(getattr(self.config, "cpu_bf16", False), attention_mask.device):
            if inputs_embeds is None and (self.nt is not None or self.stem is not None):
                inputs_embeds, input_ids = self.bert.embeddings.word_embeddings(input_ids), None
            if self.nt is not None:
                inputs_embeds = inputs_embeds + self.nt(nucleotides, spans)
            if self.stem is not None:
                inputs_embeds, attention_mask = self.stem(inputs_embeds, attention_mask)
            h = self.bert(input_ids=input_ids, inputs_embeds=inputs_embeds,
                          attention_mask=attention_mask).last_hidden_state
        return self.head(pool(h.float(), attention_mask, self.config.pooling))


class OneHotBert(nn.Module):
    """A BERT over the nucleotide tokenizer as a function of one-hot input (B, 4, L) -> (B, 1).

    Its token embedding of a base is a row of the embedding table, so the embedded sequence is
    one-hot @ E[ACGT] between the [CLS] and [SEP] embeddings: on a hard one-hot input this is the
    model's forward pass, number for number, and gradients with respect to the one-hot exist."""

    def __init__(self, regressor: BertRegressor, tokenizer):
        super().__init__()
        self.regressor = regressor
        ids = [tokenizer.encode(base)[1:-1] for base in BASES]
        if any(len(i) != 1 for i in ids):
            raise ValueError("the nucleotide tokenizer does not give one token per base")
        self.register_buffer("base_ids", torch.tensor([i[0] for i in ids]))
        self.cls_id, self.sep_id = tokenizer.cls_token_id, tokenizer.sep_token_id

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        table = self.regressor.bert.embeddings.word_embeddings.weight
        body = torch.einsum("bcl,ch->blh", x.to(table.dtype), table[self.base_ids])
        ends = table[[self.cls_id, self.sep_id]]
        batch = x.shape[0]
        embedded = torch.cat([ends[0].expand(batch, 1, -1), body, ends[1].expand(batch, 1, -1)], dim=1)
        mask = torch.ones(embedded.shape[:2], dtype=torch.long, device=x.device)
        return self.regressor.outputs(mask, inputs_embeds=embedded)[:, :1]


def pool(h: torch.Tensor, mask: torch.Tensor, how: str) -> torch.Tensor:
    if how == "cls":
        return h[:, 0]
    m = mask[..., None].to(h.dtype)
    mean = (h * m).sum(1) / m.sum(1).clamp(min=1)
    if how == "mean":
        return mean
    return torch.cat([mean, h.masked_fill(m == 0, -1e4).amax(1)], dim=-1)


def bert_config(arch: Encoder, tokenizer) -> BertConfig:
    return BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=arch.hidden, num_hidden_layers=arch.layers,
                      num_attention_heads=arch.heads, intermediate_size=arch.intermediate,
                      hidden_dropout_prob=arch.dropout, attention_probs_dropout_prob=arch.attention_dropout,
                      max_position_embeddings=arch.max_length, type_vocab_size=1,
                      pad_token_id=tokenizer.pad_token_id)


def build_model(arch: BertArchitecture, tokenizer, pretrained_dir=None, given=(), name: str = "BERT",
                aux_weight: float = 1.0) -> BertRegressor:
    """A fresh regressor, or one whose encoder is loaded from an MLM checkpoint (its architecture wins;
    an architecture key the config entry set itself (`given`) that disagrees with it is an error)."""
    if pretrained_dir is None:
        config = bert_config(arch, tokenizer)
    else:
        config = BertConfig.from_pretrained(pretrained_dir)
        mine = {"layers": "num_hidden_layers", "hidden": "hidden_size", "heads": "num_attention_heads",
                "intermediate": "intermediate_size", "max_length": "max_position_embeddings"}
        for key, attr in mine.items():
            if key in given and getattr(arch, key) != getattr(config, attr):
                raise InputError(f"models.{name}.{key}", f"{getattr(arch, key)} differs from the pretrained checkpoint's "
                                 f"{getattr(config, attr)} ({pretrained_dir})", "drop the key or match the MLM spec")
        if config.vocab_size != tokenizer.vocab_size:
            raise InputError(f"models.{name}.init_from", f"checkpoint vocabulary {config.vocab_size} != tokenizer's "
                             f"{tokenizer.vocab_size}", "pretrain with the same tokenizer")
        config.hidden_dropout_prob, config.attention_probs_dropout_prob = arch.dropout, arch.attention_dropout
    config.pooling, config.conv_stem, config.stem_pool = arch.pooling, list(arch.conv_stem), arch.stem_pool
    config.nt_features = list(arch.nt_features)
    config.head_dropout = arch.head_dropout
    config.aux_hours, config.num_outputs = list(arch.aux_hours), 1 + len(arch.aux_hours) + len(arch.aux_libraries)
    config.aux_weight = aux_weight
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


def min_length(tokenizer) -> int:
    """The shortest sequence that gives a token: k for k-mer and motif-window tokenizers."""
    return int((tokenizer.params or {}).get("k", 1))


def train(split, spec: ModelSpec, out_dir, tokenizer_dir=None, pretrained_dir=None, expression_path=None,
          aux_library_paths=None, variance_path=None) -> None:
    """Train on the split's train part (early stopping on valid) and save the model folder.
    `expression_path` (the normalized expression table) is read only for auxiliary hours;
    `variance_path` (the target's variance table) for `weighting: reads`."""
    name, arch, train_cfg = spec.name, spec.architecture, spec.training
    if tokenizer_dir is None:
        raise InputError(f"models.{name}.tokenizer", "no tokenizer given", "name a tokenizer from `tokenizers:`")
    init_from = spec.links.get("init_from")
    if pretrained_dir is None and init_from:
        if not Path(str(init_from)).is_dir():  # never train from scratch when pretraining was asked for
            raise InputError(f"models.{name}.init_from", f"no pretrained checkpoint was given for {init_from!r}",
                             "name an entry of `pretraining:` (the pipeline passes its checkpoint) or a directory")
        pretrained_dir = init_from
    tokenizer = load_tokenizer(tokenizer_dir)
    torch.manual_seed(train_cfg.seed)
    model = build_model(arch, tokenizer, pretrained_dir, spec.given, name, train_cfg.aux_weight)
    aux = load_auxiliary(expression_path, aux_library_paths, split, arch, f"models.{name}")
    data = parts(split)
    weights = reads_weights(data["train"], variance_path, train_cfg, f"models.{name}")
    max_length = model.config.max_position_embeddings  # the spec's, or the pretrained checkpoint's
    out_dir = Path(out_dir)
    train_items, valid_items = (
        regressor_items(model.config, tokenizer, data[part]["sequence"], targets(data[part], part_rows(aux, split, part)))
        for part in ("train", "valid"))
    result = fit(model, with_weights(train_items, weights), valid_items, TokenBatches(tokenizer.pad_token_id),
                 train_cfg, out_dir, fingerprint=run_fingerprint(spec.to_dict(), split, str(tokenizer_dir),
                                                                 str(pretrained_dir), aux, weights))
    log.info("best epoch %d, valid mse %.4f, %.0f tokens/s", result.best_epoch, result.best_valid_loss,
             result.train_tokens_per_second)
    with atomic_directory(out_dir / WEIGHTS) as tmp:
        model.cpu().save_pretrained(tmp)
    copy_tree_atomically(tokenizer_dir, out_dir / TOKENIZER)
    write_json({"architecture": asdict(arch), "training": asdict(train_cfg), "tokenizer_dir": str(tokenizer_dir),
                "pretrained_dir": str(pretrained_dir) if pretrained_dir else None,
                "parameters": sum(p.numel() for p in model.parameters()), "best_epoch": result.best_epoch,
                "best_valid_loss": result.best_valid_loss, "history": result.history,
                "train_tokens_per_second": result.train_tokens_per_second, "train_seconds": result.train_seconds},
               out_dir / "training.json")
    write_model_json(out_dir, spec, training_length(split), {"weights": WEIGHTS, "tokenizer": TOKENIZER},
                     min_length=min_length(tokenizer), max_tokens=max_length)


def regressor_items(config: BertConfig, tokenizer, sequences, y: np.ndarray | None = None) -> list[dict]:
    """The items a regressor of this config takes (cut at its max_length): token ids, and under
    `nt_features` the nucleotides and each token's span as well."""
    if getattr(config, "nt_features", None):
        return nucleotide_token_items(tokenizer, sequences, config.max_position_embeddings, y)
    return token_items(encode(tokenizer, sequences, config.max_position_embeddings), y)


def load_regressor(weights_dir) -> BertRegressor:
    """The saved regressor, ready for `model(input_ids=..., attention_mask=...)`; bf16 and attention
    are chosen again for this machine, as when it was trained."""
    config = BertConfig.from_pretrained(weights_dir)
    config.cpu_bf16 = use_bf16(getattr(config, "bf16", "off"))
    return BertRegressor.from_pretrained(weights_dir, config=config,
                                         attn_implementation=attention_implementation(config.cpu_bf16)).eval()


class TrainedBert(TrainedModel):
    def __init__(self, folder, record):
        super().__init__(folder, record)
        self.module = load_regressor(self.path("weights"))
        self.tokenizer = load_tokenizer(self.path("tokenizer"))
        self.max_tokens = self.module.config.max_position_embeddings
        self.collate = TokenBatches(self.tokenizer.pad_token_id)

    def predict(self, sequences, batch_size: int = 256) -> np.ndarray:
        return predict(self.module, regressor_items(self.module.config, self.tokenizer, sequences), self.collate,
                       batch_size)

    def one_hot_module(self) -> nn.Module | None:
        """Differentiable in one-hot input over the nucleotide tokenizer only: other tokenizers' tokens
        change with a base, so they have no such path (nor, for want of it in OneHotBert, `nt_features`)."""
        if self.tokenizer.kind != "nucleotide" or self.module.nt is not None:
            return None
        return OneHotBert(self.module, self.tokenizer).eval()


def load(folder, record) -> TrainedBert:
    return TrainedBert(folder, record)
