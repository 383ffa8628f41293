"""The shared training loop: learns, is deterministic, and resumes a killed run to the same result.

Every model keeps one contract with the loop: `model(**batch)` returns `(prediction, loss)`,
the loss None when the batch holds no target (decaylm.models.training.regression_loss for regressors).
The tiny models here keep it too."""

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from decaylm.models.training import CHECKPOINT, TrainConfig, fit, predict, refresh_batch_norm, regression_loss
from tests.helpers.paths import REPO

pytestmark = pytest.mark.usefixtures("one_thread")

# A small regression task: y is a noisy linear function of x.
TRAINER = r"""
import logging, sys, numpy as np, torch
logging.basicConfig(level=logging.INFO)
from torch import nn
from decaylm.models.training import TrainConfig, fit, predict, regression_loss
torch.set_num_threads(1)
rng = np.random.default_rng(0)
x = rng.normal(size=(3000, 16)).astype(np.float32)
w = rng.normal(size=16).astype(np.float32)
y = x @ w + 0.1 * rng.normal(size=3000).astype(np.float32)
items = [{"x": xi, "y": float(yi)} for xi, yi in zip(x, y)]
def collate(batch):
    out = {"x": torch.tensor(np.stack([b["x"] for b in batch]))}
    if "y" in batch[0]:
        out["y"] = torch.tensor([b["y"] for b in batch])
    return out
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(16, 256), nn.Dropout(0.2), nn.ReLU(), nn.Linear(256, 256), nn.BatchNorm1d(256),
                                  nn.ReLU(), nn.Linear(256, 1))
    def forward(self, x, y=None):
        return regression_loss(self.body(x).squeeze(-1), y, 1.0, self.training)
torch.manual_seed(0)
model = Net()
cfg = TrainConfig(epochs=int(sys.argv[2]), batch_size=16, lr=1e-3, patience=100, seed=1, ema_decay=float(sys.argv[3]))
result = fit(model, items[:2500], items[2500:], collate, cfg, sys.argv[1], fingerprint="task")
np.save(sys.argv[1] + "/pred.npy", predict(model, items[2500:], collate))
print("best", result.best_epoch, result.best_valid_loss)
print("history", [(h["epoch"], h["train_loss"], h["valid_loss"]) for h in result.history])
"""


def _run(folder: Path, epochs: int, ema_decay: float = 0.0) -> subprocess.Popen:
    folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-c", TRAINER, str(folder), str(epochs), str(ema_decay)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("ema_decay", [0.0, 0.99])
def test_killed_run_resumes_to_the_same_result(tmp_path, ema_decay):
    epochs = 6
    unbroken = _run(tmp_path / "unbroken", epochs, ema_decay)
    unbroken_out, unbroken_err = unbroken.communicate(timeout=300)
    assert unbroken.returncode == 0, unbroken_err

    killed = _run(tmp_path / "killed", epochs, ema_decay)
    checkpoint = tmp_path / "killed" / CHECKPOINT
    while not checkpoint.exists() and killed.poll() is None:
        time.sleep(0.01)
    killed.send_signal(signal.SIGKILL)  # mid-run, after the first checkpoint
    assert killed.wait(timeout=60) == -signal.SIGKILL
    saved_epoch = torch.load(checkpoint, weights_only=False)["state"]["epoch"]
    assert 1 <= saved_epoch < epochs

    resumed = _run(tmp_path / "killed", epochs, ema_decay)
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    assert f"resumed from {checkpoint} after epoch {saved_epoch}" in err
    np.testing.assert_array_equal(np.load(tmp_path / "unbroken" / "pred.npy"), np.load(tmp_path / "killed" / "pred.npy"))
    assert out == unbroken_out  # best epoch, best loss and every epoch's losses, to the last digit


class _Linear(torch.nn.Module):
    def __init__(self, inputs: int = 2):
        super().__init__()
        self.out = torch.nn.Linear(inputs, 1)

    def forward(self, x, y=None):
        return regression_loss(self.out(x).squeeze(-1), y, 1.0, self.training)


def _collate(batch):
    out = {"x": torch.tensor(np.stack([i["x"] for i in batch]))}
    if "y" in batch[0]:
        out["y"] = torch.tensor([i["y"] for i in batch], dtype=torch.float32)
    return out


def _losses(result):
    return [(h["epoch"], h["train_loss"], h["valid_loss"]) for h in result.history]


