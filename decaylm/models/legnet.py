"""LegNet: the convolutional network that won the DREAM 2022 MPRA challenge (Penzar et al. 2023,
Bioinformatics 39:btad457), sized for a CPU and for 3'UTR reporters.

What it keeps of the published design: no pooling along the sequence until the head (every
position keeps its own features, so an element's place can matter), EfficientNet-style blocks
(a 1x1 expansion, a depthwise convolution, squeeze-and-excitation, a 1x1 projection; here added
back to the block's input), a plain convolution between blocks that sets the next width, and random
shifts of the sequence as training augmentation. What it leaves: the reverse-complement input and
augmentation (an mRNA has one strand) and the soft-classification head (its targets were binned
expression classes; ours is a continuous log ratio, trained with the MSE of every other row).
The one-cycle schedule is the shared loop's warm-up and linear decay (`warmup_fraction`).
What it adds, off by default: `position`, two input channels that tell each nucleotide its place
in the sequence (a 3'UTR reporter has fixed ends, and the receptive field of about 55 nt leaves
the middle of a 110-nt reporter blind to both).
"""

from __future__ import annotations

import torch
from torch import nn

from decaylm.models.cnn import OneHotCNN, TrainedOneHot, train_one_hot
from decaylm.models.specs import LegNetArchitecture, ModelSpec
from decaylm.models.training import regression_loss


def _conv(in_channels: int, out_channels: int, kernel: int, groups: int = 1) -> list[nn.Module]:
    return [nn.Conv1d(in_channels, out_channels, kernel, padding=kernel // 2, groups=groups, bias=False),
            nn.BatchNorm1d(out_channels), nn.SiLU()]


class SqueezeExcite(nn.Module):
    """Channel weights from the sequence's mean features: which features matter for this sequence."""

    def __init__(self, channels: int, reduced: int):
        super().__init__()
        self.gate = nn.Sequential(nn.Linear(channels, reduced), nn.SiLU(), nn.Linear(reduced, channels), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x.mean(dim=-1))[:, :, None]


class EfficientBlock(nn.Module):
    """Inverted residual: expand (1x1), depthwise convolution, squeeze-excite, project (1x1), plus the input."""

    def __init__(self, channels: int, expand: int, kernel: int, se_reduction: int):
        super().__init__()
        wide = channels * expand
        self.body = nn.Sequential(*_conv(channels, wide, 1), *_conv(wide, wide, kernel, groups=wide),
                                  SqueezeExcite(wide, max(1, channels // se_reduction)),
                                  nn.Conv1d(wide, channels, 1, bias=False), nn.BatchNorm1d(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class LegNet(nn.Module):
    def __init__(self, cfg: LegNetArchitecture, aux_weight: float = 1.0):
        super().__init__()
        inputs = 4 + (2 if cfg.position else 0)
        layers, channels = _conv(inputs, cfg.stem_channels, cfg.stem_kernel), cfg.stem_channels
        for width in cfg.block_channels:
            layers += [EfficientBlock(channels, cfg.expand, cfg.kernel, cfg.se_reduction), *_conv(channels, width, cfg.kernel)]
            channels = width
        self.body = nn.Sequential(*layers)
        self.head = nn.Sequential(*_conv(channels, channels, 1))
        self.out = nn.Sequential(nn.Dropout(cfg.dropout),
                                 nn.Linear(channels, 1 + len(cfg.aux_hours) + len(cfg.aux_libraries)))
        self.shift, self.position, self.aux_weight = cfg.shift, cfg.position, aux_weight

    def shifted(self, x: torch.Tensor) -> torch.Tensor:
        """Each sequence moved by its own random offset in [-shift, shift], the gap read as N (zeros)."""
        s = self.shift
        offsets = torch.randint(0, 2 * s + 1, (x.shape[0],), device=x.device)
        padded = nn.functional.pad(x, (s, s))
        index = torch.arange(x.shape[-1], device=x.device)[None, :] + offsets[:, None]
        return padded.gather(2, index[:, None, :].expand(-1, x.shape[1], -1))

    @staticmethod
    def positions(x: torch.Tensor) -> torch.Tensor:
        """(batch, 2, length): each position's relative place from the 5' end (0 to 1) and from the 3'
        end (1 to 0). Relative to the batch's length: items padded to a longer one would read another
        place, so with mixed lengths predict in batches of one length (training.predict does)."""
        place = torch.linspace(0.0, 1.0, x.shape[-1], device=x.device, dtype=x.dtype)  # one position: [0]
        return torch.stack([place, 1.0 - place])[None].expand(x.shape[0], -1, -1)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None, w: torch.Tensor | None = None):
        if self.training and self.shift > 0:
            x = self.shifted(x)
        if self.position:  # after the shift: a shifted element is at another place
            x = torch.cat([x, self.positions(x)], dim=1)
        out = self.out(self.head(self.body(x)).mean(dim=-1))
        return regression_loss(out.squeeze(-1) if out.shape[-1] == 1 else out, y, self.aux_weight, self.training, w)


def train(split, spec: ModelSpec, out_dir, expression_path=None, aux_library_paths=None, variance_path=None) -> None:
    train_one_hot(LegNet, split, spec, out_dir, expression_path, aux_library_paths, variance_path)


class TrainedLegNet(TrainedOneHot):
    network, architecture = LegNet, LegNetArchitecture


def load(folder, record) -> TrainedLegNet:
    return TrainedLegNet(folder, record)


__all__ = ["LegNet", "OneHotCNN", "TrainedLegNet", "load", "train"]
