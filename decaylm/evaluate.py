"""Held-out metrics per model, the comparison table, and predicted-vs-measured figures."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from decaylm.errors import InputError  # noqa: E402
from decaylm.io import save_figure, write_text, write_tsv  # noqa: E402
from decaylm.metrics import part_r2, r2_score, regression_metrics  # noqa: E402

METRIC_COLUMNS = ["mse", "mae", "rmse", "r2", "pearson", "spearman"]
COMPARISON_COLUMNS = ["model", *METRIC_COLUMNS, "n_test"]
# added by add_intervals and add_ceiling (bootstrap over whole overlap groups of test reporters)
INTERVAL_COLUMNS = ["valid_r2", "r2_ci_low", "r2_ci_high", "d_r2_best", "d_r2_best_ci_low", "d_r2_best_ci_high",
                    "d_r2_best_p_holm", "tied_with_best", "r2_of_ceiling"]
# present when some row has them: the noise-free target's R2 (simulated data); repeats (decaylm/repeats.py);
# an ensemble's members and whether the pipeline chose them on valid (members: auto)
EXTRA_COLUMNS = ("r2_truth", "repeats", "r2_seed_sd", "folds", "r2_fold_sd", "members", "chosen_on_valid")


def simulated_truth(truth: pd.DataFrame, target: dict | None) -> tuple[pd.DataFrame | None, str]:
    """The simulator's noise-free target of each reporter (id, y_noise_free) for the configured target, or
    None and the reason. truth.tsv's y_true is the noise-free log2 difference from target.from_hour to
    target.to_hour (the simulate rule takes those hours from the target), so it is the noise-free target of
    `difference` (divided by target.divisor); the simulator writes no noise-free slope or kinetic fit.
    No target given: the caller does not say, and y_true is taken as the target (kind difference, divisor 1)."""
    target = target or {"kind": "difference", "divisor": 1.0}
    if target["kind"] != "difference":
        return None, (f"target.kind is {target['kind']}: the simulator's truth.tsv holds the noise-free difference "
                      f"target.to_hour - target.from_hour, not a noise-free {target['kind']} target")
    y = truth["y_true"].to_numpy(dtype=float) / float(target.get("divisor") or 1.0)
    return pd.DataFrame({"id": truth["id"], "y_noise_free": y}), ""


def model_metrics(model: str, predictions: pd.DataFrame, run: dict, truth: pd.DataFrame | None = None,
                  target: dict | None = None) -> dict:
    """Test-split metrics for one model; a model that did not run gets its reason instead. With the
    simulator's truth: r2_truth against the noise-free target (`simulated_truth`), blank with
    r2_truth_reason where the simulator has none for `target`."""
    if run.get("status") != "ok":
        return {"model": model, "status": f"not run: {run.get('reason', 'unknown reason')}"}
    test = predictions[predictions["split"] == "test"]
    metrics = {"model": model, **regression_metrics(test["y_true"], test["y_pred"]), "status": "ok"}
    if "folds" in run:  # pooled out-of-fold predictions (decaylm/folds.py): every reporter is a test reporter
        metrics.update(valid_r2=run["valid_r2"], folds=run["folds"], r2_fold_sd=run["r2_fold_sd"])
    else:
        metrics["valid_r2"] = part_r2(predictions, "valid")
    if "chosen_on_valid" in run:  # an ensemble: its members, and whether the pipeline chose them on valid
        metrics["members"] = ", ".join(run.get("members", []))
        metrics["chosen_on_valid"] = bool(run["chosen_on_valid"])
    if truth is not None:
        # Simulated data: how well the model recovers the noise-free target.
        noise_free, reason = simulated_truth(truth, target)
        if noise_free is None:
            metrics.update(r2_truth=np.nan, r2_truth_reason=reason)
        else:
            merged = test.merge(noise_free, on="id")
            metrics["r2_truth"] = r2_score(merged["y_noise_free"], merged["y_pred"])
    return metrics


def repeat_metrics(model: str, repeats: list[pd.DataFrame], run: dict, truth: pd.DataFrame | None = None,
                   target: dict | None = None) -> dict:
    """A repeated model's metrics: the mean over its repeats of each repeat's own metrics, and
    r2_seed_sd, the standard deviation of the repeats' test R2 (decaylm/repeats.py)."""
    if run.get("status") != "ok":
        return model_metrics(model, repeats[0], run, truth, target)
    each = pd.DataFrame([model_metrics(model, frame, {"status": "ok"}, truth, target) for frame in repeats])
    numeric = [c for c in each.columns if c not in ("model", "status", "n_test", "r2_truth_reason")]
    metrics = {"model": model, **each[numeric].mean().to_dict(), "n_test": int(each["n_test"].iloc[0]), "status": "ok"}
    metrics.update(repeats=len(repeats), r2_seed_sd=float(each["r2"].std(ddof=1)), r2_repeats=each["r2"].tolist())
    if "r2_truth_reason" in each.columns:
        metrics["r2_truth_reason"] = each["r2_truth_reason"].iloc[0]
    return metrics


