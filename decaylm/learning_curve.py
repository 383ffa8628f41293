"""The learning curve (`learning_curve: {fractions, models, seed}`): how much labelled data is worth.

Each row of `learning_curve.models` (all rows that train when the list is empty) is trained again
on nested subsets of the training reporters: a fixed permutation of the training overlap groups
(seeded by learning_curve.seed) is taken in order until the fraction of training reporters is
reached, so the 0.25 subset lies inside the 0.5 subset. Valid and test are those of split.tsv,
unchanged; the training reporters left out are marked "unused", which no model reads (models
read the parts train, valid and test; their predictions.tsv still covers the unused rows).
Fraction 1 is the row itself: its predictions are reused, nothing is retrained.

Job names: NAME/frac{f} (folder models/NAME/frac{f}), trained by the rule of NAME's kind on
data/learning_curve/split_{f}.tsv. Each point trains once, with the row's seed; for a row with
repeats, fraction 1 is its first repeat (the same seed), so every point is one training run.
Tokenizers and MLM pretraining stay those of the full training split. Folds and libraries do not
combine with it.

learning_curve.tsv scores every (row, fraction) on the test reporters with the comparison's grouped
bootstrap (evaluate.bootstrap resamples of whole overlap groups, evaluate.seed), every point on the
same resamples, so the difference to the row's full-data R2 is paired.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from decaylm.errors import InputError
from decaylm.repeats import training_jobs

SEPARATOR = "/frac"  # job name X/frac0.25 -> folder models/X/frac0.25
UNUSED = "unused"  # the split value of training reporters left out of a subset
FULL = 1.0  # the row itself
AVERAGING_KINDS = ("ensemble", "repeat_ensemble")  # rows that average other rows: no curve of their own
SCORES = ["test_r2", "r2_ci_low", "r2_ci_high", "valid_r2", "d_r2_full", "d_r2_full_ci_low", "d_r2_full_ci_high"]
CURVE_COLUMNS = ["model", "fraction", "n_train", *SCORES, "rank", "status"]


# ------------------------------------------------------------------------------------------
# the config and job names


def fraction_label(fraction: float) -> str:
    return f"{float(fraction):g}"


def learning_curve_on(config: dict) -> bool:
    """On when it has fractions and rows (resolve_learning_curve has filled `models: []` in)."""
    curve = config.get("learning_curve") or {}  # absent from a config that did not pass the schema
    return bool(curve.get("fractions")) and bool(curve.get("models"))


def curve_models(config: dict) -> list[str]:
    """The rows of the curve; [] when it is off."""
    return list(config["learning_curve"]["models"]) if learning_curve_on(config) else []


def curve_fractions(config: dict) -> list[str]:
    """The labels of the fractions that train (below 1), smallest first; [] when the curve is off."""
    if not learning_curve_on(config):
        return []
    return [fraction_label(f) for f in sorted(config["learning_curve"]["fractions"]) if f < FULL]


def curve_jobs(config: dict, *kinds: str) -> list[str]:
    """The training jobs of the curve's rows of these kinds: NAME/frac{f} per fraction below 1."""
    return [f"{name}{SEPARATOR}{label}" for name in curve_models(config) if config["models"][name]["kind"] in kinds
            for label in curve_fractions(config)]


def fraction_of(job: str) -> str | None:
    """The fraction label of a job name NAME/frac{f}, else None."""
    return job.split(SEPARATOR, 1)[1].split("/")[0] if SEPARATOR in job else None


def full_job(config: dict, name: str) -> str:
    """The job whose predictions are the row's point at fraction 1: NAME, or NAME/repeat1 (its seed)."""
    return training_jobs(config, name)[0]


def curve_points(config: dict) -> list[tuple[str, float, str]]:
    """(row, fraction, training job) of every point of the curve: the fractions below 1, then 1 (the row's own job)."""
    return [(name, float(label), f"{name}{SEPARATOR}{label}") for name in curve_models(config)
            for label in curve_fractions(config)] + [(name, FULL, full_job(config, name)) for name in curve_models(config)]


