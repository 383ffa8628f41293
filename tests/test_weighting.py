"""Weighting the training loss by each reporter's sampling variance (`weighting: reads`): the variance from
resampled reads (decaylm/noise.py, rule target_variance), the weights and the weighted loss
(decaylm/models/training.py), their way through the items, the models and the pipeline, and the refusals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from decaylm.errors import InputError
from decaylm.io import read_json, read_tsv, write_tsv
from decaylm.models import cnn
from decaylm.models.batching import collate_one_hot, one_hot_items, targets, with_weights
from decaylm.models.registry import parse_model_spec
from decaylm.models.training import predict, reads_weights, regression_loss
from decaylm.noise import target_variance
from decaylm.sources import RawCounts
from tests.helpers.data import small_table
from tests.helpers.configs import ConfigRefused, one_model_config, workflow_config, write_config
from tests.helpers.models import TINY_TRAINING, planted_split
from tests.helpers.paths import HOURS
from tests.helpers.snakemake import run_snakemake

TINY_CNN = {"kind": "cnn", "channels": 8, **TINY_TRAINING}


def _variance_table(path, split: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """A variance table for the split's reporters, in shuffled order, spread over two orders of magnitude;
    returned as written (6 digits), by id."""
    rng = np.random.default_rng(seed)
    table = pd.DataFrame({"id": split["id"], "y_var": 10 ** rng.uniform(-2.5, 0, len(split))}).sample(frac=1, random_state=1)
    write_tsv(table, path)
    return read_tsv(path).set_index("id")


# ---------------------------------------------------------------------------------------------
# the loss and the weights

def test_the_weighted_loss_is_the_hand_computed_weighted_mse():
    rng = np.random.default_rng(0)
    out, y, w = (torch.tensor(rng.normal(size=(6, 3)), dtype=torch.float32) for _ in range(3))
    w = w.abs()
    aux_weight = 0.5
    # one output: mean of w * squared error
    _, loss = regression_loss(out[:, 0], y[:, 0], aux_weight, training=True, w=w[:, 0])
    expected = np.mean(w[:, 0].numpy() * (out[:, 0].numpy() - y[:, 0].numpy()) ** 2)
    assert float(loss) == pytest.approx(expected, rel=1e-6)
    # auxiliary outputs weighted per item alike
    prediction, loss = regression_loss(out, y, aux_weight, training=True, w=w[:, 0])
    squared, weight = (out.numpy() - y.numpy()) ** 2, w[:, 0].numpy()
    expected = np.mean(weight * squared[:, 0]) + aux_weight * np.mean(weight[:, None] * squared[:, 1:])
    assert float(loss) == pytest.approx(expected, rel=1e-6)
    assert torch.equal(prediction, out[:, 0])
    # weights of 1 give the plain MSE; validation (eval mode) is unweighted whatever it is given
    _, ones = regression_loss(out, y, aux_weight, training=True, w=torch.ones(6))
    _, plain = regression_loss(out, y, aux_weight, training=True)
    assert float(ones) == pytest.approx(float(plain), rel=1e-6)
    _, valid = regression_loss(out, y, aux_weight, training=False, w=w[:, 0])
    assert float(valid) == pytest.approx(np.mean(squared[:, 0]), rel=1e-6)


def test_weights_are_inverse_variance_plus_floor_with_mean_one(tmp_path):
    split = planted_split(n=60)
    table = _variance_table(tmp_path / "variance.tsv", split)
    train = split[split["split"] == "train"].reset_index(drop=True)
    spec = parse_model_spec("W", {**TINY_CNN, "weighting": "reads", "variance_floor": 0.05})
    weights = reads_weights(train, tmp_path / "variance.tsv", spec.training, "models.W")
    raw = 1 / (0.05 + table.loc[train["id"], "y_var"].to_numpy())
    np.testing.assert_allclose(weights, raw / raw.mean(), rtol=1e-6)  # in the frame's order, not the table's
    assert weights.mean() == pytest.approx(1.0, rel=1e-6)
    assert weights.max() / weights.min() > 5
    assert reads_weights(train, tmp_path / "variance.tsv", parse_model_spec("U", TINY_CNN).training, "models.U") is None
    with pytest.raises(InputError, match=r"^models\.W\.weighting: reads needs the target's variance table"):
        reads_weights(train, None, spec.training, "models.W")
    write_tsv(table.reset_index().iloc[1:], tmp_path / "short.tsv")
    with pytest.raises(InputError, match="has no y_var"):
        reads_weights(table.reset_index().iloc[:1], tmp_path / "short.tsv", spec.training, "models.W")


@pytest.mark.parametrize("entry, message", [
    ({**TINY_CNN, "weighting": "depth"}, r"^models\.M\.weighting: 'depth' is not allowed \(use one of \['none', 'reads'\]\)$"),
    ({**TINY_CNN, "weighting": "reads", "variance_floor": 0}, r"^models\.M\.variance_floor: 0\.0 is not > 0"),
    ({"kind": "pretrained", "weighting": "reads"}, r"^models\.M\.weighting: kind pretrained does not weight its loss"),
    ({"kind": "kmer_ridge", "weighting": "reads"}, r"^models\.M\.weighting: not a key of kind kmer_ridge"),
])
def test_bad_weighting_settings_are_one_line_errors(entry, message):
    with pytest.raises(InputError, match=message):
        parse_model_spec("M", entry)


# ---------------------------------------------------------------------------------------------
# the items and the models

def test_weights_reach_the_loss_of_cnn_legnet_and_bert_forward_passes(tmp_path, one_thread):
    """collate -> forward -> loss: a training batch's loss is the weighted MSE of the same pass's predictions."""
    from decaylm.models.bert import build_model
    from decaylm.models.legnet import LegNet
    from decaylm.models.batching import TokenBatches, encode, token_items
    from decaylm.tokenizers import train_tokenizer

    split = planted_split(n=16)
    y, w = targets(split), np.linspace(0.2, 1.8, len(split)).astype(np.float32)
    tokenizer = train_tokenizer({"kind": "nucleotide"}, split["sequence"].tolist(), y, tmp_path / "nt", seed=0)
    bert = build_model(parse_model_spec("B", {"kind": "bert", "tokenizer": "nt", "layers": 1, "hidden": 16, "heads": 2,
                                              "intermediate": 32}).architecture, tokenizer)
    one_hot_batch = collate_one_hot(with_weights(one_hot_items(split["sequence"], y), w))
    legnet_spec = {"kind": "legnet", "stem_channels": 8, "block_channels": [8], "expand": 2, "dropout": 0.0}
    cases = {"cnn": (cnn.CNN(parse_model_spec("C", TINY_CNN).architecture), one_hot_batch),
             "legnet": (LegNet(parse_model_spec("L", legnet_spec).architecture), one_hot_batch),
             "bert": (bert, TokenBatches(tokenizer.pad_token_id)(with_weights(token_items(
                 encode(tokenizer, split["sequence"], 64), y), w)))}
    for name, (model, batch) in cases.items():
        assert torch.equal(batch["w"], torch.from_numpy(w)), name
        model.train()
        prediction, loss = model(**batch)
        expected = np.mean(w * (prediction.detach().numpy() - y) ** 2)
        assert float(loss.detach()) == pytest.approx(expected, rel=1e-5), name
        assert abs(float(loss.detach()) - np.mean((prediction.detach().numpy() - y) ** 2)) > 1e-4, name  # weights mattered


def test_a_weighted_cnn_weighs_training_items_only_and_validates_unweighted(tmp_path, one_thread):
    """Through the job's entry point: every training item carries its weight, no valid item does, and the
    valid loss that picked the epoch is the plain MSE of the saved model's valid predictions."""
    split = planted_split(n=120)
    _variance_table(tmp_path / "variance.tsv", split)
    spec = parse_model_spec("W", {**TINY_CNN, "epochs": 2, "weighting": "reads"})
    seen = {}
    real_fit = cnn.fit

    def recording_fit(model, train_items, valid_items, *args, **kwargs):
        seen.update(train=train_items, valid=valid_items)
        return real_fit(model, train_items, valid_items, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cnn, "fit", recording_fit)
        cnn.train(split, spec, tmp_path / "model", variance_path=str(tmp_path / "variance.tsv"))
    train = split[split["split"] == "train"].reset_index(drop=True)
    expected = reads_weights(train, tmp_path / "variance.tsv", spec.training, "models.W")
    np.testing.assert_allclose([item["w"] for item in seen["train"]], expected, rtol=1e-6)
    assert not any("w" in item for item in seen["valid"])
    from decaylm.models import load_model

    model = load_model(tmp_path / "model")
    valid = split[split["split"] == "valid"]
    record = read_json(tmp_path / "model" / "training.json")
    best = next(epoch for epoch in record["history"] if epoch["epoch"] == record["best_epoch"])
    plain = np.mean((model.predict(valid["sequence"].tolist()) - valid["y"].to_numpy()) ** 2)
    assert best["valid_loss"] == pytest.approx(plain, rel=1e-4)
    assert record["training"]["weighting"] == "reads"
    # the in-memory module predicts the same as the saved one (weights touch the loss only)
    np.testing.assert_allclose(predict(model.module, one_hot_items(valid["sequence"]), collate_one_hot),
                               model.predict(valid["sequence"].tolist()), atol=1e-6)


