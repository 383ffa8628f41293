"""Fine-tuning a pretrained DNA language model (the DNABERT2 row) as a regressor.

`checkpoint` is a hub id (default zhihan1996/DNABERT-2-117M) or a local directory; loading goes
through the real `AutoTokenizer` / `AutoConfig` / `AutoModel.from_pretrained` path.

Remote code: DNABERT-2's model class is Python that ships with the checkpoint, and loading it runs
that code. `trust_remote_code` is off unless the config sets it; a checkpoint whose config.json
names code of its own (`auto_map`) is then refused in one line (transformers would otherwise load
the stock BERT class into it, quietly leaving most weights random). With it on, a hub checkpoint
must pin `revision` to a commit, so the code that runs is the code that was read, not whatever the
hub holds today. The fine-tuned folder keeps the code (encoder/*.py, listed with their sha256 in
model.json) and loads it only when the model was trained with trust_remote_code: true.

The known problems of DNABERT-2's remote code under current transformers are handled:

- Config class clash ("model has BertConfig and you passed ...configuration_bert.BertConfig"):
  the config is loaded first with AutoConfig and passed to AutoModel.from_pretrained.
- Triton flash attention: its module imports `triton` at the top, and transformers refuses a
  hub model whose relative imports need a missing package, although bert_layers.py only tries
  that import. While loading, a placeholder `triton` without `triton.language` lets the check
  pass and makes the guarded import fail as designed; after loading, every
  `flash_attn_qkvpacked_func` global of the remote modules is set to None, so the model's own
  PyTorch attention path runs (the Triton kernel fails on CPUs and on newer Triton releases).
- ALiBi tensor built in `__init__`: transformers 5 builds models on the meta device, so a
  tensor kept as a plain attribute stays without data; `rebuild_alibi_tensor` makes it again.

Weights that cannot be had (offline, not cached) raise ModelUnavailable at once: the cache is
tried first, HF_HUB_OFFLINE=1 stops there, and otherwise the hub's endpoint is probed with a
short timeout before transformers (which retries for about 30 s) is asked.

Regression head: attention-mask mean of the last hidden states, dropout, linear. Training is
the shared loop (decaylm.models.training.fit). The model folder holds the fine-tuned encoder with its
tokenizer (`encoder/`, save_pretrained, remote code included) and the head (`head.safetensors`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import socket
import sys
import types
from dataclasses import asdict
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import torch
from torch import nn

from safetensors.torch import load_file, save_file

from decaylm.models.batching import TokenBatches, targets, token_items
from decaylm.errors import InputError
from decaylm.io import atomic_path, write_json
from decaylm.models.specs import Finetune, ModelSpec
from decaylm.models.artifact import TrainedModel, atomic_directory, write_model_json
from decaylm.models.common import ModelUnavailable, parts, run_fingerprint, training_length
from decaylm.models.training import fit, predict, regression_loss

log = logging.getLogger(__name__)
DEFAULT_CHECKPOINT = Finetune.checkpoint
ENCODER, HEAD = "encoder", "head.safetensors"


class Regressor(nn.Module):
    """Pretrained encoder -> masked mean of the last hidden states -> dropout -> linear."""

    def __init__(self, encoder: nn.Module, hidden_size: int, dropout: float):
        super().__init__()
        self.encoder = encoder
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(hidden_size, 1))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, y: torch.Tensor | None = None):
        out = self.encoder(input_ids=input_ids, attention_mask=attention_mask)
        h = out[0] if isinstance(out, (tuple, list)) else out.last_hidden_state  # remote code returns tuples
        if isinstance(h, (tuple, list)):
            h = h[-1]
        m = attention_mask[..., None].to(h.dtype)
        return regression_loss(self.head((h * m).sum(1) / m.sum(1).clamp(min=1)).squeeze(-1), y, 1.0, self.training)


def offline() -> bool:
    return any(os.environ.get(v, "").lower() in ("1", "true", "yes", "on") for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def hub_reachable(timeout: float) -> str | None:
    """None if the hub endpoint accepts a TCP connection, else why not (one line)."""
    from huggingface_hub import constants

    url = urlparse(constants.ENDPOINT)
    try:
        socket.create_connection((url.hostname, url.port or (443 if url.scheme == "https" else 80)), timeout).close()
        return None
    except OSError as error:
        return f"cannot reach {constants.ENDPOINT} ({error})"


@contextlib.contextmanager
def triton_placeholder():
    """A `triton` without `triton.language` while remote code is checked and imported (only where no
    Triton is installed): transformers' import check passes, and the remote code's own guarded
    `from .flash_attn_triton import ...` fails as it would without Triton, selecting PyTorch attention."""
    try:
        import triton  # noqa: F401
        yield
        return
    except ImportError:
        pass
    sys.modules["triton"] = types.ModuleType("triton")
    try:
        yield
    finally:
        sys.modules.pop("triton", None)


def use_pytorch_attention(model: nn.Module) -> None:
    """Select the remote code's PyTorch attention, and rebuild tensors transformers left on 'meta'."""
    for module_name in {type(m).__module__ for m in model.modules()}:
        module = sys.modules.get(module_name)
        if module is not None and getattr(module, "flash_attn_qkvpacked_func", None) is not None:
            module.flash_attn_qkvpacked_func = None
            log.info("%s: Triton flash attention disabled, PyTorch attention used", module_name)
    for sub in model.modules():
        if hasattr(sub, "rebuild_alibi_tensor"):
            size = int(getattr(sub, "_current_alibi_size", 0) or getattr(getattr(sub, "config", None),
                                                                         "alibi_starting_size", 512) or 512)
            sub.rebuild_alibi_tensor(size=size, device=torch.device("cpu"))
        for attr, value in vars(sub).items():
            if isinstance(value, torch.Tensor) and value.device.type == "meta":
                raise ModelUnavailable(f"{type(sub).__name__}.{attr} has no data after loading (remote code "
                                       "incompatible with this transformers version)")


