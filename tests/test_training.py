"""The shared training loop: learns, is deterministic, and resumes a killed run to the same result."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from decaylm.training import CHECKPOINT, TrainConfig, batch_order, fit, predict, refresh_batch_norm

# A small regression task: y is a noisy linear function of x.
TRAINER = r"""
import logging, sys, numpy as np, torch
logging.basicConfig(level=logging.INFO)
from torch import nn
from decaylm.training import TrainConfig, fit, predict
torch.set_num_threads(1)
rng = np.random.default_rng(0)
x = rng.normal(size=(3000, 16)).astype(np.float32)
w = rng.normal(size=16).astype(np.float32)
y = x @ w + 0.1 * rng.normal(size=3000).astype(np.float32)
items = [{"x": xi, "y": float(yi)} for xi, yi in zip(x, y)]
def collate(batch):
    return {"x": torch.tensor(np.stack([b["x"] for b in batch])), "y": torch.tensor([b["y"] for b in batch])}
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(16, 256), nn.Dropout(0.2), nn.ReLU(), nn.Linear(256, 256), nn.BatchNorm1d(256),
                                  nn.ReLU(), nn.Linear(256, 1))
    def forward(self, x):
        return self.body(x).squeeze(-1)
torch.manual_seed(0)
model = Net()
cfg = TrainConfig(epochs=int(sys.argv[2]), batch_size=16, lr=1e-3, patience=100, seed=1, ema_decay=float(sys.argv[3]))
result = fit(model, items[:2500], items[2500:], collate, cfg, sys.argv[1], fingerprint="task")
np.save(sys.argv[1] + "/pred.npy", predict(model, items[2500:], collate))
print("best", result.best_epoch, result.best_valid_loss)
"""


def _run(folder: Path, epochs: int, ema_decay: float = 0.0) -> subprocess.Popen:
    folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    return subprocess.Popen([sys.executable, "-c", TRAINER, str(folder), str(epochs), str(ema_decay)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("ema_decay", [0.0, 0.99])
def test_killed_run_resumes_to_the_same_result(tmp_path, ema_decay):
    epochs = 6
    unbroken = _run(tmp_path / "unbroken", epochs, ema_decay)
    assert unbroken.wait(timeout=300) == 0, unbroken.stderr.read()

    killed = _run(tmp_path / "killed", epochs, ema_decay)
    checkpoint = tmp_path / "killed" / CHECKPOINT
    while not checkpoint.exists() and killed.poll() is None:
        time.sleep(0.01)
    killed.send_signal(signal.SIGKILL)  # mid-run, after the first checkpoint
    assert killed.wait(timeout=60) == -signal.SIGKILL
    saved_epoch = torch.load(checkpoint, weights_only=False)["state"]["epoch"]
    assert saved_epoch < epochs

    resumed = _run(tmp_path / "killed", epochs, ema_decay)
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    assert f"resumed from {checkpoint} after epoch {saved_epoch}" in err
    np.testing.assert_array_equal(np.load(tmp_path / "unbroken" / "pred.npy"), np.load(tmp_path / "killed" / "pred.npy"))
    assert out == unbroken.stdout.read()


def test_checkpoint_of_other_settings_is_not_resumed(tmp_path):
    items = [{"x": np.ones(2, dtype=np.float32) * i, "y": float(i)} for i in range(40)]
    collate = lambda b: {"x": torch.tensor(np.stack([i["x"] for i in b])), "y": torch.tensor([i["y"] for i in b])}
    model = torch.nn.Sequential(torch.nn.Linear(2, 1), torch.nn.Flatten(0))
    wrapped = _Wrap(model)
    fit(wrapped, items, items, collate, TrainConfig(epochs=2, batch_size=8), tmp_path, fingerprint="a")
    result = fit(wrapped, items, items, collate, TrainConfig(epochs=2, batch_size=8), tmp_path, fingerprint="b")
    assert [h["epoch"] for h in result.history] == [1, 2]  # started over, did not resume "a"


class _Wrap(torch.nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return self.inner(x)


def test_batches_cover_every_item_once_and_group_similar_lengths():
    rng = np.random.default_rng(0)
    lengths = list(rng.integers(5, 200, size=1000))
    batches = batch_order(lengths, 32, np.random.default_rng(1))
    assert sorted(np.concatenate(batches).tolist()) == list(range(1000))
    padding = sum(max(lengths[i] for i in b) * len(b) - sum(lengths[i] for i in b) for b in batches)
    shuffled = np.random.default_rng(2).permutation(1000)
    naive = sum(max(lengths[i] for i in b) * len(b) - sum(lengths[i] for i in b)
                for b in np.array_split(shuffled, len(batches)))
    assert padding < naive / 5


def test_predict_keeps_input_order():
    items = [{"input_ids": [1] * n, "y": float(n)} for n in (5, 1, 9, 3)]
    collate = lambda b: {"n": torch.tensor([float(len(i["input_ids"])) for i in b])}
    model = _Wrap(torch.nn.Identity())
    model.forward = lambda n: n
    assert predict(model, items, collate, batch_size=2).tolist() == [5, 1, 9, 3]


def _linear_task(n: int = 400, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.normal(3.0, 2.0, size=(n, 4)).astype(np.float32)
    items = [{"x": xi, "y": float(xi.sum())} for xi in x]
    collate = lambda b: {"x": torch.tensor(np.stack([i["x"] for i in b])), "y": torch.tensor([i["y"] for i in b])}
    return x, items, collate


class _Normed(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.norm, self.out = torch.nn.BatchNorm1d(4), torch.nn.Linear(4, 1)

    def forward(self, x):
        return self.out(self.norm(x)).squeeze(-1)


def test_refresh_batch_norm_sets_the_statistics_of_the_data():
    x, items, collate = _linear_task()
    model = _Normed()
    refresh_batch_norm(model, items, collate, batch_size=100, device=torch.device("cpu"))
    np.testing.assert_allclose(model.norm.running_mean.numpy(), x.mean(0), rtol=1e-5)
    np.testing.assert_allclose(model.norm.running_var.numpy(), x.var(0, ddof=1), rtol=0.02)
    assert model.norm.momentum == 0.1  # restored for training


def test_moving_average_is_the_model_validated_and_returned(tmp_path):
    x, items, collate = _linear_task()
    losses = {}
    for ema_decay in (0.0, 0.9):
        torch.manual_seed(0)
        model = _Normed()
        result = fit(model, items[:300], items[300:], collate, TrainConfig(epochs=3, batch_size=10, lr=0.05, ema_decay=ema_decay),
                     tmp_path / str(ema_decay))
        y = np.array([i["y"] for i in items[300:]], dtype=np.float32)
        losses[ema_decay] = float(np.mean((predict(model, items[300:], collate) - y) ** 2))
        assert losses[ema_decay] == pytest.approx(result.best_valid_loss, rel=1e-5)
    assert losses[0.0] != losses[0.9]  # the average is a different model from the last weights
