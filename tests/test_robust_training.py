"""Robust training (decaylm/models/training.py): what fit validates, keeps and returns is the model as
inference sees it. BatchNorm statistics are recomputed on training data before each validation, with
dropout off, instead of the running averages of training mode (which lag the weights and
carry dropout's extra variance); see docs/training.md for the evidence on the real data."""

import numpy as np
import pytest
import torch
from torch import nn

from decaylm.models import training
from decaylm.models.training import TrainConfig, fit, predict, refresh_batch_norm, regression_loss, validation_loss

pytestmark = pytest.mark.usefixtures("one_thread")
CPU = torch.device("cpu")


def _collate(batch):
    out = {"x": torch.tensor(np.stack([i["x"] for i in batch]))}
    if "y" in batch[0]:
        out["y"] = torch.tensor([i["y"] for i in batch], dtype=torch.float32)
    return out


def _task(n: int = 600, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.normal(2.0, 3.0, size=(n, 8)).astype(np.float32)
    w = rng.normal(size=8).astype(np.float32)
    return x, [{"x": xi, "y": float(xi @ w)} for xi in x]


class _DropThenNorm(nn.Module):
    """Dropout before a BatchNorm: train-mode statistics see dropout's extra variance."""

    def __init__(self, p: float = 0.5):
        super().__init__()
        self.drop, self.norm, self.out = nn.Dropout(p), nn.BatchNorm1d(8), nn.Linear(8, 1)

    def forward(self, x, y=None):
        return regression_loss(self.out(self.norm(self.drop(x))).squeeze(-1), y, 1.0, self.training)


def test_refresh_batch_norm_takes_statistics_with_dropout_off():
    x, items = _task()
    torch.manual_seed(0)
    model = _DropThenNorm(p=0.5)
    model.train()
    refresh_batch_norm(model, items, _collate, batch_size=50, device=CPU)
    # the statistics of the inputs themselves: dropout (p=0.5) would have doubled the second moment
    np.testing.assert_allclose(model.norm.running_mean.numpy(), x.mean(0), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(model.norm.running_var.numpy(), x.var(0, ddof=1), rtol=0.02)
    assert model.training and model.drop.training and model.norm.momentum == 0.1  # mode and momentum restored
    model.eval()
    refresh_batch_norm(model, items, _collate, batch_size=50, device=CPU)
    assert not model.training and not model.norm.training


def test_refresh_batch_norm_leaves_a_model_without_norms_alone():
    _, items = _task(50)
    model = nn.Linear(8, 1)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    refresh_batch_norm(model, items, _collate, batch_size=10, device=CPU)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_fit_validates_and_returns_statistics_of_the_weights(tmp_path):
    """Each validation sees BatchNorm statistics recomputed for the current weights: the returned
    model's statistics are those of a fresh refresh on the training data, and its valid loss is
    the best one fit reported, recomputed from its predictions."""
    x, items = _task()
    train_items, valid_items = items[:500], items[500:]
    torch.manual_seed(0)
    model = _DropThenNorm(p=0.3)
    cfg = TrainConfig(epochs=4, batch_size=16, lr=0.05, patience=10, seed=3)
    result = fit(model, train_items, valid_items, _collate, cfg, tmp_path)
    kept = {k: v.clone() for k, v in model.state_dict().items()}
    refresh_batch_norm(model, train_items, _collate, batch_size=64, device=CPU)
    torch.testing.assert_close(kept["norm.running_mean"], model.norm.running_mean, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(kept["norm.running_var"], model.norm.running_var, rtol=1e-4, atol=1e-5)
    y = np.array([i["y"] for i in valid_items], dtype=np.float32)
    assert float(np.mean((predict(model, valid_items, _collate) - y) ** 2)) == pytest.approx(result.best_valid_loss,
                                                                                         rel=1e-4)


def test_fit_recomputes_statistics_on_a_fixed_subset_of_large_training_sets(tmp_path, monkeypatch):
    _, items = _task(300)
    seen = []
    real = training.refresh_batch_norm

    def spy(model, refresh_items, *args, **kwargs):
        seen.append(sorted(id(i) for i in refresh_items))
        return real(model, refresh_items, *args, **kwargs)

    monkeypatch.setattr(training, "refresh_batch_norm", spy)
    monkeypatch.setattr(training, "BN_REFRESH_ITEMS", 100)
    torch.manual_seed(0)
    fit(_DropThenNorm(), items[:250], items[250:], _collate, TrainConfig(epochs=3, batch_size=25, patience=10),
        tmp_path)
    assert len(seen) == 3 and len(seen[0]) == 100 and seen[0] == seen[1] == seen[2]
    assert set(seen[0]) <= {id(i) for i in items[:250]}  # training items only, never valid


def test_validation_of_a_model_with_batch_norm_matches_eval_mode_after_refresh():
    """validation_loss itself stays plain eval mode: the refresh is fit's business."""
    _, items = _task(200)
    torch.manual_seed(0)
    model = _DropThenNorm()
    refresh_batch_norm(model, items, _collate, batch_size=50, device=CPU)
    loss = validation_loss(model, items, _collate, 64, CPU)
    y = np.array([i["y"] for i in items], dtype=np.float32)
    assert loss == pytest.approx(float(np.mean((predict(model, items, _collate) - y) ** 2)), rel=1e-5)
