"""One training loop for every neural model: the regressors (CNN, BERT, hybrids, fine-tuning)
and masked-LM pretraining.

A model's forward takes a batch (`model(**batch)`) and returns `(prediction, loss)`; the loss
is None when the batch holds no target. Everything else lives here once: the device (CUDA
when there is a GPU, the CPU otherwise), autocast and gradient scaling, the learning-rate
schedule (linear warm-up then linear decay), early stopping on the validation loss, an
optional moving average of the weights (`ema_decay`), and a checkpoint each epoch that a
killed job resumes from (model, optimizer, schedule, RNG and early-stopping state, so the
resumed run ends with the same numbers).
"""

from __future__ import annotations

import copy
import logging
import math
import pickle
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import torch
from torch import nn

from decaylm.errors import InputError
from decaylm.models.batching import batch_order, batches_by_length, item_length
from decaylm.io import read_tsv, remove_stale_temporaries, save_torch
from decaylm.models.specs import Training

log = logging.getLogger(__name__)
CHECKPOINT = "last_epoch.pt"
TrainConfig = Training  # the settings of this loop (decaylm.models.specs)
BN_REFRESH_ITEMS = 4096  # training items BatchNorm statistics are recomputed on before each validation


@dataclass
class FitResult:
    best_epoch: int
    best_valid_loss: float
    history: list[dict] = field(default_factory=list)
    train_tokens_per_second: float = 0.0
    train_seconds: float = 0.0


def pick_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def autocast(device: torch.device):
    """bf16 (or fp16) autocast on a GPU; a no-op on the CPU, where a model that gains from bf16
    autocasts its own encoder (decaylm.models.cpu: only CPUs with bf16 dot products gain)."""
    if device.type != "cuda":
        return torch.autocast("cpu", enabled=False)
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.autocast("cuda", dtype=dtype)


def regression_loss(out: torch.Tensor, y: torch.Tensor | None, aux_weight: float, training: bool,
                    w: torch.Tensor | None = None):
    """(prediction of the target, loss). With auxiliary outputs (column 0 is the target) training
    adds aux_weight times their mean MSE; validation judges the target alone. `w`, one weight per
    item (`weighting: reads`), weighs each item's squared errors in training, its auxiliary ones
    alike: the loss is the mean of w * squared error, so weights of mean 1 keep the loss's scale.
    Validation is unweighted whatever it is given."""
    prediction = out[:, 0] if out.dim() == 2 else out
    if y is None:
        return prediction, None
    out, y = out.float(), y.float()
    w = w.float() if training and w is not None else None

    def mse(predicted: torch.Tensor, measured: torch.Tensor) -> torch.Tensor:
        if w is None:
            return nn.functional.mse_loss(predicted, measured)
        squared = (predicted - measured) ** 2
        return (squared * (w if squared.dim() == 1 else w[:, None])).mean()

    if out.dim() == 1:
        return prediction, mse(out, y)
    loss = mse(out[:, 0], y[:, 0])
    if training:
        loss = loss + aux_weight * mse(out[:, 1:], y[:, 1:])
    return prediction, loss


def reads_weights(frame: pd.DataFrame, variance_path, cfg: Training, key: str) -> np.ndarray | None:
    """The loss weights of the rows of `frame` (the training reporters) under `weighting: reads`:
    1 / (variance_floor + y_var), y_var the sampling variance of the reporter's target from its reads
    (rule target_variance), normalized to mean 1. None under `weighting: none`."""
    if cfg.weighting != "reads":
        return None
    if variance_path is None:
        raise InputError(f"{key}.weighting", "reads needs the target's variance table, and none was given",
                         "run the model through the pipeline (it passes data/target_variance.tsv) or drop the key")
    table = read_tsv(variance_path)
    variance = table.assign(id=table["id"].astype(str)).set_index("id")["y_var"]
    ids = frame["id"].astype(str)
    absent = ~ids.isin(variance.index)
    if absent.any():
        raise InputError(str(variance_path), f"training reporter {ids[absent].iloc[0]!r} has no y_var",
                         "use the variance table of the split the model trains on")
    y_var = variance.loc[ids].to_numpy(dtype=float)
    if not np.all(np.isfinite(y_var) & (y_var >= 0)):
        raise InputError(str(variance_path), "y_var holds a negative or missing value", "rerun rule target_variance")
    weights = 1.0 / (cfg.variance_floor + y_var)
    weights /= weights.mean()
    log.info("weighting: reads (variance_floor %g): weights %.3f-%.3f over %d training reporters, "
             "effective number %.0f", cfg.variance_floor, weights.min(), weights.max(), len(weights),
             weights.sum() ** 2 / np.sum(weights ** 2))
    return weights.astype(np.float32)


