"""Repeats (decaylm/repeats.py): each repeat its own job and seed; the model's row is their mean."""

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import r2_score

from decaylm.evaluate import add_intervals, bootstrap_r2, comparison_table, percentile_interval
from decaylm.io import read_tsv
from decaylm.repeats import base_model, repeat_count, repeat_seed, training_jobs
from tests.helpers.snakemake import run_snakemake


def test_jobs_and_seeds(config):
    config["repeats"] = 3
    config["models"]["CNN"]["repeats"] = 2  # a model's own setting wins over the global one
    assert training_jobs(config, "CNN") == ["CNN/repeat1", "CNN/repeat2"]
    assert training_jobs(config, "HYBRID") == ["HYBRID/repeat1", "HYBRID/repeat2", "HYBRID/repeat3"]
    assert training_jobs(config, "KMER_RIDGE") == ["KMER_RIDGE"]  # deterministic: one job
    assert repeat_count(config, "ENSEMBLE") == 1
    assert [repeat_seed(config, job) for job in training_jobs(config, "HYBRID")] == [42, 43, 44]
    config["models"]["HYBRID"]["seed"] = 7
    assert repeat_seed(config, "HYBRID/repeat2") == 8 and repeat_seed(config, "HYBRID") == 7
    assert base_model("HYBRID/repeat3") == "HYBRID"
    config["repeats"] = 1
    assert training_jobs(config, "HYBRID") == ["HYBRID"]  # repeat 1 is the model a run without repeats trains


def test_repeats_are_separate_jobs(tmp_path):
    """`repeats: 3` makes three training jobs per seeded model, which a cluster runs in parallel."""
    out = run_snakemake("-n", "--quiet", "rules", results=tmp_path, config={"repeats": 3}).stdout
    counts = {line.split()[0]: int(line.split()[1]) for line in out.splitlines()
              if len(line.split()) == 2 and line.split()[1].isdigit()}
    assert counts["train_cnn"] == 3 and counts["train_bert"] == 3 * 4  # BERT_BPE, BERT_BPE_MLM, MORPH_D, HYBRID
    assert counts["finetune_pretrained"] == 3 and counts["train_kmer_ridge"] == 1  # DNABERT2 too; ridge once
    assert counts["combine_repeats"] == 6


def test_interval_of_repeats_averages_their_r2():
    rng = np.random.default_rng(0)
    n = 300
    y = rng.normal(size=n)
    split = pd.DataFrame({"id": [f"r{i}" for i in range(n)], "split": "test", "group": np.arange(n) // 3})

    def frame(noise):
        return pd.DataFrame({"id": split["id"], "split": "test", "y_true": y, "y_pred": y + rng.normal(scale=noise, size=n)})

    repeats = [frame(0.8), frame(1.0), frame(0.9)]
    other = frame(0.9)
    point = float(np.mean([r2_score(y, f["y_pred"]) for f in repeats]))
    table = comparison_table([{"model": "R", "r2": point, "status": "ok"},
                              {"model": "O", "r2": r2_score(y, other["y_pred"]), "status": "ok"}])
    out = add_intervals(table, {"R": repeats, "O": other}, split, 400, 0).set_index("model")
    assert out.loc["R", "r2_ci_low"] < point < out.loc["R", "r2_ci_high"]
    # on each resample (the same seeded draws of whole groups) the row's R2 is the mean of its repeats' R2
    columns = np.column_stack([f["y_pred"] for f in repeats] + [other["y_pred"]])
    r2 = bootstrap_r2(y, columns, split["group"], 400, seed=0)
    mean_of_repeats = r2[:, :3].mean(axis=1)
    np.testing.assert_allclose(out.loc["R", ["r2_ci_low", "r2_ci_high"]].astype(float),
                               percentile_interval(mean_of_repeats), rtol=1e-12)
    # not the R2 of their mean prediction (a repeat ensemble, which scores higher)
    ensemble = bootstrap_r2(y, columns[:, :3].mean(axis=1, keepdims=True), split["group"], 400, seed=0)[:, 0]
    assert percentile_interval(ensemble)[0] > out.loc["R", "r2_ci_low"] + 0.01
    # and the paired difference to the other row uses those same per-resample means
    sign, row = (1, "R") if out["r2"].idxmax() == "O" else (-1, "O")
    np.testing.assert_allclose(out.loc[row, ["d_r2_best_ci_low", "d_r2_best_ci_high"]].astype(float),
                               percentile_interval(sign * (mean_of_repeats - r2[:, 3])), rtol=1e-12)


def test_repeats_run(repeats_run):
    cnn = repeats_run / "models" / "CNN"
    runs = [json.loads((cnn / f"repeat{r}" / "run.json").read_text()) for r in (1, 2)]
    assert [run["seed"] for run in runs] == [42, 43]
    frames = [read_tsv(cnn / f"repeat{r}" / "predictions.tsv") for r in (1, 2)]
    assert not np.allclose(frames[0]["y_pred"], frames[1]["y_pred"])  # different seeds, different models
    mean = read_tsv(cnn / "predictions.tsv")
    np.testing.assert_allclose(mean["y_pred"], (frames[0]["y_pred"] + frames[1]["y_pred"]) / 2, rtol=1e-6)

    # the row: mean and spread of the repeats' own test R2
    test_r2 = [r2_score(f.loc[f["split"] == "test", "y_true"], f.loc[f["split"] == "test", "y_pred"]) for f in frames]
    table = read_tsv(repeats_run / "comparison.tsv").set_index("model")
    assert table.loc["CNN", "r2"] == pytest.approx(np.mean(test_r2), abs=1e-5)
    assert table.loc["CNN", "r2_seed_sd"] == pytest.approx(np.std(test_r2, ddof=1), abs=1e-5)
    assert table.loc["CNN", "repeats"] == 2
    repeats = read_tsv(cnn / "repeats.tsv")
    np.testing.assert_allclose(repeats["r2"], test_r2, atol=1e-5)
    # the repeat_ensemble row scores the mean prediction as one model
    test = mean[mean["split"] == "test"]
    assert table.loc["CNN_SEEDS", "r2"] == pytest.approx(r2_score(test["y_true"], test["y_pred"]), abs=1e-5)

    # both folders load on their own and predict the mean of the repeats
    from decaylm.models import load_model

    sequences = mean.merge(read_tsv(repeats_run / "data" / "split.tsv")[["id", "sequence"]], on="id")["sequence"][:20]
    members = [load_model(cnn / f"repeat{r}").predict(list(sequences)) for r in (1, 2)]
    for folder in (cnn, repeats_run / "models" / "CNN_SEEDS"):
        np.testing.assert_allclose(load_model(folder).predict(list(sequences)), np.mean(members, axis=0), rtol=1e-5)
