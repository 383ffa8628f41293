"""LegNet (decaylm/models/legnet.py): the shift augmentation, training-only, the position channels, and its
settings' checks."""

import numpy as np
import pytest
import torch

from decaylm.errors import InputError
from decaylm.models import legnet, load_model
from decaylm.models.legnet import LegNet
from decaylm.models.registry import parse_model_spec
from decaylm.models.specs import LegNetArchitecture
from decaylm.sequences import one_hot_batch
from tests.helpers.models import frame, r2


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


def test_position_channels_run_from_each_end_and_only_when_asked():
    x = torch.from_numpy(one_hot_batch(["ACGTA", "TTGCA"])).float()
    place = LegNet.positions(x)
    assert place.shape == (2, 2, 5)
    torch.testing.assert_close(place[1, 0], torch.tensor([0.0, 0.25, 0.5, 0.75, 1.0]))
    torch.testing.assert_close(place[:, 0] + place[:, 1], torch.ones(2, 5))
    assert _net(position=True).body[0].in_channels == 6 and _net().body[0].in_channels == 4
    with pytest.raises(InputError, match="models.LEGNET.position"):
        parse_model_spec("LEGNET", {"kind": "legnet", "position": "yes"})


def _placed_motif_split(n: int = 240, length: int = 60, seed: int = 0):
    """The same motif in every reporter, either at 18-23 (y = 0) or at 36-41 (y = 1): far from both ends
    for a network whose receptive field is 19 nt, so only where the motif sits tells y."""
    rng = np.random.default_rng(seed)
    sequences, y = [], []
    for i in range(n):
        seq = list(rng.choice(list("AT"), length))
        late = i % 2
        start = 36 if late else 18
        seq[start:start + 6] = "GGGCCC"
        sequences.append("".join(seq))
        y.append(late + rng.normal(0, 0.1))
    return frame(sequences, np.asarray(y))


def test_position_lets_legnet_learn_where_a_motif_sits(tmp_path):
    split = _placed_motif_split()
    scores = {}
    for position in (False, True):
        spec = parse_model_spec("LEGNET", {"kind": "legnet", "stem_channels": 8, "block_channels": [8], "expand": 2,
                                           "position": position, "epochs": 6, "patience": 6, "lr": 0.01,
                                           "batch_size": 32, "seed": 1})
        out = tmp_path / str(position)
        out.mkdir()
        legnet.train(split, spec, out)
        scores[position] = r2(split, load_model(out).predict(split["sequence"].tolist()))
    assert scores[True] > 0.8, scores     # told the place, it learns it (and reloads to it)
    assert scores[False] < 0.2, scores    # the same network without it cannot see the place