# ---------------------------------------------------------------------------------------------
# the variance from the reads

def _two_depths(n: int = 400, alpha: float = 0.02, seed: int = 0) -> tuple[RawCounts, np.ndarray]:
    """Negative-binomial reads of reporters alternately deep (1000 reads at 0 h) and shallow (30), decaying
    after 4 h; spike-ins constant. Returns the counts and each reporter's mean reads."""
    rng = np.random.default_rng(seed)
    t = np.array(HOURS, dtype=float)
    depth = np.where(np.arange(n) % 2 == 0, 1000.0, 30.0)
    mu = depth[:, None] * 2.0 ** (-rng.uniform(0, 0.5, n)[:, None] * np.maximum(0, t - 4))
    counts = rng.negative_binomial(1 / alpha, (1 / alpha) / (1 / alpha + mu))
    ids = [f"R{i}" for i in range(n)]
    spikes = pd.DataFrame(rng.poisson(np.full((3, len(t)), 5000.0)), index=[f"SPIKE_{i}" for i in range(3)],
                          columns=HOURS)
    return RawCounts(reporters=pd.DataFrame(counts, index=ids, columns=HOURS), spikes=spikes,
                     sequences=pd.Series("ACGT", index=ids)), mu


def test_shallow_reporters_have_the_larger_variance_whatever_the_target():
    """Difference target: y_var agrees with the delta method's (1/mu_2 + 1/mu_8 + 2 alpha) / ln(2)^2 within
    15% in each group's median (measured: 3%); shallow reporters' is several times the deep ones'. The
    kinetic rate follows target.kind and orders the groups alike."""
    raw, mu = _two_depths()
    deep, shallow = slice(0, None, 2), slice(1, None, 2)
    data = {"pseudocount": 1}
    table = target_variance(raw, raw.reporters.index, data, {"kind": "difference", "from_hour": 2, "to_hour": 8},
                            n_resamples=50, seed=0)
    assert list(table["id"]) == list(raw.reporters.index)
    y_var = table["y_var"].to_numpy()
    delta = (1 / mu[:, 2] + 1 / mu[:, 8] + 2 * 0.02) / np.log(2) ** 2
    for group in (deep, shallow):
        assert np.median(y_var[group]) == pytest.approx(np.median(delta[group]), rel=0.15)
    assert np.median(y_var[shallow]) > 3 * np.median(y_var[deep])
    kinetic = target_variance(raw, raw.reporters.index, data, {"kind": "kinetic", "from_hour": 0, "to_hour": 12},
                              n_resamples=20, seed=0)["y_var"].to_numpy()
    assert np.median(kinetic[shallow]) > 2 * np.median(kinetic[deep])
    assert not np.allclose(kinetic, y_var)


