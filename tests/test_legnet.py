"""LegNet (decaylm/models/legnet.py): the shift augmentation, training-only, and its settings' checks."""

import numpy as np
import pytest
import torch

from decaylm.errors import InputError
from decaylm.models.legnet import LegNet
from decaylm.models.registry import parse_model_spec
from decaylm.models.specs import LegNetArchitecture
from decaylm.sequences import one_hot_batch


def _net(**settings) -> LegNet:
    torch.manual_seed(0)
    return LegNet(LegNetArchitecture(stem_channels=8, block_channels=[8, 6], expand=2, **settings))


def test_shift_moves_each_sequence_by_at_most_shift_and_reads_the_gap_as_n():
    net = _net(shift=4)
    rng = np.random.default_rng(0)
    sequences = ["".join(rng.choice(list("ACGT"), 40)) for _ in range(16)]
    x = torch.from_numpy(one_hot_batch(sequences)).float()
    moved = net.shifted(x)
    assert moved.shape == x.shape
    offsets = []
    for original, shifted in zip(x.numpy(), moved.numpy()):
        matches = [d for d in range(-4, 5)
                   if np.array_equal(shifted[:, max(0, -d):40 - max(0, d)], original[:, max(0, d):40 + min(0, d)])
                   and not shifted[:, :max(0, -d)].any() and not shifted[:, 40 - max(0, d):].any()]
        assert matches, "a row is not the original moved by at most 4 nt"
        offsets.append(matches[0])
    assert len(set(offsets)) > 1  # each sequence draws its own offset


def test_prediction_is_unshifted_and_does_not_depend_on_the_batch():
    net = _net(shift=4).eval()
    rng = np.random.default_rng(1)
    x = torch.from_numpy(one_hot_batch(["".join(rng.choice(list("ACGT"), 30)) for _ in range(8)])).float()
    with torch.no_grad():
        together, _ = net(x)
        alone = torch.cat([net(x[i:i + 1])[0] for i in range(8)])
        again, _ = net(x)
    torch.testing.assert_close(together, alone, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(together, again)


def test_training_mode_shifts_so_the_loss_varies_between_passes():
    net = _net(shift=6, dropout=0.0).train()
    rng = np.random.default_rng(2)
    x = torch.from_numpy(one_hot_batch(["".join(rng.choice(list("ACGT"), 30)) for _ in range(32)])).float()
    y = torch.randn(32)
    losses = {round(net(x, y)[1].item(), 6) for _ in range(3)}
    assert len(losses) > 1
    unshifted = _net(shift=0, dropout=0.0).train()
    assert len({round(unshifted(x, y)[1].item(), 6) for _ in range(3)}) == 1


@pytest.mark.parametrize("key,value", [("block_channels", []), ("block_channels", [8, 0]), ("shift", -1),
                                       ("expand", 0)])
def test_bad_settings_stop_with_one_line_naming_the_key(key, value):
    with pytest.raises(InputError, match=f"models.LEGNET.{key}"):
        parse_model_spec("LEGNET", {"kind": "legnet", key: value})
