"""The comparison's uncertainty (decaylm/evaluate.py): grouped-bootstrap intervals, paired differences to
the best row, and the noise ceiling in the table and figure (the ceiling itself: tests/test_noise.py)."""


import matplotlib.colors
import numpy as np
import pandas as pd
import pytest

from decaylm import evaluate
from decaylm.evaluate import (
    add_ceiling,
    add_intervals,
    bootstrap_r2,
    comparison_markdown,
    comparison_table,
    group_resample_weights,
    holm_adjusted,
    ordered_columns,
    paired_bootstrap_p,
    percentile_interval,
    plot_intervals,
    regression_metrics,
)
from decaylm.noise import not_computed


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


def test_tied_with_best_follows_the_holm_adjusted_paired_p():
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
    assert pd.isna(rows.loc[top, "d_r2_best_p_holm"])  # not compared with itself
    assert rows.loc["WORSE", "d_r2_best"] < 0 and rows.loc["WORSE", "d_r2_best_ci_high"] < 0
    assert rows.loc["WORSE", "d_r2_best_p_holm"] <= 0.05 and not rows.loc["WORSE", "tied_with_best"]
    other = "NEAR" if top == "BEST" else "BEST"
    assert rows.loc[other, "d_r2_best_ci_low"] <= 0 <= rows.loc[other, "d_r2_best_ci_high"]
    assert rows.loc[other, "d_r2_best_p_holm"] > 0.05 and rows.loc[other, "tied_with_best"]
    assert pd.isna(rows.loc["DNABERT2", "tied_with_best"]) and pd.isna(rows.loc["DNABERT2", "r2_ci_low"])
    for model in ("BEST", "NEAR", "WORSE"):
        assert rows.loc[model, "r2_ci_low"] < rows.loc[model, "r2"] < rows.loc[model, "r2_ci_high"]
        assert rows.loc[model, "r2_of_ceiling"] == pytest.approx(rows.loc[model, "r2"] / 0.8)
    # pairing: the difference's interval is far narrower than either row's own interval
    width = rows.loc[other, "d_r2_best_ci_high"] - rows.loc[other, "d_r2_best_ci_low"]
    assert width < 0.5 * (rows.loc[other, "r2_ci_high"] - rows.loc[other, "r2_ci_low"])
    markdown = comparison_markdown(table, {"status": "ok", "r2_ceiling": 0.8, "r2_ceiling_poisson": 0.9,
                                           "dispersion": 0.02, "n_test": len(y), "n_resamples": 200}, 1000)
    assert f"Cannot be told apart from the best row ({top}): {other} (Holm-adjusted paired p > 0.05)" in markdown
    assert "WORSE" not in markdown.split("Cannot be told apart")[1].split("\n")[0]
    assert "Holm-adjusted over the 2 rows compared with the best" in markdown
    assert "r2_ceiling = 0.800" in markdown and "| d_r2_best_p_holm | tied_with_best |" in markdown.splitlines()[0]


