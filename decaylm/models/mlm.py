"""Masked-LM pretraining of a BERT encoder per tokenizer, for the regressors' `init_from`.

Trains transformers' BertForMaskedLM on the TRAINING sequences of the split plus any unlabeled
sequence files named in `extra_sequences` (FASTA, or a 2-column id/sequence TSV). Valid and
test sequences never enter, and an extra sequence that shares a `min_overlap`-nt substring
with one of them is dropped, as the overlap split would have kept it with them. Long extra
sequences are cut into windows of the reporters' length.

Masking is BERT's (15% of real tokens; of those 80% [MASK], 10% a random token, 10% kept),
drawn from a generator seeded per epoch, so a run and its resumed twin mask alike. A small
seeded part of the training sequences (`holdout_fraction`) is left out of the updates and
scored each epoch (fixed masks), which shows whether the language model still learns.

Writes a `save_pretrained` checkpoint (config.json + model.safetensors + tokenizer files) to
out_dir, plus mlm.json (history, tokens/s); a checkpoint after each epoch lets a killed job resume.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import torch
from torch import nn
from transformers import BertConfig, BertForMaskedLM

from decaylm.errors import InputError
from decaylm.io import atomic_path, write_json
from decaylm.models.bert import encode, load_tokenizer, make_collate
from decaylm.models.cpu import attention_implementation, use_bf16, use_bit_dropout
from decaylm.models.common import parts, run_fingerprint
from decaylm.sequences import normalize_sequence
from decaylm.training import batch_order

log = logging.getLogger(__name__)
CHECKPOINT = "last_epoch.pt"
PIPELINE_KEYS = {"kind", "tokenizer"}


@dataclass
class MLMSpec:
    layers: int = 4
    hidden: int = 128
    heads: int = 4
    intermediate: int = 512
    max_length: int = 128
    dropout: float = 0.1
    attention_dropout: float = 0.0
    mask_prob: float = 0.15
    epochs: int = 20
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.01
    warmup_fraction: float = 0.05
    grad_clip: float = 1.0
    holdout_fraction: float = 0.05
    extra_sequences: list = field(default_factory=list)  # FASTA or id<TAB>sequence files of unlabeled sequences
    min_overlap: int = 30       # an extra sequence sharing this many nt with valid/test is dropped
    bf16: str = "auto"  # see BertSpec.bf16
    bit_dropout: bool = True  # see BertSpec.bit_dropout
    seed: int = 0


def split_spec(spec: dict, name: str = "mlm") -> MLMSpec:
    keys = {f.name for f in fields(MLMSpec)}
    unknown = set(spec) - keys - PIPELINE_KEYS
    if unknown:
        raise InputError(f"models.{name}", f"unknown parameter(s) {sorted(unknown)}", f"use {sorted(keys)}")
    cfg = MLMSpec(**{k: v for k, v in spec.items() if k in keys})
    if not 0 < cfg.mask_prob < 1:
        raise InputError(f"models.{name}.mask_prob", f"{cfg.mask_prob} is not in (0, 1)", "BERT uses 0.15")
    if isinstance(cfg.extra_sequences, str):
        cfg.extra_sequences = [cfg.extra_sequences]
    return cfg


def read_sequences(path) -> list[str]:
    """Sequences of a FASTA file (any line width) or a TSV whose second column is the sequence."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"extra_sequences: {path}", "file not found", "give a FASTA or id<TAB>sequence file")
    lines = path.read_text().splitlines()
    if any(line.startswith(">") for line in lines[:5]):
        records, current = [], []
        for line in lines:
            if line.startswith(">"):
                if current:
                    records.append("".join(current))
                current = []
            elif line.strip():
                current.append(line.strip())
        if current:
            records.append("".join(current))
    else:
        records = [line.split("\t")[1] for line in lines if line.count("\t") >= 1 and line.split("\t")[1].strip()]
        if records and not set(normalize_sequence(records[0])) <= set("ACGTN"):
            records = records[1:]  # a header line
    return [normalize_sequence(s) for s in records]


