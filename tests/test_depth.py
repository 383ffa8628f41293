"""R2 by read depth (decaylm/depth.py): the test reporters binned by their reads at the target's hours,
each row's R2 per bin with the comparison's grouped bootstrap, each bin's noise ceiling, and the rule's
script on `table` data (no reads). The rule in a pipeline run: tests/test_pipeline.py (tiny_run)."""

from __future__ import annotations

import json
import runpy
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.metrics import r2_score

from decaylm.depth import (depth_bins, depth_markdown, plot_r2_by_depth, r2_by_depth, read_depth,
                           resampled_test_targets, target_hours)
from decaylm.evaluate import comparison_table, regression_metrics
from decaylm.noise import ceiling_from_resamples, noise_ceiling, not_computed
from decaylm.simulate import write_outputs
from decaylm.sources import read_utrseq
from tests.helpers.paths import HOURS


def test_bins_are_quartiles_whose_edges_hold_every_reporter():
    depth = np.random.default_rng(0).permutation(np.arange(1, 41))  # 40 reporters, 1..40 reads
    bins, edges = depth_bins(depth)
    assert list(edges) == [1, 10, 20, 30, 40]
    assert np.bincount(bins, minlength=5)[1:].tolist() == [10, 10, 10, 10]
    for b in range(1, 5):  # bin 1 is [e0, e1], bin b (e_b-1, e_b]
        inside = depth[bins == b]
        assert inside.min() >= edges[b - 1] and inside.max() <= edges[b]
        assert b == 1 or inside.min() > edges[b - 1]
    # many reporters at one depth: equal edges merge, and every reporter still has one bin
    bins, edges = depth_bins([5] * 30 + [6, 7, 8, 9, 50, 60, 70, 80, 90, 100])
    assert list(edges) == [5, 5, 100] and np.bincount(bins).tolist() == [0, 30, 10]
    bins, edges = depth_bins([7, 7, 7])
    assert list(edges) == [7, 7] and list(bins) == [1, 1, 1]


def test_depth_is_the_fewest_reads_at_the_hours_the_target_uses():
    reads = pd.DataFrame({0: [900, 5], 2: [400, 300], 4: [30, 250], 8: [100, 200]}, index=["A", "B"])
    difference = {"kind": "difference", "from_hour": 2, "to_hour": 8}
    assert target_hours(reads.columns, difference) == [2, 8]
    assert read_depth(reads, ["B", "A"], difference).to_dict() == {"B": 200, "A": 100}
    kinetic = {"kind": "kinetic", "from_hour": 0, "to_hour": 4}
    assert target_hours(reads.columns, kinetic) == [0, 2, 4]
    assert read_depth(reads, ["A", "B"], kinetic).tolist() == [30, 5]


def _frames(ids, y, predictions: dict) -> dict:
    return {m: ([pd.DataFrame({"id": ids, "split": "test", "y_true": y, "y_pred": p}) for p in value]
                if isinstance(value, list) else pd.DataFrame({"id": ids, "split": "test", "y_true": y, "y_pred": value}))
            for m, value in predictions.items()}