def comparison_table(all_metrics: list[dict]) -> pd.DataFrame:
    """One row per model, best test R2 first; models that did not run last, with the reason."""
    table = pd.DataFrame(all_metrics)
    extra = [c for c in EXTRA_COLUMNS if c in table.columns]
    for column in COMPARISON_COLUMNS + extra:
        if column not in table.columns:
            table[column] = np.nan
    for column in ("n_test", "repeats", "folds"):  # counts stay counts when a row is blank
        if column in table.columns:
            table[column] = table[column].astype("Int64")
    if "valid_r2" not in table.columns:
        table["valid_r2"] = np.nan
    table = table.sort_values(["r2", "model"], ascending=[False, True], na_position="last")
    return table[COMPARISON_COLUMNS + ["valid_r2"] + extra + ["status"]].reset_index(drop=True)


def group_resample_weights(groups, n_resamples: int, seed: int) -> np.ndarray:
    """Resamples x rows: how often each row is drawn when whole groups are drawn with replacement
    (as many draws as there are groups), so a group's rows always come and go together."""
    labels, row_group = np.unique(np.asarray(groups), return_inverse=True)
    n_groups = len(labels)
    draws = np.random.default_rng(seed).integers(n_groups, size=(n_resamples, n_groups))
    offsets = (np.arange(n_resamples) * n_groups)[:, None]
    group_counts = np.bincount((draws + offsets).ravel(), minlength=n_resamples * n_groups).reshape(n_resamples, n_groups)
    return group_counts[:, row_group].astype(float)