def is_commit(revision: str) -> bool:
    """A full commit hash: the one revision of a hub repository that cannot change."""
    return bool(re.fullmatch(r"[0-9a-f]{40}", revision or ""))


def load_pretrained(checkpoint: str, revision: str = "", probe_timeout: float = 3.0, name: str = "DNABERT2",
                    trust_remote_code: bool = False):
    """(tokenizer, encoder, hidden size) through AutoTokenizer/AutoConfig/AutoModel. A checkpoint with
    code of its own loads only with trust_remote_code, and a hub one then only at a pinned commit."""
    from transformers import AutoConfig, AutoModel, AutoTokenizer, PretrainedConfig

    name = name.split("/")[0]  # the config entry of a fold or repeat job (NAME/fold2, NAME/repeat3)
    local = Path(checkpoint).expanduser()
    if local.is_dir():
        source, kwargs = str(local), {"local_files_only": True}
    elif checkpoint.startswith((".", "/", "~")):
        raise InputError(f"models.{name}.checkpoint", f"{checkpoint} is not a directory", "give a local checkpoint "
                         "directory or a hub id")
    else:
        if trust_remote_code and not is_commit(revision):
            raise InputError(f"models.{name}.revision", f"{revision!r} is not a commit hash, and trust_remote_code: "
                             f"true runs the Python code of {checkpoint}", "pin revision: to the 40-hex commit whose "
                             "code you trust (docs/config.md)")
        source, kwargs = checkpoint, {"local_files_only": True}
        if revision:
            kwargs["revision"] = revision
    where = f"put a local copy at a directory and set models.{name}.checkpoint to it"

    def load(**extra):
        # config.json alone, read as data: does the checkpoint name code of its own (auto_map)?
        if PretrainedConfig.get_config_dict(source, **extra)[0].get("auto_map") and not trust_remote_code:
            raise InputError(f"models.{name}.trust_remote_code", f"{checkpoint} ships Python code of its own "
                             "(config.json auto_map), which runs only with trust_remote_code: true",
                             "set it for a checkpoint you trust, with revision: pinned to a commit; see docs/config.md")
        try:
            with triton_placeholder():
                tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=trust_remote_code, **extra)
                config = AutoConfig.from_pretrained(source, trust_remote_code=trust_remote_code, **extra)
                encoder = AutoModel.from_pretrained(source, config=config, trust_remote_code=trust_remote_code,
                                                    **extra)
        except ImportError as error:
            raise ModelUnavailable(f"{checkpoint}: its code needs a missing package: "
                                   f"{str(error).splitlines()[0]}") from None
        return tokenizer, config, encoder

    try:
        tokenizer, config, encoder = load(**kwargs)  # a local directory, or the hub id from the cache
    except OSError as error:
        if local.is_dir():
            raise InputError(f"models.{name}.checkpoint", f"cannot load {local}: {str(error).splitlines()[0]}",
                             "give a directory written by save_pretrained") from error
        if offline():
            raise ModelUnavailable(f"DNABERT-2 weights not available offline: {checkpoint} is not cached and "
                                   f"HF_HUB_OFFLINE is set; {where}") from None
        why = hub_reachable(probe_timeout)
        if why:
            raise ModelUnavailable(f"DNABERT-2 weights not available offline: {why}; {where}") from None
        try:
            tokenizer, config, encoder = load(**{**kwargs, "local_files_only": False})
        except OSError as error2:
            raise ModelUnavailable(f"DNABERT-2 weights could not be fetched: {str(error2).splitlines()[0]}; "
                                   f"{where}") from None
    use_pytorch_attention(encoder)
    hidden = getattr(config, "hidden_size", None) or getattr(config, "d_model")
    return tokenizer, encoder, int(hidden)