def _to(batch: dict, device: torch.device) -> dict:
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


def _count_tokens(batch: dict) -> int:
    """Non-padding tokens; for one-hot input (batch, channels, length), nucleotides."""
    mask = batch.get("attention_mask")
    if mask is not None:
        return int(mask.sum())
    first = next(iter(batch.values()))
    return int(first.shape[0] * first.shape[-1]) if first.dim() == 3 else int(first.shape[0])


def _inputs(items: list, index, collate: Callable, device) -> dict:
    batch = collate([items[i] for i in index])
    for target in ("y", "w", "labels"):
        batch.pop(target, None)
    return _to(batch, device)


@torch.no_grad()
def predict(model: nn.Module, items: list, collate: Callable, batch_size: int = 256, device=None) -> np.ndarray:
    """The model's prediction for each item, in order (no autograd; batches of one length, unpadded,
    so an item's prediction does not depend on the others)."""
    device = device or pick_device()
    model.to(device).eval()
    out = np.empty(len(items), dtype=np.float32)
    for index in batches_by_length(items, batch_size, same_length=True):
        with autocast(device):
            prediction, _ = model(**_inputs(items, index, collate, device))
        out[index] = prediction.float().cpu().numpy()
    return out


@torch.no_grad()
def validation_loss(model: nn.Module, items: list, collate: Callable, batch_size: int, device) -> float:
    """The model's own loss on `items` in eval mode, averaged over items."""
    if not items:
        return math.nan
    model.eval()
    total, count = 0.0, 0
    for index in batches_by_length(items, batch_size):
        with autocast(device):
            _, loss = model(**_to(collate([items[i] for i in index]), device))
        if torch.isfinite(loss):  # an MLM batch may have no token to predict
            total, count = total + float(loss) * len(index), count + len(index)
    return total / count if count else math.nan


