"""The comparison's uncertainty: grouped-bootstrap intervals, paired differences to the best row, and
the noise ceiling from the reads (decaylm/evaluate.py, decaylm/noise.py, rule noise_ceiling)."""

import json
import runpy
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import yaml

from decaylm.evaluate import (
    add_ceiling,
    add_intervals,
    bootstrap_r2,
    comparison_markdown,
    comparison_table,
    group_resample_weights,
    ordered_columns,
    percentile_interval,
    plot_intervals,
    regression_metrics,
)
from decaylm.noise import estimate_dispersion, noise_ceiling, not_computed
from decaylm.simulate import config_from_params, simulate, write_outputs
from decaylm.sources import read_utrseq
from tests.conftest import HOURS


def _grouped_draw(rng, n_groups=120, group_sd=0.5, noise_sd=0.5):
    """A test set of whole groups (1-4 rows) whose rows share a group effect; the prediction is the signal.
    The population R2 of that prediction is 1 - (group_sd^2 + noise_sd^2) / (1 + group_sd^2 + noise_sd^2)."""
    sizes = rng.integers(1, 5, size=n_groups)
    groups = np.repeat(np.arange(n_groups), sizes)
    signal = rng.standard_normal(len(groups))
    y = signal + group_sd * rng.standard_normal(n_groups)[groups] + noise_sd * rng.standard_normal(len(groups))
    return y, signal, groups


def test_the_interval_covers_the_true_r2_about_95_percent_of_the_time():
    rng = np.random.default_rng(0)
    true_r2 = 1 - 0.5 / 1.5
    draws = 200
    covered = 0
    for draw in range(draws):
        y, prediction, groups = _grouped_draw(rng)
        low, high = percentile_interval(bootstrap_r2(y, prediction[:, None], groups, 1000, seed=draw))
        covered += bool(low[0] <= true_r2 <= high[0])
    assert 0.90 <= covered / draws <= 0.99, covered / draws


def test_the_coverage_comes_from_resampling_whole_groups():
    """Larger groups (2-8 rows) with a strong shared effect: the grouped interval still covers the true
    R2 in 90-99% of 200 draws, while a bootstrap of single rows (each row its own group), blind to the
    within-group correlation of the errors, is too narrow and covers it less often than 90%."""
    rng = np.random.default_rng(0)
    group_sd, noise_sd = 0.8, 0.3
    true_r2 = 1 - (group_sd**2 + noise_sd**2) / (1 + group_sd**2 + noise_sd**2)
    draws = 200
    covered = {"grouped": 0, "rows": 0}
    for draw in range(draws):
        groups = np.repeat(np.arange(60), rng.integers(2, 9, size=60))
        prediction = rng.standard_normal(len(groups))
        y = prediction + group_sd * rng.standard_normal(60)[groups] + noise_sd * rng.standard_normal(len(groups))
        for kind, labels in (("grouped", groups), ("rows", np.arange(len(y)))):
            low, high = percentile_interval(bootstrap_r2(y, prediction[:, None], labels, 1000, seed=draw))
            covered[kind] += bool(low[0] <= true_r2 <= high[0])
    rate = {kind: count / draws for kind, count in covered.items()}
    assert 0.90 <= rate["grouped"] <= 0.99 and rate["rows"] < 0.90, rate


def test_resamples_draw_whole_groups():
    groups = np.array([7, 7, 7, 3, 3, 9, 1, 1, 1, 1, 4])
    weights = group_resample_weights(groups, 500, seed=1)
    assert weights.shape == (500, len(groups))
    for label in np.unique(groups):
        rows = weights[:, groups == label]
        assert (rows == rows[:, :1]).all()  # a group's rows come and go together
    n_groups = len(np.unique(groups))
    per_group = np.stack([weights[:, groups == g][:, 0] for g in np.unique(groups)], axis=1)
    assert (per_group.sum(axis=1) == n_groups).all()  # as many group draws as groups
    assert (weights == np.round(weights)).all() and (weights >= 0).all()
    assert np.array_equal(weights, group_resample_weights(groups, 500, seed=1))  # seeded
    # the weighted R2 is the R2 of the resample written out row by row
    rng = np.random.default_rng(2)
    y, p = rng.standard_normal(len(groups)), rng.standard_normal(len(groups))
    r2 = bootstrap_r2(y, p[:, None], groups, 5, seed=1)[:, 0]
    for b in range(5):
        rows = np.repeat(np.arange(len(groups)), weights[b].astype(int))
        assert r2[b] == pytest.approx(regression_metrics(y[rows], p[rows])["r2"])