def extra_windows(paths, window: int, held_out: list[str], min_overlap: int) -> list[str]:
    """Unlabeled sequences cut into windows; none that shares min_overlap nt with a held-out sequence."""
    banned = {s[i:i + min_overlap] for s in held_out for i in range(len(s) - min_overlap + 1)}
    kept, dropped = [], 0
    for path in paths:
        for sequence in read_sequences(path):
            for start in range(0, max(1, len(sequence) - min_overlap + 1), window):
                piece = sequence[start:start + window]
                if any(piece[i:i + min_overlap] in banned for i in range(len(piece) - min_overlap + 1)):
                    dropped += 1
                elif len(piece) >= min(window, min_overlap):
                    kept.append(piece)
    log.info("extra sequences: %d windows of %d nt kept, %d dropped for overlapping valid/test", len(kept), window,
             dropped)
    return kept


def mask_tokens(ids: torch.Tensor, attention: torch.Tensor, tokenizer, prob: float,
                generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT masking of the non-special tokens: (inputs, labels with -100 where not scored)."""
    special = torch.zeros_like(ids, dtype=torch.bool)
    for token in (tokenizer.pad_token_id, tokenizer.cls_token_id, tokenizer.sep_token_id):
        special |= ids == token
    special |= attention == 0
    chosen = (torch.rand(ids.shape, generator=generator) < prob) & ~special
    labels = torch.where(chosen, ids, torch.full_like(ids, -100))
    roll = torch.rand(ids.shape, generator=generator)
    random_ids = torch.randint(0, tokenizer.vocab_size, ids.shape, generator=generator)
    inputs = ids.clone()
    inputs[chosen & (roll < 0.8)] = tokenizer.mask_token_id
    swap = chosen & (roll >= 0.8) & (roll < 0.9)
    inputs[swap] = random_ids[swap]
    return inputs, labels


def model_config(cfg: MLMSpec, tokenizer, bf16: bool) -> BertConfig:
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=cfg.hidden, num_hidden_layers=cfg.layers,
                        num_attention_heads=cfg.heads, intermediate_size=cfg.intermediate,
                        hidden_dropout_prob=cfg.dropout, attention_probs_dropout_prob=cfg.attention_dropout,
                        max_position_embeddings=cfg.max_length, type_vocab_size=1, pad_token_id=tokenizer.pad_token_id)
    config._attn_implementation = attention_implementation(bf16)
    return config


def mlm_loss(model, batch: dict, tokenizer, prob: float, generator, bf16: bool) -> tuple[torch.Tensor, int]:
    inputs, labels = mask_tokens(batch["input_ids"], batch["attention_mask"], tokenizer, prob, generator)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        logits = model(input_ids=inputs, attention_mask=batch["attention_mask"]).logits
    scored = int((labels != -100).sum())
    loss = nn.functional.cross_entropy(logits.float().view(-1, logits.shape[-1]), labels.view(-1), ignore_index=-100)
    return loss, scored


@torch.no_grad()
def heldout_loss(model, items, collate, tokenizer, cfg: MLMSpec, bf16: bool) -> float:
    if not items:
        return float("nan")
    model.eval()
    generator = torch.Generator().manual_seed(cfg.seed)  # the same masks every epoch
    total, count = 0.0, 0
    for start in range(0, len(items), 256):
        loss, scored = mlm_loss(model, collate(items[start:start + 256]), tokenizer, cfg.mask_prob, generator, bf16)
        if scored:
            total, count = total + float(loss) * scored, count + scored
    model.train()
    return total / max(count, 1)


def pretrain(split, spec: dict, tokenizer_dir, out_dir, seed: int) -> None:
    """MLM-pretrain a BERT encoder on the split's training sequences (+ extra_sequences) into out_dir."""
    cfg = split_spec({"seed": seed, **spec})
    out_dir = Path(out_dir)
    tokenizer = load_tokenizer(tokenizer_dir)
    data = parts(split)
    held_out = data["valid"]["sequence"].tolist() + data["test"]["sequence"].tolist()
    sequences = data["train"]["sequence"].tolist()
    if cfg.extra_sequences:
        window = int(np.median([len(s) for s in sequences])) if sequences else 110
        sequences += extra_windows(cfg.extra_sequences, window, held_out, cfg.min_overlap)
    rng = np.random.default_rng(cfg.seed)
    order = rng.permutation(len(sequences))
    n_holdout = int(round(cfg.holdout_fraction * len(sequences)))
    ids = encode(tokenizer, sequences, cfg.max_length)
    train_items = [{"input_ids": ids[i]} for i in order[n_holdout:]]
    holdout_items = [{"input_ids": ids[i]} for i in order[:n_holdout]]
    collate = make_collate(tokenizer.pad_token_id)
    bf16 = use_bf16(cfg.bf16)

    torch.manual_seed(cfg.seed)
    model = BertForMaskedLM(model_config(cfg, tokenizer, bf16))
    if cfg.bit_dropout:
        use_bit_dropout(model)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = math.ceil(len(train_items) / cfg.batch_size)
    total = steps_per_epoch * cfg.epochs
    warmup = max(1, int(cfg.warmup_fraction * total))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warmup, max(0.0, (total - step) / max(1, total - warmup))))
    state = {"epoch": 0, "history": [], "train_seconds": 0.0, "train_tokens": 0}
    fingerprint = run_fingerprint(spec, split, str(seed), str(tokenizer_dir))
    checkpoint = out_dir / CHECKPOINT
    saved = torch.load(checkpoint, weights_only=False) if checkpoint.exists() else None
    if saved is not None and saved["fingerprint"] == fingerprint:
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        schedule.load_state_dict(saved["schedule"])
        torch.set_rng_state(saved["torch_rng"])
        state = saved["state"]
        log.info("resumed MLM from %s after epoch %d", checkpoint, state["epoch"])

    model.train()
    lengths = [len(item["input_ids"]) for item in train_items]
    while state["epoch"] < cfg.epochs:
        epoch = state["epoch"] + 1
        generator = torch.Generator().manual_seed(cfg.seed * 100_003 + epoch)
        started, tokens, loss_sum, scored_sum = time.perf_counter(), 0, 0.0, 0
        for index in batch_order(lengths, cfg.batch_size, np.random.default_rng([cfg.seed, epoch])):
            batch = collate([train_items[i] for i in index])
            loss, scored = mlm_loss(model, batch, tokenizer, cfg.mask_prob, generator, bf16)
            if scored == 0:
                continue  # e.g. a batch of [CLS][SEP]-only sequences: nothing to predict
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            optimizer.step()
            schedule.step()
            tokens += int(batch["attention_mask"].sum())
            loss_sum, scored_sum = loss_sum + loss.item() * scored, scored_sum + scored
        seconds = time.perf_counter() - started
        record = {"epoch": epoch, "train_loss": loss_sum / max(scored_sum, 1),
                  "heldout_loss": heldout_loss(model, holdout_items, collate, tokenizer, cfg, bf16),
                  "seconds": round(seconds, 2), "tokens_per_second": round(tokens / max(seconds, 1e-9), 1)}
        state["history"].append(record)
        state["epoch"], state["train_seconds"], state["train_tokens"] = (
            epoch, state["train_seconds"] + seconds, state["train_tokens"] + tokens)
        log.info("MLM epoch %d: train loss %.4f, held-out loss %.4f, %.1f s, %.0f tokens/s", epoch,
                 record["train_loss"], record["heldout_loss"], seconds, record["tokens_per_second"])
        with atomic_path(checkpoint) as tmp:
            torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                        "schedule": schedule.state_dict(), "torch_rng": torch.get_rng_state(), "state": state,
                        "fingerprint": fingerprint}, tmp)

    model.save_pretrained(out_dir)
    if getattr(tokenizer, "hf", None) is not None:
        tokenizer.hf.save_pretrained(out_dir)
    write_json({"spec": asdict(cfg), "tokenizer_dir": str(tokenizer_dir), "sequences": len(sequences),
                "history": state["history"], "train_seconds": state["train_seconds"],
                "train_tokens_per_second": state["train_tokens"] / max(state["train_seconds"], 1e-9)},
               out_dir / "mlm.json")
    checkpoint.unlink(missing_ok=True)  # the finished model is saved; the resume state is no longer needed
