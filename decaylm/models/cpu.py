"""Training small transformers fast on a CPU (measured on the 4x128 BERT with BPE tokens, 2 cores).

Three things held it back, each found with torch.profiler:
- fp32 matmuls: the CPU's bf16 dot products (AVX512-BF16, AMX) run them 2.3x faster, so where the
  CPU has them, `bf16: auto` autocasts the encoder to bf16 (weights, optimizer and head stay fp32);
- torch's CPU flash-attention kernel, whose bf16 backward is so slow (a third of the step) that it
  cancelled the gain: with bf16 the plain matmul-softmax ("eager") attention is used instead;
- dropout, whose mask is drawn one Mersenne-Twister number per element (serial, ~9 ns each):
  `BitDropout` draws four 16-bit masks from each 64-bit number, twice as fast.
"""

from __future__ import annotations

import torch
from torch import nn

_INT64 = (-(2 ** 63), 2 ** 63 - 1)


def cpu_has_bf16() -> bool:
    """Native bf16 dot products (where emulated bf16 would be slower than fp32)."""
    return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())


def use_bf16(setting) -> bool:
    """The `bf16` setting of a model (on|off|auto) -> whether to autocast to bf16 on the CPU.
    Never when there is a GPU: training there uses CUDA autocast (decaylm.models.training.autocast)."""
    if torch.cuda.is_available() or setting in (False, "false", "off"):
        return False
    if setting in (True, "true", "on"):
        return True
    return cpu_has_bf16()


def attention_implementation(cpu_bf16: bool) -> str:
    """transformers' attention for a model: sdpa, except under CPU bf16 (see the module's note)."""
    return "eager" if cpu_bf16 else "sdpa"


class BitDropout(nn.Dropout):
    """nn.Dropout whose CPU mask takes a quarter of the random numbers (the probability is rounded
    to 1/65536). Seeded by torch's global generator like nn.Dropout, so runs repeat exactly; on a
    GPU (fast random numbers) it is nn.Dropout."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0 or x.device.type != "cpu" or x.numel() == 0:
            return super().forward(x)
        n = x.numel()
        bits = torch.randint(*_INT64, (-(-n // 4),), dtype=torch.int64).view(torch.int16)[:n].view(x.shape)
        keep = bits >= round(-32768 + self.p * 65536)
        return x * keep.to(x.dtype) * (1.0 / (1.0 - self.p))


def use_bit_dropout(model: nn.Module) -> nn.Module:
    """Replace every nn.Dropout of `model` (transformers' included) by a BitDropout of the same p."""
    for module in list(model.modules()):
        for name, child in module.named_children():
            if type(child) is nn.Dropout:
                setattr(module, name, BitDropout(child.p, child.inplace))
    return model


def encoder_autocast(cpu_bf16: bool, device: torch.device):
    """bf16 autocast for a transformer encoder on a CPU with bf16 dot products (`cpu_bf16`); on a
    GPU the training loop autocasts (decaylm.models.training.autocast), so this is a no-op there."""
    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=cpu_bf16 and device.type == "cpu")