def test_checkpoint_of_other_settings_is_not_resumed(tmp_path, caplog):
    items = [{"x": np.array([i / 40, 1.0], dtype=np.float32), "y": float(i) / 10} for i in range(40)]

    def run(folder, fingerprint, lr):
        torch.manual_seed(0)
        model = _Linear()
        result = fit(model, items, items, _collate, TrainConfig(epochs=2, batch_size=8, lr=lr, patience=5), folder,
                     fingerprint=fingerprint)
        return result, model.state_dict()

    run(tmp_path / "shared", "a", 0.1)  # leaves the checkpoint of a finished run of other settings
    fresh, fresh_weights = run(tmp_path / "fresh", "b", 0.01)
    with caplog.at_level(logging.INFO, logger="decaylm.models.training"):
        caplog.clear()
        other, other_weights = run(tmp_path / "shared", "b", 0.01)
        assert "ignoring" in caplog.text and "resumed" not in caplog.text
        # started over: the same epochs, losses and weights as in an empty folder
        assert _losses(other) == _losses(fresh)
        for key in fresh_weights:
            torch.testing.assert_close(other_weights[key], fresh_weights[key], rtol=0, atol=0)
        # while the same fingerprint does resume (the checkpoint of "b" is finished: nothing is trained again)
        caplog.clear()
        again, again_weights = run(tmp_path / "shared", "b", 0.01)
        assert "resumed from" in caplog.text and "after epoch 2" in caplog.text
        assert again.history == other.history
        for key in fresh_weights:
            torch.testing.assert_close(again_weights[key], fresh_weights[key], rtol=0, atol=0)


class _Echo(torch.nn.Module):
    """Predicts the length it is given; its loss is None without a target, as the contract says."""

    def forward(self, n, y=None):
        return regression_loss(n, y, 1.0, self.training)


def test_predict_keeps_input_order():
    items = [{"input_ids": np.ones(n, dtype=np.int64), "y": -1.0} for n in (5, 1, 9, 3, 5, 5)]
    seen = []

    def collate(batch):
        seen.append([len(i["input_ids"]) for i in batch])
        return {"n": torch.tensor([float(len(i["input_ids"])) for i in batch]), "y": torch.tensor([i["y"] for i in batch])}

    assert predict(_Echo(), items, collate, batch_size=2).tolist() == [5, 1, 9, 3, 5, 5]
    # batches sorted by length, each of one length (nothing padded); the output put back in order
    assert seen == [[1], [3], [5, 5], [5], [9]]


def test_regression_loss_is_none_without_a_target():
    out = torch.tensor([1.0, 2.0])
    prediction, loss = regression_loss(out, None, 1.0, True)
    assert loss is None and torch.equal(prediction, out)
    prediction, loss = regression_loss(out, torch.tensor([1.0, 4.0]), 1.0, False)
    assert float(loss) == pytest.approx(2.0)


def _linear_task(n: int = 400, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.normal(3.0, 2.0, size=(n, 4)).astype(np.float32)
    items = [{"x": xi, "y": float(xi.sum())} for xi in x]
    return x, items, _collate


class _Normed(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.norm, self.out = torch.nn.BatchNorm1d(4), torch.nn.Linear(4, 1)

    def forward(self, x, y=None):
        return regression_loss(self.out(self.norm(x)).squeeze(-1), y, 1.0, self.training)


def test_refresh_batch_norm_sets_the_statistics_of_the_data():
    x, items, collate = _linear_task()
    model = _Normed()
    refresh_batch_norm(model, items, collate, batch_size=100, device=torch.device("cpu"))
    np.testing.assert_allclose(model.norm.running_mean.numpy(), x.mean(0), rtol=1e-5)
    np.testing.assert_allclose(model.norm.running_var.numpy(), x.var(0, ddof=1), rtol=0.02)
    assert model.norm.momentum == 0.1  # restored for training


def test_moving_average_is_the_model_validated_and_returned(tmp_path):
    x, items, collate = _linear_task()
    y = np.array([i["y"] for i in items[300:]], dtype=np.float32)
    losses = {}
    for ema_decay in (0.0, 0.9):
        torch.manual_seed(0)
        model = _Normed()
        cfg = TrainConfig(epochs=3, batch_size=10, lr=0.05, ema_decay=ema_decay, patience=5)
        result = fit(model, items[:300], items[300:], collate, cfg, tmp_path / str(ema_decay))
        losses[ema_decay] = float(np.mean((predict(model, items[300:], collate) - y) ** 2))
        assert losses[ema_decay] == pytest.approx(result.best_valid_loss, rel=1e-5)  # validated = returned
        saved = torch.load(tmp_path / str(ema_decay) / CHECKPOINT, weights_only=False)
        assert result.best_epoch == cfg.epochs  # so the returned weights are those of the last checkpoint
        returned = model.state_dict()
        if ema_decay:
            # the average, not the last weights: the checkpoint keeps both
            average = {k[len("module."):]: v for k, v in saved["ema"].items() if k.startswith("module.")}
            assert average.keys() == returned.keys()
            for key in ("out.weight", "out.bias"):
                torch.testing.assert_close(returned[key], average[key], rtol=0, atol=0)
                assert not torch.equal(returned[key], saved["model"][key])
        else:
            assert saved["ema"] is None
            for key in returned:
                torch.testing.assert_close(returned[key], saved["model"][key], rtol=0, atol=0)
    assert losses[0.0] != losses[0.9]  # the average is a different model from the last weights
