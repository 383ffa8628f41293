"""CPU speed-ups of the transformer models: BitDropout behaves as dropout, the bf16 and attention choices,
the encoder's bf16 autocast."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from transformers import BertConfig, BertModel

from decaylm.models import cpu


@pytest.mark.parametrize("p", [0.1, 0.5])
def test_bit_dropout_drops_a_fraction_p_and_keeps_the_mean(p):
    torch.manual_seed(0)
    x = torch.ones(200_000)
    out = cpu.BitDropout(p).train()(x)
    dropped = float((out == 0).float().mean())
    assert dropped == pytest.approx(p, abs=0.005)
    assert float(out.mean()) == pytest.approx(1.0, abs=0.01)
    assert torch.unique(out).tolist() == [0.0, pytest.approx(1 / (1 - p))]


def test_bit_dropout_masks_differ_between_calls_and_repeat_with_the_seed():
    layer = cpu.BitDropout(0.3).train()
    x = torch.ones(4, 7, 5)  # not a multiple of four elements per row
    torch.manual_seed(1)
    first, second = layer(x), layer(x)
    torch.manual_seed(1)
    assert torch.equal(layer(x), first)
    assert not torch.equal(first, second)
    assert first.shape == x.shape


def test_bit_dropout_gradient_is_the_mask_and_eval_is_the_identity():
    layer = cpu.BitDropout(0.25).train()
    x = torch.randn(3, 64, requires_grad=True)
    out = layer(x)
    out.sum().backward()
    assert torch.allclose(x.grad, (out != 0).float() / 0.75)
    assert torch.equal(layer.eval()(x), x)


def test_bit_dropout_keeps_bf16():
    out = cpu.BitDropout(0.1).train()(torch.ones(10, 16, dtype=torch.bfloat16))
    assert out.dtype == torch.bfloat16


def test_use_bit_dropout_replaces_every_dropout_of_a_transformers_model():
    config = BertConfig(vocab_size=16, hidden_size=8, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=16, hidden_dropout_prob=0.2,
                        attention_probs_dropout_prob=0.2)
    model = nn.Sequential(BertModel(config), nn.Dropout(0.4))
    plain = sum(type(m) is nn.Dropout for m in model.modules())
    cpu.use_bit_dropout(model)
    swapped = [m for m in model.modules() if isinstance(m, nn.Dropout)]
    assert plain == len(swapped) > 2
    assert all(isinstance(m, cpu.BitDropout) for m in swapped)
    assert sorted({m.p for m in swapped}) == [0.2, 0.4]


@pytest.mark.parametrize("avx512_bf16, amx, native", [(True, False, True), (False, True, True), (False, False, False)])
def test_bf16_auto_follows_the_cpus_bf16_dot_products(monkeypatch, avx512_bf16, amx, native):
    """`auto` is bf16 exactly on CPUs with native bf16 dot products (AVX512-BF16 or AMX); on and off are
    what they say on any CPU; with a GPU the model never autocasts itself (CUDA autocast does)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    assert cpu.use_bf16("auto") is native
    assert cpu.use_bf16("on") and cpu.use_bf16(True) and cpu.use_bf16("true")
    assert not cpu.use_bf16("off") and not cpu.use_bf16(False) and not cpu.use_bf16("false")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert not cpu.use_bf16("on") and not cpu.use_bf16("auto")


def test_bf16_encoder_with_its_attention_runs_in_bf16_close_to_fp32():
    """A transformers encoder with the attention chosen for bf16, under the encoder's autocast: its
    matmuls give bf16, and its output is fp32's up to bf16 rounding."""
    torch.manual_seed(0)
    config = BertConfig(vocab_size=16, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, attn_implementation=cpu.attention_implementation(True))
    model = BertModel(config).eval()
    ids = torch.randint(4, 16, (3, 12))
    dtypes = set()
    hooks = [m.register_forward_hook(lambda module, args, out: dtypes.add(out.dtype))
             for m in model.modules() if isinstance(m, nn.Linear)]
    with torch.no_grad(), cpu.encoder_autocast(True, torch.device("cpu")):
        low = model(input_ids=ids).last_hidden_state
    for hook in hooks:
        hook.remove()
    with torch.no_grad():
        full = model(input_ids=ids).last_hidden_state
    assert dtypes == {torch.bfloat16} and full.dtype == torch.float32
    torch.testing.assert_close(low.float(), full, rtol=0, atol=0.1)  # layer-normed outputs: |x| of a few units
    assert not torch.equal(low.float(), full)


def test_encoder_autocast_is_bf16_only_on_the_cpu_and_only_when_chosen():
    a, b = torch.randn(4, 8), torch.randn(8, 3)
    with cpu.encoder_autocast(True, torch.device("cpu")):
        assert (a @ b).dtype == torch.bfloat16
    with cpu.encoder_autocast(False, torch.device("cpu")):
        assert (a @ b).dtype == torch.float32
    with cpu.encoder_autocast(True, torch.device("cuda")):  # on a GPU the training loop autocasts, not the model
        assert (a @ b).dtype == torch.float32
    assert (a @ b).dtype == torch.float32  # and nothing is left switched on