def has_batch_norm(model: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


@torch.no_grad()
def refresh_batch_norm(model: nn.Module, items: list, collate: Callable, batch_size: int, device) -> None:
    """Recompute BatchNorm statistics on `items`, with the rest of the model in eval mode (dropout
    off): the statistics then describe what each norm sees at inference. fit does this before each
    validation: the running averages (momentum 0.1, the last ~10 batches, under weights that move
    fast at a high learning rate, taken with dropout on) made the CNN's valid loss jump by 0.2
    between epochs (docs/training.md). An averaged model's averaged statistics belong to none of
    the weights averaged, too (what torch.optim.swa_utils.update_bn does, for dict batches)."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms or not items:
        return
    was_training = model.training
    momenta = [m.momentum for m in norms]
    model.eval()
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average over all batches
        m.train()
    for index in batches_by_length(items, batch_size):
        with autocast(device):
            model(**_inputs(items, index, collate, device))
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum
    model.train(was_training)


def _refresh_items(items: list, seed: int) -> list:
    """The training items BatchNorm statistics are recomputed on: all of them, or a fixed random
    subset of BN_REFRESH_ITEMS (plenty for a per-channel mean and variance)."""
    if len(items) <= BN_REFRESH_ITEMS:
        return items
    chosen = np.random.default_rng([seed, 0xB17]).choice(len(items), BN_REFRESH_ITEMS, replace=False)
    return [items[i] for i in np.sort(chosen)]


def _epoch_collate(collate, epoch: int):
    """A collate with per-epoch randomness (MLM masks) is re-seeded each epoch."""
    return collate.for_epoch(epoch) if hasattr(collate, "for_epoch") else collate


def read_checkpoint(path: Path, fingerprint: str, device, model: nn.Module, optimizer, ema) -> dict | None:
    """The resume state in `path` if it can be resumed from, else None: there is none, it was written
    for other settings or data, or it is damaged (truncated or corrupted on disk: an interrupted write
    never leaves one, save_torch is atomic), which logs one line and training starts from epoch 1.
    Read with weights_only=True: tensors and plain values only, so the file cannot run code. Every
    part is checked against the model and optimizer before any is applied, so a damaged file
    changes nothing."""
    if not path.exists():
        return None
    try:
        saved = torch.load(path, map_location=device, weights_only=True)
        if saved.get("fingerprint") != fingerprint:
            log.info("ignoring %s: it was written for other settings or data", path)
            return None
        _check_state(saved["model"], model.state_dict(), "model")
        if ema is not None:
            _check_state(saved["ema"], ema.state_dict(), "ema")
        groups = saved["optimizer"]["param_groups"]
        if [len(g["params"]) for g in groups] != [len(g["params"]) for g in optimizer.param_groups]:
            raise ValueError("optimizer: other parameter groups")
        rng, state = saved["torch_rng"], saved["state"]
        if not (isinstance(rng, torch.Tensor) and rng.dtype == torch.uint8) or not isinstance(saved["schedule"], dict):
            raise ValueError("random state or schedule: not what fit saves")
        if not isinstance(state, dict) or not isinstance(state.get("epoch"), int) or state["epoch"] < 1:
            raise ValueError("state: not what fit saves")
    except Exception as error:  # whatever a damaged file raises (zip, unpickler, key, type): start over
        log.warning("%s is damaged (%s); training starts from epoch 1", path, _why(error))
        return None
    return saved


def _why(error: Exception) -> str:
    """A damaged checkpoint's error in a few words (torch's own messages run to paragraphs)."""
    if isinstance(error, pickle.UnpicklingError):
        return "not a file of tensors and plain values: weights_only loading refused it"
    lines = re.sub(r"\x1b\[[0-9;]*m", "", str(error)).strip().splitlines()
    return f"{type(error).__name__}: {lines[0].split('. ')[0][:120] if lines else ''}".rstrip(": ")


def _check_state(saved, expected: dict, what: str) -> None:
    """`saved` holds exactly the tensors of `expected`, by name and shape."""
    if not isinstance(saved, dict) or set(saved) != set(expected):
        raise ValueError(f"{what}: other parameters than the model's")
    for key, tensor in expected.items():
        if not isinstance(saved[key], torch.Tensor) or saved[key].shape != tensor.shape:
            raise ValueError(f"{what}: {key} has another shape")


def fit(model: nn.Module, train_items: list, valid_items: list, collate: Callable, cfg: Training,
        checkpoint_dir: Path, device: torch.device | None = None, fingerprint: str = "") -> FitResult:
    """Train until the validation loss stops improving (or for cfg.epochs); resume from
    `checkpoint_dir` if a previous run with the same `fingerprint` (spec and data) was killed.
    Leaves the best-on-valid weights in `model` (the last ones when there is nothing to validate)."""
    device = device or pick_device()
    checkpoint_path = Path(checkpoint_dir) / CHECKPOINT
    lengths = [item_length(item) for item in train_items]
    steps_per_epoch = math.ceil(len(train_items) / cfg.batch_size)
    model.to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    total_steps = steps_per_epoch * cfg.epochs
    warmup = max(1, int(cfg.warmup_fraction * total_steps))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warmup, max(0.0, (total_steps - step) / max(1, total_steps - warmup))))
    ema = (torch.optim.swa_utils.AveragedModel(model, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(
        cfg.ema_decay), use_buffers=True) if cfg.ema_decay > 0 else None)
    evaluated = ema.module if ema is not None else model  # what is validated, kept and returned
    scaler = torch.amp.GradScaler(enabled=device.type == "cuda" and not torch.cuda.is_bf16_supported())
    state = {"epoch": 0, "best_loss": math.inf, "best_epoch": 0, "bad_epochs": 0, "history": [],
             "best_weights": None, "train_seconds": 0.0, "train_tokens": 0}
    remove_stale_temporaries(checkpoint_path)
    saved = read_checkpoint(checkpoint_path, fingerprint, device, model, optimizer, ema)
    if saved is not None:
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        schedule.load_state_dict(saved["schedule"])
        torch.set_rng_state(saved["torch_rng"])
        if ema is not None:
            ema.load_state_dict(saved["ema"])
        state = saved["state"]
        log.info("resumed from %s after epoch %d", checkpoint_path, state["epoch"])
    else:
        torch.manual_seed(cfg.seed)  # dropout masks; batch order has its own per-epoch seed
    norms = has_batch_norm(model)
    norm_items = _refresh_items(train_items, cfg.seed) if norms else []

    while state["epoch"] < cfg.epochs and state["bad_epochs"] < cfg.patience:
        epoch = state["epoch"] + 1
        train_collate = _epoch_collate(collate, epoch)
        model.train()
        started, tokens, loss_sum, seen = time.perf_counter(), 0, 0.0, 0
        for index in batch_order(lengths, cfg.batch_size, np.random.default_rng([cfg.seed, epoch])):
            batch = _to(train_collate([train_items[i] for i in index]), device)
            with autocast(device):
                _, loss = model(**batch)
            if not torch.isfinite(loss):
                continue  # e.g. an MLM batch with no token to predict
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
            nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            scaler.step(optimizer)
            scaler.update()
            schedule.step()
            if ema is not None:
                ema.update_parameters(model)
            tokens += _count_tokens(batch)
            loss_sum, seen = loss_sum + float(loss.detach()) * len(index), seen + len(index)
        seconds = time.perf_counter() - started
        if norms:  # statistics of the weights validated, not a lagging running average
            refresh_batch_norm(evaluated, norm_items, collate, cfg.batch_size * 4, device)
        # a fresh epoch-0 collate each time: held-out MLM masks are the same every epoch, and after a resume
        valid_loss = validation_loss(evaluated, valid_items, _epoch_collate(collate, 0), cfg.batch_size * 4, device)
        state["train_seconds"] += seconds
        state["train_tokens"] += tokens
        record = {"epoch": epoch, "train_loss": loss_sum / max(seen, 1), "valid_loss": valid_loss,
                  "seconds": round(seconds, 2), "tokens_per_second": round(tokens / max(seconds, 1e-9), 1)}
        state["history"].append(record)
        if valid_loss < state["best_loss"] or math.isnan(valid_loss):
            state.update(best_loss=valid_loss, best_epoch=epoch, bad_epochs=0,
                         best_weights=copy.deepcopy(evaluated.state_dict()))
        else:
            state["bad_epochs"] += 1
        state["epoch"] = epoch
        log.info("epoch %d: train loss %.4f, valid loss %.4f, %.1f s, %.0f tokens/s%s", epoch, record["train_loss"],
                 valid_loss, seconds, record["tokens_per_second"], " (best)" if state["best_epoch"] == epoch else "")
        save_torch({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "schedule": schedule.state_dict(), "torch_rng": torch.get_rng_state(),
                    "ema": ema.state_dict() if ema is not None else None,
                    "state": state, "config": asdict(cfg), "fingerprint": fingerprint}, checkpoint_path)

    model.load_state_dict(state["best_weights"])
    return FitResult(best_epoch=state["best_epoch"], best_valid_loss=state["best_loss"], history=state["history"],
                     train_tokens_per_second=state["train_tokens"] / max(state["train_seconds"], 1e-9),
                     train_seconds=state["train_seconds"])