def weighted_r2(y_true, predictions: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """R2 of each column of predictions (rows x models) on each weighted resample (resamples x rows):
    the R2 of the resampled rows, repeated rows counted as often as drawn. Resamples x models."""
    y = np.asarray(y_true, dtype=float)
    total = weights.sum(axis=1, keepdims=True)
    mean = weights @ y[:, None] / total
    sst = weights @ (y**2)[:, None] - total * mean**2
    sse = weights @ (y[:, None] - predictions) ** 2
    return 1.0 - sse / sst


def bootstrap_r2(y_true, predictions: np.ndarray, groups, n_resamples: int, seed: int) -> np.ndarray:
    """Resamples x models: R2 on seeded resamples of whole groups, the same resamples for every model."""
    return weighted_r2(y_true, predictions, group_resample_weights(groups, n_resamples, seed))


def percentile_interval(values: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """The percentile bootstrap interval of each column."""
    low, high = np.quantile(values, [(1 - level) / 2, (1 + level) / 2], axis=0)
    return low, high


def paired_bootstrap_p(difference: np.ndarray) -> np.ndarray:
    """Two-sided p-value of each column of paired bootstrap differences (resamples x rows) against 0: twice the
    smaller share of resamples on either side of 0, counting the observed difference as one more resample
    (so never 0), at most 1. Below 1 - level about where the percentile interval of that level leaves out 0."""
    n = difference.shape[0]
    above = ((difference >= 0).sum(axis=0) + 1) / (n + 1)
    below = ((difference <= 0).sum(axis=0) + 1) / (n + 1)
    return np.minimum(1.0, 2 * np.minimum(above, below))


def holm_adjusted(p_values) -> np.ndarray:
    """Holm's step-down adjustment of a family of p-values (it holds the family-wise error rate)."""
    p = np.asarray(p_values, dtype=float)
    order = np.argsort(p)
    steps = np.maximum.accumulate((len(p) - np.arange(len(p))) * p[order])
    adjusted = np.empty_like(p)
    adjusted[order] = np.minimum(1.0, steps)
    return adjusted


def scored_models(table: pd.DataFrame, predictions: dict) -> list[str]:
    """The rows that ran and have predictions, in the table's order: those the bootstrap scores."""
    return [m for m in table["model"] if m in predictions and (table.loc[table["model"] == m, "status"] == "ok").all()]


def aligned_predictions(test: pd.DataFrame, predictions: dict[str, pd.DataFrame | list[pd.DataFrame]],
                     models: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The measured target of the reporters of `test` (its id column, in order), their predictions
    (reporters x columns: one column per model, one per repeat of a repeated model) and each column's model."""
    columns, owners, y_true = [], [], None
    for model in models:
        frames = predictions[model] if isinstance(predictions[model], list) else [predictions[model]]
        for frame in frames:
            owners.append(model)
            rows = test[["id"]].merge(frame[frame["split"] == "test"][["id", "y_true", "y_pred"]], on="id", how="left")
            if rows["y_pred"].isna().any():
                missing = rows.loc[rows["y_pred"].isna(), "id"].head(3).tolist()
                raise InputError(f"models/{model}/predictions.tsv", f"no test prediction for {int(rows['y_pred'].isna().sum())} "
                                 f"test reporter(s) of split.tsv, e.g. {missing}", "re-run the model on the current split")
            if y_true is None:
                y_true, first = rows["y_true"].to_numpy(), model
            elif not np.allclose(rows["y_true"].to_numpy(), y_true):
                raise InputError(f"models/{model}/predictions.tsv", f"its test y_true differs from that of {first}",
                                 "re-run the models on the same target")
            columns.append(rows["y_pred"].to_numpy())
    return y_true, np.column_stack(columns), np.array(owners)


def rows_r2(y_true, columns: np.ndarray, owners: np.ndarray, models: list[str], groups, n_resamples: int,
            seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Each model's R2 (the mean over its columns: a repeated model's repeats) and, resamples x models,
    its R2 on the same seeded resamples of whole groups."""
    per_column = bootstrap_r2(y_true, columns, groups, n_resamples, seed)
    point_per_column = np.array([r2_score(y_true, columns[:, i]) for i in range(columns.shape[1])])
    r2 = np.column_stack([per_column[:, owners == m].mean(axis=1) for m in models])
    point = np.array([point_per_column[owners == m].mean() for m in models])
    return point, r2


def add_intervals(table: pd.DataFrame, predictions: dict[str, pd.DataFrame | list[pd.DataFrame]], split: pd.DataFrame,
                  n_resamples: int, seed: int, level: float = 0.95) -> pd.DataFrame:
    """Add the grouped-bootstrap interval of each row's test R2 and its paired difference to the best row.

    The resamples draw whole overlap groups (the `group` column of split.tsv) of the test reporters;
    every model is scored on the same resamples, so the difference to the best row is paired.
    d_r2_best_p_holm: the paired bootstrap p-value of that difference (`paired_bootstrap_p`), Holm-adjusted
    over the rows compared with the best; tied_with_best: it is above 1 - level (true for the best row
    itself). The paired interval (d_r2_best_ci_low, _high) stays unadjusted.
    A model given as a list of frames (its repeats) is scored, on each resample, by the mean of
    its repeats' R2: the statistic of its row (the mean R2 over repeats).
    """
    test = split[split["split"] == "test"][["id", "group"]].reset_index(drop=True)
    ran = scored_models(table, predictions)
    out = table.copy()
    for column in INTERVAL_COLUMNS[1:-1]:
        out[column] = np.nan
    out["tied_with_best"] = pd.array([pd.NA] * len(out), dtype="boolean")
    if not ran:
        return out
    y_true, columns, owners = aligned_predictions(test, predictions, ran)
    point, r2 = rows_r2(y_true, columns, owners, ran, test["group"].to_numpy(), n_resamples, seed)
    low, high = percentile_interval(r2, level)
    best = int(np.argmax(point))
    difference = r2 - r2[:, [best]]
    d_low, d_high = percentile_interval(difference, level)
    d = point - point[best]
    compared = np.arange(len(ran)) != best
    p_holm = np.full(len(ran), np.nan)
    p_holm[compared] = holm_adjusted(paired_bootstrap_p(difference[:, compared]))
    tied = ~compared | (p_holm > 1 - level)
    index = out.index[out["model"].isin(ran)]
    position = {m: i for i, m in enumerate(ran)}
    order = [position[m] for m in out.loc[index, "model"]]
    out.loc[index, "r2_ci_low"], out.loc[index, "r2_ci_high"] = low[order], high[order]
    out.loc[index, "d_r2_best"] = d[order]
    out.loc[index, "d_r2_best_ci_low"], out.loc[index, "d_r2_best_ci_high"] = d_low[order], d_high[order]
    out.loc[index, "d_r2_best_p_holm"] = p_holm[order]
    out.loc[index, "tied_with_best"] = tied[order]
    return out


def add_ceiling(table: pd.DataFrame, ceiling: dict | None) -> pd.DataFrame:
    """r2_of_ceiling: each row's test R2 as a fraction of the noise ceiling (blank when not computed)."""
    out = table.copy()
    value = (ceiling or {}).get("r2_ceiling")
    out["r2_of_ceiling"] = out["r2"] / value if value else np.nan
    return out


def ordered_columns(table: pd.DataFrame) -> pd.DataFrame:
    extra = [c for c in EXTRA_COLUMNS if c in table.columns]
    present = [c for c in INTERVAL_COLUMNS if c in table.columns]
    return table[COMPARISON_COLUMNS + present + extra + ["status"]]


def comparison_markdown(table: pd.DataFrame, ceiling: dict | None = None, n_resamples: int | None = None) -> str:
    header = "| " + " | ".join(table.columns) + " |\n|" + "---|" * len(table.columns) + "\n"
    rows = []
    for _, row in table.iterrows():
        cells = ["" if pd.isna(v) else str(v).lower() if isinstance(v, (bool, np.bool_)) else f"{v:.4f}"
                 if isinstance(v, float) else str(v) for v in row]
        rows.append("| " + " | ".join(cells) + " |")
    return header + "\n".join(rows) + "\n" + _comparison_notes(table, ceiling, n_resamples)


def _comparison_notes(table: pd.DataFrame, ceiling: dict | None, n_resamples: int | None) -> str:
    """The table in words: which rows cannot be told apart from the best, and the noise ceiling."""
    notes = []
    if "tied_with_best" in table.columns and table["tied_with_best"].notna().any():
        ran = table[table["tied_with_best"].notna()]
        best = ran.iloc[0]["model"]
        tied = [m for m, t in zip(ran["model"][1:], ran["tied_with_best"][1:]) if t]
        resamples = f"{n_resamples:,} " if n_resamples else ""
        notes.append(f"Intervals: 95% percentile bootstrap over {resamples}resamples of whole overlap groups of the "
                     "test reporters; d_r2_best is the paired difference to the best row on the same resamples, "
                     "its interval unadjusted. Ties are adjusted for multiplicity: d_r2_best_p_holm is the paired "
                     f"bootstrap p-value of that difference, Holm-adjusted over the {len(ran) - 1} rows compared "
                     "with the best, and tied_with_best means d_r2_best_p_holm > 0.05 (so a row whose unadjusted "
                     "interval leaves out 0 can still be tied). The best row is chosen on test.")
        if tied:
            notes.append(f"Cannot be told apart from the best row ({best}): {', '.join(tied)} "
                         "(Holm-adjusted paired p > 0.05).")
        else:
            notes.append(f"Every other row is worse than the best row ({best}): Holm-adjusted paired p <= 0.05 "
                         "for each.")
    if "r2_truth" in table.columns and table["status"].eq("ok").any() \
            and table.loc[table["status"].eq("ok"), "r2_truth"].isna().all():
        notes.append("r2_truth is blank: the simulator's truth.tsv holds the noise-free difference target.to_hour - "
                     "target.from_hour, the noise-free target of kind difference only (each model's metrics.json "
                     "has r2_truth_reason).")
    if "repeats" in table.columns and table["repeats"].notna().any():
        repeated = table[table["repeats"].notna()]
        notes.append("Repeats: " + ", ".join(f"{m} ({int(n)})" for m, n in zip(repeated["model"], repeated["repeats"]))
                     + " trained with seeds seed, seed + 1, ...; their r2 (and every metric) is the mean over the "
                     "repeats, r2_seed_sd the repeats' standard deviation, and their interval and paired test "
                     "average the repeats' R2 on each resample. A repeat_ensemble row scores the mean prediction "
                     "of one model's repeats.")
    if "chosen_on_valid" in table.columns:
        for model, members, chosen in zip(table["model"], table["members"], table["chosen_on_valid"]):
            if isinstance(chosen, (bool, np.bool_)):
                notes.append(f"{model}: the mean of {members}, chosen on valid by the pipeline (members: auto; every "
                             f"combination's valid R2 in models/{model}/selection.tsv)." if chosen else
                             f"{model}: the mean of {members}, listed in the config (not chosen on valid).")
    if ceiling is not None:
        if ceiling.get("status") == "ok":
            notes.append(f"Noise ceiling: r2_ceiling = {ceiling['r2_ceiling']:.3f} on {ceiling['n_test']} test reporters "
                         f"(negative binomial, dispersion {_alphas(ceiling)}, {ceiling['n_resamples']} "
                         f"resamples of the reads; Poisson only: {ceiling['r2_ceiling_poisson']:.3f}); "
                         f"r2_of_ceiling is each row's R2 as a fraction of it"
                         + (f" (best row: {table.iloc[0]['r2_of_ceiling']:.2f})." if pd.notna(table.iloc[0].get("r2_of_ceiling"))
                            else "."))
        else:
            notes.append(f"Noise ceiling: {ceiling.get('status', 'not computed')}: {ceiling.get('reason', '')}")
    return ("\n" + "\n\n".join(notes) + "\n") if notes else ""


def _alphas(ceiling: dict) -> str:
    """The dispersion estimates in words: per window where there are several, and pooled."""
    windows = ceiling.get("dispersion_windows") or []
    if len(windows) < 2:
        return f"{ceiling['dispersion']:.3g}"
    parts = ", ".join(f"{w['alpha']:.3g} in {w['hours'][0]:g}-{w['hours'][1]:g} h" for w in windows)
    return f"{parts}; pooled {ceiling['dispersion']:.3g}"


def write_comparison(table: pd.DataFrame, tsv_path, md_path, ceiling: dict | None = None,
                     n_resamples: int | None = None, footer: str = "") -> None:
    write_tsv(table, tsv_path)
    write_text(comparison_markdown(table, ceiling, n_resamples) + footer, md_path)


def _scatter(ax, test: pd.DataFrame, title: str) -> None:
    ax.scatter(test["y_true"], test["y_pred"], s=4, alpha=0.4, linewidths=0)
    low = min(test["y_true"].min(), test["y_pred"].min())
    high = max(test["y_true"].max(), test["y_pred"].max())
    ax.plot([low, high], [low, high], color="grey", lw=0.8, ls="--")
    r2 = r2_score(test["y_true"], test["y_pred"])
    ax.set_title(f"{title}  (test R² {r2:.3f})", fontsize=9)
    ax.set_xlabel("measured log2 change")
    ax.set_ylabel("predicted")


def plot_predictions(predictions: pd.DataFrame, model: str, path) -> None:
    figure, ax = plt.subplots(figsize=(4, 4))
    test = predictions[predictions["split"] == "test"]
    if len(test) and test["y_pred"].notna().all():
        _scatter(ax, test, model)
    else:
        ax.text(0.5, 0.5, f"{model}: not run", ha="center", va="center")
    save_figure(figure, path)


def plot_panel(predictions: dict[str, pd.DataFrame], order: list[str], path) -> None:
    ran = [m for m in order if len(predictions[m]) and predictions[m]["y_pred"].notna().all()]
    columns = min(4, max(1, len(ran)))
    rows = max(1, math.ceil(len(ran) / columns))
    figure, axes = plt.subplots(rows, columns, figsize=(3.6 * columns, 3.4 * rows), squeeze=False)
    for ax, model in zip(axes.flat, ran):
        _scatter(ax, predictions[model][predictions[model]["split"] == "test"], model)
    for ax in list(axes.flat)[len(ran):]:
        ax.axis("off")
    save_figure(figure, path)


def plot_intervals(table: pd.DataFrame, ceiling: dict | None, path) -> None:
    """Test R2 per model with its 95% grouped-bootstrap interval, best at the top; rows tied with the best
    (tied_with_best: Holm-adjusted) filled, the others open; the noise ceiling (and the Poisson-only one) as
    vertical lines."""
    ran = table[table["r2_ci_low"].notna()] if "r2_ci_low" in table.columns else table.iloc[:0]
    figure, ax = plt.subplots(figsize=(6.8, 2.3 + 0.38 * max(1, len(ran))))
    if len(ran):
        y = np.arange(len(ran))[::-1]
        tied = ran["tied_with_best"].fillna(False).astype(bool).to_numpy()
        r2 = ran["r2"].to_numpy(dtype=float)
        errors = np.vstack([r2 - ran["r2_ci_low"].to_numpy(dtype=float), ran["r2_ci_high"].to_numpy(dtype=float) - r2])
        ax.errorbar(r2, y, xerr=errors, fmt="none", ecolor="grey", elinewidth=1.2, capsize=3)
        ax.scatter(r2[tied], y[tied], color="C0", zorder=3, label="tied with the best (Holm-adjusted paired p > 0.05)")
        ax.scatter(r2[~tied], y[~tied], facecolors="white", edgecolors="C0", zorder=3, label="worse than the best")
        ax.set_yticks(y, ran["model"])
        if ceiling and ceiling.get("status") == "ok":
            ax.axvline(ceiling["r2_ceiling"], color="C3", ls="--", lw=1.2,
                       label=f"noise ceiling {ceiling['r2_ceiling']:.3f} (negative-binomial reads, α "
                             + " / ".join(f"{w['alpha']:.3g}" for w in ceiling.get("dispersion_windows")
                                          or [{"alpha": ceiling["dispersion"]}]) + ")")
            ax.axvline(ceiling["r2_ceiling_poisson"], color="C3", ls=":", lw=1,
                       label=f"Poisson-only ceiling {ceiling['r2_ceiling_poisson']:.3f}")
        right = max([ran["r2_ci_high"].max()] + ([ceiling["r2_ceiling_poisson"]] if ceiling and ceiling.get("status") == "ok" else []))
        ax.set_xlim(right=right + 0.03 * (right - ran["r2_ci_low"].min()))
        ax.set_xlabel("test R² (95% bootstrap interval over overlap groups)")
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.5 / (0.38 * len(ran) + 0.3)), ncol=1,
                  frameon=False)
        ax.grid(axis="x", alpha=0.3)
    else:
        ax.text(0.5, 0.5, "no model ran", ha="center", va="center")
    if ceiling and ceiling.get("status") != "ok":
        ax.set_title("noise ceiling not computed (no read counts)", fontsize=8)
    save_figure(figure, path)