def resolve_learning_curve(config: dict, removed_models: set[str]) -> None:
    """In place, after the schema's defaults: `models: []` becomes every row that trains; a row
    removed with `NAME: null` drops out of the list (as from predict.models); a name never
    configured, an averaging row, or folds or libraries with the curve on are one-line errors."""
    curve = config["learning_curve"]
    if not curve["fractions"]:
        return
    where = "learning_curve"
    if config["split"].get("folds", 1) > 1:
        raise InputError(where, "does not combine with split.folds", "set split.folds: 1, or learning_curve.fractions: []")
    if config["data"].get("libraries"):
        raise InputError(where, "does not combine with data.libraries",
                         "run it on one library, or set learning_curve.fractions: []")
    models = config["models"]
    trained = sorted(name for name, spec in models.items() if spec["kind"] not in AVERAGING_KINDS)
    if not curve["models"]:
        curve["models"] = trained
        return
    curve["models"] = [name for name in curve["models"] if name not in removed_models]
    for name in curve["models"]:
        if name not in models:
            raise InputError(f"{where}.models", f"'{name}' is not a configured model", f"use rows of {trained}")
        if models[name]["kind"] in AVERAGING_KINDS:
            raise InputError(f"{where}.models", f"'{name}' (kind {models[name]['kind']}) averages other rows",
                             f"name rows that train: {trained}")


# ------------------------------------------------------------------------------------------
# nested subsets of the training reporters


def group_order(split: pd.DataFrame, seed: int) -> np.ndarray:
    """The training overlap groups in the fixed order every subset takes them."""
    groups = np.unique(split.loc[split["split"] == "train", "group"].to_numpy())
    return groups[np.random.default_rng(seed).permutation(len(groups))]


def training_subset(split: pd.DataFrame, fraction: float, seed: int) -> pd.DataFrame:
    """split.tsv with the training reporters outside the subset marked unused: whole groups, in the
    seeded order, until `fraction` of the training reporters is reached (at least one group)."""
    if not 0 < fraction <= FULL:
        raise InputError("learning_curve.fractions", f"{fraction!r} is not in (0, 1]", "give fractions like 0.25")
    train = split["split"] == "train"
    order = group_order(split, seed)
    sizes = split.loc[train, "group"].value_counts().reindex(order).to_numpy()
    taken = int(np.searchsorted(np.cumsum(sizes), fraction * train.sum() - 1e-9)) + 1  # first prefix reaching it
    kept = train & split["group"].isin(order[:taken])
    out = split.copy()
    out.loc[train & ~kept, "split"] = UNUSED
    return out


def write_training_subset(split_path, out_path, fraction: float, seed: int) -> dict:
    """data/learning_curve/split_{f}.tsv from split.tsv; the reporters per part."""
    from decaylm.io import read_tsv, write_tsv

    split = read_tsv(split_path)
    out = training_subset(split, fraction, seed)
    write_tsv(out, out_path)
    return {part: int((out["split"] == part).sum()) for part in ("train", UNUSED, "valid", "test")}


# ------------------------------------------------------------------------------------------
# scoring and the figure