def encode(tokenizer, sequences, max_length: int) -> list:
    return tokenizer(list(sequences), truncation=True, max_length=max_length, return_attention_mask=False,
                     return_token_type_ids=False)["input_ids"]


def train(split, spec: ModelSpec, out_dir) -> None:
    """Fine-tune the checkpoint on the train part (early stopping on valid) and save the model folder."""
    own, train_cfg = spec.architecture, spec.training
    tokenizer, encoder, hidden = load_pretrained(own.checkpoint, own.revision, own.probe_timeout, spec.name,
                                                 own.trust_remote_code)
    torch.manual_seed(train_cfg.seed)
    model = Regressor(encoder, hidden, own.head_dropout)
    if own.freeze_encoder:
        model.encoder.requires_grad_(False)
    collate = TokenBatches(tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0)
    data = parts(split)
    out_dir = Path(out_dir)
    train_items, valid_items = (token_items(encode(tokenizer, data[part]["sequence"], own.max_length),
                                            targets(data[part])) for part in ("train", "valid"))
    result = fit(model, train_items, valid_items, collate, train_cfg, out_dir,
                 fingerprint=run_fingerprint(spec.to_dict(), split))
    log.info("best epoch %d, valid mse %.4f, %.0f tokens/s", result.best_epoch, result.best_valid_loss,
             result.train_tokens_per_second)
    model.cpu()
    with atomic_directory(out_dir / ENCODER) as tmp:
        encoder.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
    with atomic_path(out_dir / HEAD) as tmp:
        save_file({k: v.contiguous() for k, v in model.head.state_dict().items()}, str(tmp))
    write_json({"spec": asdict(own), "training": asdict(train_cfg), "best_epoch": result.best_epoch,
                "best_valid_loss": result.best_valid_loss, "history": result.history,
                "train_tokens_per_second": result.train_tokens_per_second, "train_seconds": result.train_seconds},
               out_dir / "training.json")
    write_model_json(out_dir, spec, training_length(split), {"weights": ENCODER, "head": HEAD})


class TrainedPretrained(TrainedModel):
    def __init__(self, folder, record):
        super().__init__(folder, record)
        own = Finetune(**record["spec"]["architecture"])
        # the folder's own code (encoder/*.py) runs only if the model was trained trusting it
        self.tokenizer, encoder, hidden = load_pretrained(str(self.path("weights")), name=self.name,
                                                          trust_remote_code=own.trust_remote_code)
        self.module = Regressor(encoder, hidden, own.head_dropout)
        self.module.head.load_state_dict(load_file(str(self.path("head"))))
        self.module.eval()
        self.max_length = own.max_length
        self.collate = TokenBatches(self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0)

    def predict(self, sequences, batch_size: int = 128) -> np.ndarray:
        return predict(self.module, token_items(encode(self.tokenizer, sequences, self.max_length)), self.collate,
                       batch_size)


def load(folder, record) -> TrainedPretrained:
    return TrainedPretrained(folder, record)