def _table_of(predictions: dict[str, np.ndarray], y, groups, n_resamples=1000):
    ids = [f"r{i}" for i in range(len(y))]
    split = pd.DataFrame({"id": ids, "split": "test", "group": groups})
    frames = {m: pd.DataFrame({"id": ids, "split": "test", "y_true": y, "y_pred": p}) for m, p in predictions.items()}
    metrics = [{"model": m, **regression_metrics(y, p), "status": "ok", "valid_r2": 0.5} for m, p in predictions.items()]
    metrics.append({"model": "DNABERT2", "status": "not run: weights offline"})
    return add_intervals(comparison_table(metrics), frames, split, n_resamples, seed=0)


def test_tied_with_best_follows_the_paired_interval():
    rng = np.random.default_rng(3)
    y, signal, groups = _grouped_draw(rng, n_groups=300)
    best = signal + 0.3 * rng.standard_normal(len(y))
    near = best + 0.02 * rng.standard_normal(len(y))  # nearly the same predictions: cannot be told apart
    worse = signal + 1.0 * rng.standard_normal(len(y))
    table = ordered_columns(add_ceiling(_table_of({"NEAR": near, "BEST": best, "WORSE": worse}, y, groups),
                                        {"status": "ok", "r2_ceiling": 0.8, "r2_ceiling_poisson": 0.9, "dispersion": 0.02,
                                         "n_test": len(y), "n_resamples": 200}))
    rows = table.set_index("model")
    assert table["model"].iloc[0] in ("BEST", "NEAR") and table["model"].iloc[-1] == "DNABERT2"
    top = table["model"].iloc[0]
    assert rows.loc[top, "d_r2_best"] == 0 and rows.loc[top, "tied_with_best"]
    assert rows.loc["WORSE", "d_r2_best"] < 0 and rows.loc["WORSE", "d_r2_best_ci_high"] < 0
    assert not rows.loc["WORSE", "tied_with_best"]
    other = "NEAR" if top == "BEST" else "BEST"
    assert rows.loc[other, "d_r2_best_ci_low"] <= 0 <= rows.loc[other, "d_r2_best_ci_high"]
    assert rows.loc[other, "tied_with_best"]
    assert pd.isna(rows.loc["DNABERT2", "tied_with_best"]) and pd.isna(rows.loc["DNABERT2", "r2_ci_low"])
    for model in ("BEST", "NEAR", "WORSE"):
        assert rows.loc[model, "r2_ci_low"] < rows.loc[model, "r2"] < rows.loc[model, "r2_ci_high"]
        assert rows.loc[model, "r2_of_ceiling"] == pytest.approx(rows.loc[model, "r2"] / 0.8)
    # pairing: the difference's interval is far narrower than either row's own interval
    width = rows.loc[other, "d_r2_best_ci_high"] - rows.loc[other, "d_r2_best_ci_low"]
    assert width < 0.5 * (rows.loc[other, "r2_ci_high"] - rows.loc[other, "r2_ci_low"])
    markdown = comparison_markdown(table, {"status": "ok", "r2_ceiling": 0.8, "r2_ceiling_poisson": 0.9,
                                           "dispersion": 0.02, "n_test": len(y), "n_resamples": 200}, 1000)
    assert f"Cannot be told apart from the best row ({top}): {other} " in markdown
    assert "WORSE" not in markdown.split("Cannot be told apart")[1].split("\n")[0]
    assert "r2_ceiling = 0.800" in markdown and "| tied_with_best |" in markdown.splitlines()[0] + " |"


def test_the_figure_marks_intervals_ceiling_and_ties(tmp_path):
    rng = np.random.default_rng(4)
    y, signal, groups = _grouped_draw(rng, n_groups=100)
    table = _table_of({"A": signal, "B": signal + rng.standard_normal(len(y))}, y, groups)
    plot_intervals(table, {"status": "ok", "r2_ceiling": 0.8, "r2_ceiling_poisson": 0.9, "dispersion": 0.02},
                   tmp_path / "r2.png")
    plot_intervals(table, not_computed("table"), tmp_path / "none.png")
    assert (tmp_path / "r2.png").read_bytes()[:4] == b"\x89PNG" and (tmp_path / "none.png").stat().st_size > 0