def test_r2_per_bin_is_sklearns_r2_on_the_bins_reporters():
    rng = np.random.default_rng(1)
    n = 200
    ids = [f"r{i}" for i in range(n)]
    depth = pd.Series(rng.integers(20, 2000, size=n), index=ids, dtype=float)
    y = rng.standard_normal(n)
    good, poor = y + 0.4 * rng.standard_normal(n), y + 1.2 * rng.standard_normal(n)
    repeats = [y + 0.7 * rng.standard_normal(n) for _ in range(2)]
    split = pd.DataFrame({"id": ids + ["v0"], "split": ["test"] * n + ["valid"], "group": [i // 3 for i in range(n + 1)]})
    predictions = {"GOOD": good, "POOR": poor, "REP": repeats}
    metrics = [{"model": m, **regression_metrics(y, np.mean(p, axis=0) if isinstance(p, list) else p), "status": "ok"}
               for m, p in predictions.items()] + [{"model": "OFF", "status": "not run: weights offline"}]
    table = comparison_table(metrics)
    out = r2_by_depth(table, _frames(ids, y, predictions), split, depth, n_resamples=300, seed=0)
    bins, edges = depth_bins(depth.to_numpy())
    assert sorted(out["model"].unique()) == ["GOOD", "POOR", "REP"]  # rows that ran; OFF has no predictions
    assert out["n_test"].sum() == 3 * n and (out["status"] == "ok").all()
    for _, row in out.iterrows():
        inside = bins == row["bin"]
        assert row["n_test"] == inside.sum() and (row["reads_low"], row["reads_high"]) == tuple(edges[row["bin"] - 1:][:2])
        expected = (np.mean([r2_score(y[inside], p[inside]) for p in repeats]) if row["model"] == "REP"
                    else r2_score(y[inside], predictions[row["model"]][inside]))
        assert row["r2"] == pytest.approx(expected)
        assert row["r2_ci_low"] < row["r2"] < row["r2_ci_high"]
    assert out["r2_ceiling"].isna().all()  # no resampled reads given
    markdown = depth_markdown(out, {"kind": "difference", "from_hour": 2, "to_hour": 8}, top=2)
    assert "## R2 by read depth" in markdown and "| bin | reads | n_test | noise ceiling | GOOD | REP |" in markdown
    assert "hours, 2 and 8 h" in markdown and len([line for line in markdown.splitlines() if line.startswith("| ")]) == 5


def test_each_bins_ceiling_comes_from_the_noise_ceilings_own_resamples(default_sim, tmp_path):
    """The default simulated data (2,400 test reporters): the resamples re-drawn from noise_ceiling.json's
    settings are its own (all bins together give its r2_ceiling); the fewer the reads, the larger the noise;
    each bin's ceiling is the simulator's actual noise fraction in the bin (measured: within 0.02), the R2
    that a perfect predictor of the noise-free target reaches there (within its interval)."""
    write_outputs(default_sim, tmp_path / "reporter_counts.txt", tmp_path / "reporter_seq.txt", tmp_path / "truth.tsv")
    raw, truth = read_utrseq(tmp_path, HOURS), default_sim[2].set_index("id")["y_true"]
    ids = raw.reporters.index[raw.reporters[2] >= 20][:2400]  # the pipeline's read filter
    data, target = {"pseudocount": 1}, {"kind": "difference", "from_hour": 2, "to_hour": 8, "divisor": 1}
    ceiling = noise_ceiling(raw, ids, data, target, n_resamples=60, seed=3)
    observed, draws = resampled_test_targets(raw, ids, ceiling, data, target)
    assert ceiling_from_resamples(observed, draws)["r2_ceiling"] == pytest.approx(ceiling["r2_ceiling"], abs=1e-12)
    split = pd.DataFrame({"id": ids, "split": "test", "group": np.arange(len(ids))})
    perfect = truth.loc[ids].to_numpy()
    table = comparison_table([{"model": "PERFECT", **regression_metrics(observed, perfect), "status": "ok"}])
    depth = read_depth(raw.reporters, ids, target)
    out = r2_by_depth(table, _frames(list(ids), observed, {"PERFECT": perfect}), split, depth, 300, 0,
                      (observed, draws)).set_index("bin")
    assert len(out) == 4 and out["n_test"].sum() == 2400 and out["reads_high"].is_monotonic_increasing
    assert out["noise_variance"].is_monotonic_decreasing
    bins, _ = depth_bins(depth.to_numpy())
    for b, row in out.iterrows():
        inside = bins == b
        actual = 1 - np.var(observed[inside] - perfect[inside], ddof=1) / np.var(observed[inside], ddof=1)
        assert row["r2_ceiling"] == pytest.approx(actual, abs=0.05), b
        assert row["r2_ci_low"] <= row["r2_ceiling"] <= row["r2_ci_high"], b
    plot_r2_by_depth(out.reset_index(), tmp_path / "depth.png")
    assert (tmp_path / "depth.png").read_bytes()[:4] == b"\x89PNG"


class _Named(dict):
    """What a script sees as snakemake.input / output / params / wildcards: attributes, keys() and get()."""

    __getattr__ = dict.__getitem__


def test_table_data_says_r2_by_depth_is_not_computed(tmp_path, repo):
    """The rule's script on `table` data (its inputs there: no reads); the comparison still shows the ceiling."""
    config = yaml.safe_load((repo / "config.yaml").read_text())
    ids = [f"T{i}" for i in range(12)]
    y = np.linspace(-1, 1, 12)
    split = pd.DataFrame({"id": ids, "split": "test", "group": range(12)})
    split.to_csv(tmp_path / "split.tsv", sep="\t", index=False)
    model = tmp_path / "models" / "A"
    model.mkdir(parents=True)
    pd.DataFrame({"id": ids, "split": "test", "y_true": y, "y_pred": y + 0.1}).to_csv(model / "predictions.tsv",
                                                                                        sep="\t", index=False)
    (model / "metrics.json").write_text(pd.Series({"model": "A", **regression_metrics(y, y + 0.1),
                                                   "status": "ok"}).to_json())
    (tmp_path / "noise_ceiling.json").write_text(json.dumps(not_computed("table")))
    out = {name: str(tmp_path / name) for name in ("comparison.tsv", "comparison.md", "panel.png", "intervals.png",
                                                   "r2_by_depth.tsv", "r2_by_depth.png")}
    snakemake = SimpleNamespace(
        input=_Named(metrics=[str(model / "metrics.json")], predictions=[str(model / "predictions.tsv")],
                     split=str(tmp_path / "split.tsv"), ceiling=str(tmp_path / "noise_ceiling.json")),
        output=_Named(table=out["comparison.tsv"], markdown=out["comparison.md"], panel=out["panel.png"],
                      intervals=out["intervals.png"], depth=out["r2_by_depth.tsv"], depth_figure=out["r2_by_depth.png"]),
        log=[str(tmp_path / "log")], wildcards=_Named(),
        params=_Named(evaluate={"bootstrap": 50, "seed": 0}, repeats={}, data={**config["data"], "source": "table"},
                      target=config["target"]))
    runpy.run_path(str(repo / "scripts" / "compare_models.py"), init_globals={"snakemake": snakemake})
    depth = pd.read_csv(out["r2_by_depth.tsv"], sep="\t")
    assert len(depth) == 1 and depth["status"].iloc[0] == "not computed: no reads (data.source is 'table')"
    assert depth["r2"].isna().all()
    markdown = open(out["comparison.md"]).read()
    assert "## R2 by read depth\n\nnot computed: no reads (data.source is 'table')." in markdown
    assert "Noise ceiling: not computed: data.source is 'table'" in markdown
    assert open(out["r2_by_depth.png"], "rb").read(4) == b"\x89PNG"