def score_curve(points: list[tuple[str, float]], predictions: list[pd.DataFrame], runs: list[dict],
                n_train: list[int], split: pd.DataFrame, n_resamples: int, seed: int,
                level: float = 0.95) -> pd.DataFrame:
    """One row per (model, fraction): test R2 with its grouped-bootstrap interval, valid R2, the paired
    difference to the same row at fraction 1 (d_r2_full), and the rank among rows at that fraction.
    Every point is scored on the same resamples of whole overlap groups of test reporters."""
    from decaylm.evaluate import bootstrap_r2, percentile_interval
    from decaylm.metrics import part_r2, r2_score

    test = split.loc[split["split"] == "test", ["id", "group"]].reset_index(drop=True)
    table = pd.DataFrame({"model": [m for m, _ in points], "fraction": [float(f) for _, f in points],
                          "n_train": n_train})
    table["status"] = [run.get("status", "") if run.get("status") == "ok"
                       else f"not run: {run.get('reason', 'unknown reason')}" for run in runs]
    for column in SCORES:
        table[column] = np.nan
    ran = [i for i, run in enumerate(runs) if run.get("status") == "ok"]
    columns, y_true = [], None
    for i in ran:
        model, fraction = points[i]
        rows = test.merge(predictions[i].loc[predictions[i]["split"] == "test", ["id", "y_true", "y_pred"]],
                          on="id", how="left")
        if rows["y_pred"].isna().any():
            raise InputError(f"models/{model} at fraction {fraction_label(fraction)}",
                             f"no test prediction for {int(rows['y_pred'].isna().sum())} test reporter(s) of split.tsv",
                             "re-run the model on the current split")
        y_true = rows["y_true"].to_numpy() if y_true is None else y_true
        columns.append(rows["y_pred"].to_numpy())
        table.loc[i, "test_r2"] = r2_score(y_true, columns[-1])
        table.loc[i, "valid_r2"] = part_r2(predictions[i], "valid")
    if ran:
        r2 = bootstrap_r2(y_true, np.column_stack(columns), test["group"].to_numpy(), n_resamples, seed)
        low, high = percentile_interval(r2, level)
        table.loc[ran, "r2_ci_low"], table.loc[ran, "r2_ci_high"] = low, high
        column_of = dict(zip(ran, range(len(ran))))
        for i in ran:
            full = next((j for j in ran if points[j][0] == points[i][0] and float(points[j][1]) == FULL), None)
            if full is None:
                continue
            difference = r2[:, column_of[i]] - r2[:, column_of[full]]
            d_low, d_high = percentile_interval(difference, level)
            table.loc[i, "d_r2_full"] = table.loc[i, "test_r2"] - table.loc[full, "test_r2"]
            table.loc[i, "d_r2_full_ci_low"], table.loc[i, "d_r2_full_ci_high"] = d_low, d_high
    table["rank"] = table.groupby("fraction")["test_r2"].rank(ascending=False, method="min").astype("Int64")
    table = table.sort_values(["model", "fraction"]).reset_index(drop=True)
    return table[CURVE_COLUMNS]


def plot_curve(table: pd.DataFrame, path) -> None:
    """Test R2 (95% grouped-bootstrap interval) against training reporters, log x, one line per row."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from decaylm.io import save_figure

    ran = table[table["test_r2"].notna()]
    figure, ax = plt.subplots(figsize=(6.4, 4.2))
    models = list(dict.fromkeys(ran["model"]))
    for k, model in enumerate(models):
        rows = ran[ran["model"] == model].sort_values("n_train")
        # a small multiplicative shift per row keeps the bars of rows at the same n apart
        x = rows["n_train"].to_numpy(dtype=float) * 1.02 ** (k - (len(models) - 1) / 2)
        y = rows["test_r2"].to_numpy(dtype=float)
        errors = np.vstack([y - rows["r2_ci_low"].to_numpy(dtype=float), rows["r2_ci_high"].to_numpy(dtype=float) - y])
        ax.errorbar(x, y, yerr=errors, marker="o", ms=4, lw=1.4, capsize=3, label=model)
    if models:
        ax.set_xscale("log")
        ticks = sorted(ran["n_train"].unique())
        ax.set_xticks(ticks, [f"{int(n):,}" for n in ticks])
        ax.minorticks_off()
        ax.legend(fontsize=7, frameon=False, loc="best")
        ax.grid(alpha=0.3)
    else:
        ax.text(0.5, 0.5, "no model ran", ha="center", va="center")
    ax.set_xlabel("training reporters (nested subsets of the training split; log scale)")
    ax.set_ylabel("test R² (95% bootstrap interval over overlap groups)")
    save_figure(figure, path)