def _simulated(tmp_path, dispersion, n_reporters=1000):
    frames = simulate(config_from_params({"n_reporters": n_reporters, "seed": 5, "dispersion": dispersion}))
    write_outputs(frames, tmp_path / "reporter_counts.txt", tmp_path / "reporter_seq.txt", tmp_path / "truth.tsv")
    return read_utrseq(tmp_path, HOURS), frames[2]


@pytest.mark.parametrize("dispersion", [0.02, 0.1])
def test_the_estimate_recovers_the_simulated_dispersion(tmp_path, dispersion):
    """Tolerance: 20% of the simulated value (measured: within 10% at 1,000 reporters)."""
    raw, _ = _simulated(tmp_path, dispersion)
    estimate = estimate_dispersion(raw)
    assert estimate["alpha"] == pytest.approx(dispersion, rel=0.2)
    for window in estimate["windows"]:
        assert window["alpha"] == pytest.approx(dispersion, rel=0.3)
    assert estimate["spike_alpha"] < 0.02  # the simulated spike-ins are near Poisson


def test_the_ceiling_matches_the_simulated_noise(tmp_path):
    """On the simulator the noise is known (measured minus noise-free target): the ceiling from the reads
    alone agrees with 1 - var(noise) / var(measured) within 0.03, and is below the Poisson-only one."""
    raw, truth = _simulated(tmp_path, 0.05)
    ids = raw.reporters.index[raw.reporters[2.0] >= 20][:600]  # the pipeline's read filter
    data, target = {"pseudocount": 1}, {"kind": "difference", "from_hour": 2, "to_hour": 8, "divisor": 1}
    result = noise_ceiling(raw, ids, data, target, n_resamples=100, seed=0)
    measured = (np.log2(raw.reporters.loc[ids, 8.0] + 1) - np.log2(raw.spikes[8.0].sum())
                - np.log2(raw.reporters.loc[ids, 2.0] + 1) + np.log2(raw.spikes[2.0].sum()))
    noise = measured.to_numpy() - truth.set_index("id").loc[ids, "y_true"].to_numpy()
    actual = 1 - np.var(noise, ddof=1) / np.var(measured, ddof=1)
    assert result["r2_ceiling"] == pytest.approx(actual, abs=0.03)
    assert result["r2_ceiling"] < result["r2_ceiling_poisson"]
    assert result["n_test"] == 600 and result["n_resamples"] == 100 and result["status"] == "ok"
    assert result["dispersion"] == pytest.approx(0.05, rel=0.2) and "negative-binomial" in result["method"]


class _Named(dict):
    """What a script sees as snakemake.input / output / params: attributes and keys()."""

    __getattr__ = dict.__getitem__

    def __getitem__(self, key):
        return list(self.values())[key] if isinstance(key, int) else dict.__getitem__(self, key)


def test_table_data_says_the_ceiling_is_not_computed(tmp_path, repo):
    """The rule's script on `table` data (its inputs there: the split only, no reads)."""
    config = yaml.safe_load((repo / "config.yaml").read_text())
    split = tmp_path / "split.tsv"
    pd.DataFrame({"id": ["T1", "T2"], "sequence": ["ACGT", "ACGA"], "y": [0.1, 0.2], "split": ["test", "train"],
                  "group": [0, 1]}).to_csv(split, sep="\t", index=False)
    out = tmp_path / "noise_ceiling.json"
    snakemake = SimpleNamespace(input=_Named(split=str(split)), output=_Named(json=str(out)),
                                log=[str(tmp_path / "log")],
                                params=_Named(data={**config["data"], "source": "table"}, target=config["target"],
                                              evaluate=config["evaluate"]))
    runpy.run_path(str(repo / "scripts" / "noise_ceiling.py"), init_globals={"snakemake": snakemake})
    result = json.loads(out.read_text())
    assert result == not_computed("table")
    assert result["status"] == "not computed" and result["r2_ceiling"] is None
    assert "table" in result["reason"] and "read counts" in result["reason"]
    table = add_ceiling(pd.DataFrame({"model": ["A"], "r2": [0.5]}), result)
    assert table["r2_of_ceiling"].isna().all()
    markdown = comparison_markdown(table, result)
    assert "Noise ceiling: not computed: data.source is 'table'" in markdown
