"""Masked-LM pretraining of a BERT encoder per tokenizer, for the regressors' `init_from`.

Trains transformers' BertForMaskedLM on the TRAINING sequences of the split plus any unlabeled
sequence files named in `extra_sequences` (FASTA, or a 2-column id/sequence TSV). Valid and
test sequences never enter, and an extra sequence that shares a `min_overlap`-nt substring
with one of them is dropped, as the overlap split would have kept it with them. Long extra
sequences are cut into windows of the reporters' length.

Masking is BERT's (decaylm.models.batching.MaskedTokenBatches), seeded per epoch. A small seeded part
of the training sequences (`holdout_fraction`) is left out of the updates and scored each epoch
(fixed masks): it shows whether the language model still learns, and it is the validation loss
of the shared training loop (decaylm.models.training.fit: device, autocast, schedule, early stopping,
checkpoint and resume are the regressors').

Writes a `save_pretrained` checkpoint (config.json + model.safetensors + tokenizer files) to
out_dir, plus mlm.json (history, tokens/s).
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn
from transformers import BertForMaskedLM

from decaylm.errors import InputError
from decaylm.io import write_json
from decaylm.models.batching import MaskedTokenBatches, encode, token_items
from decaylm.models.bert import bert_config
from decaylm.models.common import parts, run_fingerprint
from decaylm.models.cpu import attention_implementation, encoder_autocast, use_bf16, use_bit_dropout
from decaylm.models.specs import ModelSpec
from decaylm.models.training import CHECKPOINT, fit
from decaylm.sequences import read_sequences
from decaylm.split import shares_overlap
from decaylm.tokenizers import load_tokenizer

log = logging.getLogger(__name__)


class MaskedLanguageModel(nn.Module):
    """transformers' BertForMaskedLM under the loop's contract: (logits, cross-entropy on `labels`)."""

    def __init__(self, config, cpu_bf16: bool):
        super().__init__()
        self.lm = BertForMaskedLM(config)
        self.cpu_bf16 = cpu_bf16

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, labels: torch.Tensor | None = None):
        with encoder_autocast(self.cpu_bf16, input_ids.device):
            logits = self.lm(input_ids=input_ids, attention_mask=attention_mask).logits
        if labels is None:
            return logits, None
        loss = nn.functional.cross_entropy(logits.float().view(-1, logits.shape[-1]), labels.view(-1),
                                           ignore_index=-100)
        return logits, loss


def extra_windows(paths, window: int, held_out: list[str], min_overlap: int, where: str = "extra_sequences"
                  ) -> list[str]:
    """Unlabeled sequences cut into windows; none that shares min_overlap nt with a held-out sequence.
    A file that cannot be read is an InputError that also names the config key (`where`)."""
    pieces = []
    for path in paths:
        try:
            sequences = read_sequences(path)["sequence"]
        except InputError as error:
            raise InputError(f"{where}: {error.where}", error.problem, error.fix) from None
        for sequence in sequences:
            starts = range(0, max(1, len(sequence) - min_overlap + 1), window)
            pieces += [sequence[start:start + window] for start in starts]
    overlapping = shares_overlap(pieces, held_out, min_overlap)
    kept = [piece for piece, overlaps in zip(pieces, overlapping)
            if not overlaps and len(piece) >= min(window, min_overlap)]
    log.info("extra sequences: %d windows of %d nt kept, %d dropped for overlapping valid/test", len(kept), window,
             int(overlapping.sum()))
    return kept


def pretrain(split, spec: ModelSpec, tokenizer_dir, out_dir) -> None:
    """MLM-pretrain a BERT encoder on the split's training sequences (+ extra_sequences) into out_dir.
    `spec`: a parsed `pretraining` entry (decaylm.models.specs.parse_pretraining_spec)."""
    cfg, train_cfg = spec.architecture, spec.training
    out_dir = Path(out_dir)
    tokenizer = load_tokenizer(tokenizer_dir)
    data = parts(split)
    held_out = data["valid"]["sequence"].tolist() + data["test"]["sequence"].tolist()
    sequences = data["train"]["sequence"].tolist()
    if cfg.extra_sequences:
        window = int(np.median([len(s) for s in sequences])) if sequences else 110
        sequences += extra_windows(cfg.extra_sequences, window, held_out, cfg.min_overlap,
                                   f"pretraining.{spec.name}.extra_sequences")
    order = np.random.default_rng(spec.seed).permutation(len(sequences))
    n_holdout = int(round(cfg.holdout_fraction * len(sequences)))
    ids = encode(tokenizer, sequences, cfg.max_length)
    train_items = token_items([ids[i] for i in order[n_holdout:]])
    holdout_items = token_items([ids[i] for i in order[:n_holdout]])
    bf16 = use_bf16(cfg.bf16)
    config = bert_config(cfg, tokenizer)
    config._attn_implementation = attention_implementation(bf16)
    torch.manual_seed(spec.seed)
    model = MaskedLanguageModel(config, bf16)
    if cfg.bit_dropout:
        use_bit_dropout(model)
    result = fit(model, train_items, holdout_items, MaskedTokenBatches(tokenizer, cfg.mask_prob, spec.seed), train_cfg,
                 out_dir, fingerprint=run_fingerprint(spec.to_dict(), split, str(tokenizer_dir)))
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".saving.") as tmp:
        tmp = Path(tmp)
        model.lm.cpu().save_pretrained(tmp)
        if getattr(tokenizer, "hf", None) is not None:
            tokenizer.hf.save_pretrained(tmp)
        for path in sorted(tmp.iterdir(), key=lambda p: p.name == "config.json"):  # config.json (the output) last
            os.replace(path, out_dir / path.name)
    history = [{**epoch, "heldout_loss": epoch["valid_loss"]} for epoch in result.history]
    write_json({"spec": spec.to_dict(), "tokenizer_dir": str(tokenizer_dir), "sequences": len(sequences),
                "best_epoch": result.best_epoch, "history": history, "train_seconds": result.train_seconds,
                "train_tokens_per_second": result.train_tokens_per_second}, out_dir / "mlm.json")
    (out_dir / CHECKPOINT).unlink(missing_ok=True)  # the finished model is saved; the resume state is no longer needed
