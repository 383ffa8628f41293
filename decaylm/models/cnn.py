"""CNN: one-hot convolutional regressor, the strong neural baseline."""

from __future__ import annotations

import logging
from dataclasses import asdict

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from decaylm.models.auxiliary import load_auxiliary, part_rows
from decaylm.models.batching import collate_one_hot, one_hot_items, targets, with_weights
from decaylm.io import atomic_path, write_json
from decaylm.models.specs import CNNArchitecture, ModelSpec, Training
from decaylm.models.artifact import TrainedModel, write_model_json
from decaylm.models.common import parts, run_fingerprint, training_length
from decaylm.models.training import fit, predict, reads_weights, regression_loss

log = logging.getLogger(__name__)
WEIGHTS = "model.safetensors"


class CNN(nn.Module):
    """Conv blocks (conv, batch norm, GELU, max-pool) then global max+mean pooling and a linear head.
    Any sequence length goes in (global pooling)."""

    def __init__(self, cfg: CNNArchitecture, aux_weight: float = 1.0):
        super().__init__()
        blocks, in_channels = [], 4
        for kernel in cfg.kernel_sizes:
            blocks += [nn.Conv1d(in_channels, cfg.channels, kernel, padding=kernel // 2), nn.BatchNorm1d(cfg.channels),
                       nn.GELU(), nn.MaxPool1d(cfg.pool, ceil_mode=True), nn.Dropout(cfg.dropout)]
            in_channels = cfg.channels
        self.body = nn.Sequential(*blocks)
        self.head = nn.Sequential(nn.Linear(2 * cfg.channels, cfg.channels), nn.GELU(), nn.Dropout(cfg.dropout),
                                  nn.Linear(cfg.channels, 1 + len(cfg.aux_hours) + len(cfg.aux_libraries)))
        self.aux_weight = aux_weight

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None, w: torch.Tensor | None = None):
        h = self.body(x)
        out = self.head(torch.cat([h.amax(dim=-1), h.mean(dim=-1)], dim=-1))
        return regression_loss(out.squeeze(-1) if out.shape[-1] == 1 else out, y, self.aux_weight, self.training, w)


def train(split, spec: ModelSpec, out_dir, expression_path=None, aux_library_paths=None, variance_path=None) -> None:
    train_one_hot(CNN, split, spec, out_dir, expression_path, aux_library_paths, variance_path)


def train_one_hot(network: type[nn.Module], split, spec: ModelSpec, out_dir, expression_path=None,
                  aux_library_paths=None, variance_path=None) -> None:
    """Train a one-hot network (`network(architecture, aux_weight)`, forward(x, y, w) -> (prediction, loss)):
    the CNN here, LegNet (decaylm.models.legnet). `expression_path` (the normalized expression table)
    is read only for auxiliary hours; `aux_library_paths` (other libraries' split.tsv) for auxiliary
    libraries; `variance_path` (the target's variance table) for `weighting: reads`."""
    arch, train_cfg = spec.architecture, spec.training
    aux = load_auxiliary(expression_path, aux_library_paths, split, arch, f"models.{spec.name}")
    torch.manual_seed(train_cfg.seed)
    model = network(arch, train_cfg.aux_weight)
    data = parts(split)
    weights = reads_weights(data["train"], variance_path, train_cfg, f"models.{spec.name}")
    train_items, valid_items = (one_hot_items(data[part]["sequence"], targets(data[part], part_rows(aux, split, part)))
                                for part in ("train", "valid"))
    result = fit(model, with_weights(train_items, weights), valid_items, collate_one_hot, train_cfg, out_dir,
                 fingerprint=run_fingerprint(spec.to_dict(), split, aux, weights))
    log.info("best epoch %d, valid mse %.4f", result.best_epoch, result.best_valid_loss)
    model.cpu()
    with atomic_path(f"{out_dir}/{WEIGHTS}") as tmp:
        save_file(model.state_dict(), str(tmp))
    write_json({"architecture": asdict(arch), "training": asdict(train_cfg), "best_epoch": result.best_epoch,
                "parameters": sum(p.numel() for p in model.parameters()),
                "history": result.history, "train_seconds": result.train_seconds,
                "train_tokens_per_second": result.train_tokens_per_second}, f"{out_dir}/training.json")
    write_model_json(out_dir, spec, training_length(split), {"weights": WEIGHTS})


class TrainedOneHot(TrainedModel):
    """A trained one-hot network; subclasses name theirs and its settings."""
    network: type[nn.Module]
    architecture: type

    def __init__(self, folder, record):
        super().__init__(folder, record)
        spec = record["spec"]
        self.module = self.network(self.architecture(**spec["architecture"]), Training(**spec["training"]).aux_weight)
        self.module.load_state_dict(load_file(str(self.path("weights"))))
        self.module.eval()

    def predict(self, sequences, batch_size: int = 256) -> np.ndarray:
        return predict(self.module, one_hot_items(sequences), collate_one_hot, batch_size)

    def one_hot_module(self) -> nn.Module:
        return OneHotCNN(self.module).eval()


class TrainedCNN(TrainedOneHot):
    network, architecture = CNN, CNNArchitecture


class OneHotCNN(nn.Module):
    """A one-hot network (the CNN, LegNet) as attribution wants it: one-hot (B, 4, L) -> prediction (B, 1)."""

    def __init__(self, cnn: CNN):
        super().__init__()
        self.cnn = cnn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        prediction, _ = self.cnn(x)
        return prediction[:, None]


def load(folder, record) -> TrainedCNN:
    return TrainedCNN(folder, record)