def test_holm_adjustment_and_the_paired_bootstrap_p():
    # Holm by hand: sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 -> 0.02, 0.03, 0.06, max(0.04, 0.06)
    np.testing.assert_allclose(holm_adjusted([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02])
    np.testing.assert_allclose(holm_adjusted([0.5, 0.9]), [1.0, 1.0])  # capped at 1
    rng = np.random.default_rng(5)
    differences = rng.normal(loc=np.linspace(-0.06, 0.0, 25), scale=0.02, size=(2000, 25))
    differences[:, 0] = -np.abs(differences[:, 0]) - 0.01
    p = paired_bootstrap_p(differences)
    assert p[-1] > 0.5 and p[0] == pytest.approx(2 / 2001)  # centred on 0; every resample below 0
    low, high = percentile_interval(differences)
    outside = (low > 0) | (high < 0)
    agree = (p <= 0.05) == outside
    assert agree.mean() >= 0.9, (p, low, high)  # the p and the interval are one test (up to the last resample)


def test_ties_are_adjusted_over_the_rows_compared():
    """Twelve rows a little worse than the best: an unadjusted paired interval leaves out 0 for some whose
    Holm-adjusted p stays above 0.05, and those are tied. The adjusted p is recomputed here from the same
    seeded resamples (add_intervals draws them from the split's groups, n_resamples and seed alone)."""
    rng = np.random.default_rng(6)
    y, signal, groups = _grouped_draw(rng, n_groups=300)
    best = signal + 0.3 * rng.standard_normal(len(y))
    rows = {"BEST": best, **{f"R{i}": best + 0.12 * rng.standard_normal(len(y)) for i in range(12)}}
    table = _table_of(rows, y, groups).set_index("model")
    compared = [m for m in rows if m != table["r2"].idxmax()]
    columns = np.column_stack([rows[m] for m in rows])
    r2 = bootstrap_r2(y, columns, groups, 1000, seed=0)
    top = list(rows).index(table["r2"].idxmax())
    raw = paired_bootstrap_p(np.delete(r2 - r2[:, [top]], top, axis=1))
    np.testing.assert_allclose(table.loc[compared, "d_r2_best_p_holm"], holm_adjusted(raw))
    assert (table.loc[compared, "tied_with_best"] == (table.loc[compared, "d_r2_best_p_holm"] > 0.05)).all()
    unadjusted_worse = table.loc[compared, "d_r2_best_ci_high"] < 0
    assert (unadjusted_worse & table.loc[compared, "tied_with_best"]).any(), table.loc[compared]


def test_the_figure_marks_intervals_ceiling_and_ties(tmp_path, monkeypatch):
    """The figure's content, read back from the matplotlib axes: one interval per row that ran (at its row's
    tick), the tied rows filled and the others open, the two ceilings as vertical lines."""
    rng = np.random.default_rng(4)
    y, signal, groups = _grouped_draw(rng, n_groups=100)
    table = _table_of({"A": signal, "A2": signal + 0.02 * rng.standard_normal(len(y)),
                       "B": signal + rng.standard_normal(len(y))}, y, groups)
    figures = []
    monkeypatch.setattr(evaluate, "save_figure", lambda figure, path: figures.append(figure))
    plot_intervals(table, {"status": "ok", "r2_ceiling": 0.8, "r2_ceiling_poisson": 0.9, "dispersion": 0.02},
                   tmp_path / "r2.png")
    plot_intervals(table, not_computed("table"), tmp_path / "none.png")
    ax, no_ceiling = figures[0].axes[0], figures[1].axes[0]
    ran = table[table["r2_ci_low"].notna()].set_index("model")
    assert set(ran.index) == {"A", "A2", "B"} and ran["tied_with_best"].tolist().count(True) == 2
    tick = {label.get_text(): y for label, y in zip(ax.get_yticklabels(), ax.get_yticks())}
    assert set(tick) == set(ran.index)
    intervals = {tuple(np.round(segment[:, 1], 6)): segment[:, 0] for segment in ax.collections[0].get_segments()}
    for model, row in ran.iterrows():
        np.testing.assert_allclose(intervals[(tick[model], tick[model])], [row["r2_ci_low"], row["r2_ci_high"]])
    filled, hollow = ax.collections[1], ax.collections[2]
    assert matplotlib.colors.to_hex(hollow.get_facecolor()[0]) == "#ffffff"
    assert matplotlib.colors.to_hex(filled.get_facecolor()[0]) != "#ffffff"
    for points, tied in ((filled, True), (hollow, False)):
        models = ran.index[ran["tied_with_best"] == tied]
        np.testing.assert_allclose(sorted(points.get_offsets()[:, 0]), sorted(ran.loc[models, "r2"]))
    def vertical(axes):  # axvline's lines (the others are the intervals' caps)
        return sorted(line.get_xdata()[0] for line in axes.lines if list(line.get_ydata()) == [0, 1])

    assert vertical(ax) == [0.8, 0.9]
    legend = " ".join(text.get_text() for text in ax.get_legend().get_texts())
    assert "noise ceiling 0.800" in legend and "Poisson-only ceiling 0.900" in legend and "Holm" in legend
    assert not vertical(no_ceiling) and no_ceiling.get_title() == "noise ceiling not computed (no read counts)"
