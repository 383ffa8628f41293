"""CNN: one-hot convolutional regressor, the strong neural baseline."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field, fields

import numpy as np
import torch
from torch import nn

from decaylm.auxiliary import load_auxiliary_targets, part_rows
from decaylm.errors import InputError
from decaylm.io import save_torch, write_json
from decaylm.models.common import parts, run_fingerprint
from decaylm.sequences import one_hot
from decaylm.training import TrainConfig, fit, predict

log = logging.getLogger(__name__)


@dataclass
class CNNConfig:
    channels: int = 128
    kernel_sizes: tuple = (9, 7, 5)
    dropout: float = 0.2
    pool: int = 2
    aux_hours: list = field(default_factory=list)  # extra outputs: the time course (decaylm.auxiliary)


class CNN(nn.Module):
    """Conv blocks (conv, batch norm, GELU, max-pool) then global max+mean pooling and a linear head."""

    def __init__(self, cfg: CNNConfig):
        super().__init__()
        blocks, in_channels = [], 4
        for kernel in cfg.kernel_sizes:
            blocks += [nn.Conv1d(in_channels, cfg.channels, kernel, padding=kernel // 2), nn.BatchNorm1d(cfg.channels),
                       nn.GELU(), nn.MaxPool1d(cfg.pool, ceil_mode=True), nn.Dropout(cfg.dropout)]
            in_channels = cfg.channels
        self.body = nn.Sequential(*blocks)
        self.head = nn.Sequential(nn.Linear(2 * cfg.channels, cfg.channels), nn.GELU(), nn.Dropout(cfg.dropout),
                                  nn.Linear(cfg.channels, 1 + len(cfg.aux_hours)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.body(x)
        out = self.head(torch.cat([h.amax(dim=-1), h.mean(dim=-1)], dim=-1))
        return out.squeeze(-1) if out.shape[-1] == 1 else out  # with auxiliary outputs, column 0 is the target


def collate(items: list[dict]) -> dict:
    length = max(item["x"].shape[1] for item in items)
    x = np.zeros((len(items), 4, length), dtype=np.float32)
    for row, item in enumerate(items):
        x[row, :, : item["x"].shape[1]] = item["x"]
    return {"x": torch.from_numpy(x), "y": torch.from_numpy(np.asarray([item["y"] for item in items], dtype=np.float32))}


def items_of(frame, aux: np.ndarray | None = None) -> list[dict]:
    """One-hot sequence and y per row (with auxiliary targets, [y, *aux])."""
    ys = frame["y"].to_numpy(dtype=np.float32) if aux is None else np.column_stack([frame["y"], aux]).astype(np.float32)
    return [{"x": one_hot(s), "y": y} for s, y in zip(frame["sequence"], ys)]


def split_spec(spec: dict, name: str) -> tuple[CNNConfig, TrainConfig]:
    """Split a flat model spec into architecture and training settings; refuse unknown keys."""
    arch_keys = {f.name for f in fields(CNNConfig)}
    train_keys = {f.name for f in fields(TrainConfig)}
    unknown = set(spec) - arch_keys - train_keys - {"kind"}
    if unknown:
        raise InputError(f"models.{name}", f"unknown parameter(s) {sorted(unknown)}",
                         f"use {sorted(arch_keys | train_keys)}")
    arch = {k: (tuple(v) if isinstance(v, list) else v) for k, v in spec.items() if k in arch_keys}
    return CNNConfig(**arch), TrainConfig(**{k: v for k, v in spec.items() if k in train_keys})


def train_and_predict(split, spec: dict, out_dir, seed: int, name: str = "CNN", expression_path=None) -> np.ndarray:
    """`expression_path` (the normalized expression table) is read only for auxiliary hours."""
    arch, train_cfg = split_spec({"seed": seed, **spec}, name)
    aux = load_auxiliary_targets(expression_path, split, arch.aux_hours, f"models.{name}.aux_hours")
    torch.manual_seed(train_cfg.seed)
    model = CNN(arch)
    data = parts(split)
    train_items, valid_items = (items_of(data[part], part_rows(aux, split, part)) for part in ("train", "valid"))
    result = fit(model, train_items, valid_items, collate, train_cfg, out_dir,
                 fingerprint=run_fingerprint(spec, split, str(seed), aux))
    log.info("best epoch %d, valid mse %.4f", result.best_epoch, result.best_valid_loss)
    save_torch(model.state_dict(), f"{out_dir}/model.pt")
    write_json({"architecture": asdict(arch), "training": asdict(train_cfg), "best_epoch": result.best_epoch,
                "parameters": sum(p.numel() for p in model.parameters()),
                "history": result.history, "train_seconds": result.train_seconds,
                "train_tokens_per_second": result.train_tokens_per_second}, f"{out_dir}/training.json")
    return predict(model, items_of(split), collate)