# ---------------------------------------------------------------------------------------------
# the pipeline

def test_a_weighted_model_through_the_pipeline(tmp_path):
    """Simulated data: the variance table of every reporter of the split, and a tiny CNN trained on it."""
    config = one_model_config({"CNN_W": {**TINY_CNN, "weighting": "reads"}},
                              data={"simulate": {"n_reporters": 200, "seed": 3}}, predict={"models": []})
    results = tmp_path / "results"
    done = run_snakemake(str(results / "models" / "CNN_W" / "predictions.tsv"), results=results,
                         configfiles=(write_config(tmp_path / "config.yaml", config),), timeout=300)
    assert "rule target_variance" in done.stdout + done.stderr
    split, table = read_tsv(results / "data" / "split.tsv"), read_tsv(results / "data" / "target_variance.tsv")
    assert list(table["id"]) == list(split["id"]) and (table["y_var"] > 0).all()
    assert "target variance of" in (results / "logs" / "target_variance.log").read_text()
    assert read_json(results / "models" / "CNN_W" / "run.json")["status"] == "ok"
    assert "weighting: reads" in (results / "logs" / "train" / "CNN_W.log").read_text()
    predictions = read_tsv(results / "models" / "CNN_W" / "predictions.tsv")
    assert len(predictions) == len(split) and predictions["y_pred"].notna().all()


def test_weighting_by_reads_is_refused_for_table_data(tmp_path):
    """`table` data has no reads: the run stops at start-up with one line naming the key."""
    folder = small_table(tmp_path / "table")
    config = one_model_config({"CNN_W": {**TINY_CNN, "weighting": "reads"}},
                              data={"source": "table", "expression": str(folder / "expression.csv"),
                                    "sequences": str(folder / "sequences.csv")},
                              target={"from_hour": 1, "to_hour": 6}, predict={"models": []})
    workflow_config(config)  # the entry itself is valid: the refusal is the data's
    done = run_snakemake("-n", results=tmp_path / "results",
                         configfiles=(write_config(tmp_path / "config.yaml", config),), check=False)
    assert done.returncode != 0
    output = done.stdout + done.stderr
    line = next(line for line in output.splitlines() if "config error" in line)
    assert "models.CNN_W.weighting: reads needs read counts, and data.source 'table' has none" in line
    assert "Traceback" not in output


def test_the_entry_check_accepts_weighting_by_reads():
    config = workflow_config(one_model_config({"CNN_W": {**TINY_CNN, "weighting": "reads", "variance_floor": 0.2}}))
    assert config["models"]["CNN_W"]["weighting"] == "reads"
    with pytest.raises(ConfigRefused, match=r"^config error: models\.CNN_W\.weighting: 'yes' is not allowed"):
        workflow_config(one_model_config({"CNN_W": {**TINY_CNN, "weighting": "yes"}}))
