"""Held-out metrics per model, the comparison table, and predicted-vs-measured figures."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy.stats import pearsonr, spearmanr  # noqa: E402
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score  # noqa: E402

from decaylm.io import atomic_path, write_text, write_tsv  # noqa: E402

METRIC_COLUMNS = ["mse", "mae", "rmse", "r2", "pearson", "spearman"]
COMPARISON_COLUMNS = ["model", *METRIC_COLUMNS, "n_test"]


def regression_metrics(y_true, y_pred) -> dict:
    y_true, y_pred = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    mse = mean_squared_error(y_true, y_pred)
    return {"mse": mse, "mae": mean_absolute_error(y_true, y_pred), "rmse": math.sqrt(mse),
            "r2": r2_score(y_true, y_pred), "pearson": pearsonr(y_true, y_pred)[0],
            "spearman": spearmanr(y_true, y_pred)[0], "n_test": int(len(y_true))}


def model_metrics(model: str, predictions: pd.DataFrame, run: dict, truth: pd.DataFrame | None = None) -> dict:
    """Test-split metrics for one model; a model that did not run gets its reason instead."""
    if run.get("status") != "ok":
        return {"model": model, "status": f"not run: {run.get('reason', 'unknown reason')}"}
    test = predictions[predictions["split"] == "test"]
    metrics = {"model": model, **regression_metrics(test["y_true"], test["y_pred"]), "status": "ok"}
    valid = predictions[predictions["split"] == "valid"]
    metrics["valid_r2"] = r2_score(valid["y_true"], valid["y_pred"])
    if truth is not None:
        # Simulated data: how well the model recovers the noise-free target.
        merged = test.merge(truth[["id", "y_true"]].rename(columns={"y_true": "y_noise_free"}), on="id")
        metrics["r2_truth"] = r2_score(merged["y_noise_free"], merged["y_pred"])
    return metrics


def comparison_table(all_metrics: list[dict]) -> pd.DataFrame:
    """One row per model, best test R2 first; models that did not run last, with the reason."""
    table = pd.DataFrame(all_metrics)
    extra = [c for c in ("r2_truth",) if c in table.columns]
    for column in COMPARISON_COLUMNS + extra:
        if column not in table.columns:
            table[column] = np.nan
    table["n_test"] = table["n_test"].astype("Int64")  # stays a count when a not-run row is blank
    table = table.sort_values(["r2", "model"], ascending=[False, True], na_position="last")
    return table[COMPARISON_COLUMNS + extra + ["status"]].reset_index(drop=True)


def comparison_markdown(table: pd.DataFrame) -> str:
    header = "| " + " | ".join(table.columns) + " |\n|" + "---|" * len(table.columns) + "\n"
    rows = []
    for _, row in table.iterrows():
        cells = ["" if pd.isna(v) else f"{v:.4f}" if isinstance(v, float) else str(v) for v in row]
        rows.append("| " + " | ".join(cells) + " |")
    return header + "\n".join(rows) + "\n"


def write_comparison(table: pd.DataFrame, tsv_path, md_path) -> None:
    write_tsv(table, tsv_path)
    write_text(comparison_markdown(table), md_path)


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
    _save(figure, path)


def plot_panel(predictions: dict[str, pd.DataFrame], order: list[str], path) -> None:
    ran = [m for m in order if len(predictions[m]) and predictions[m]["y_pred"].notna().all()]
    columns = min(4, max(1, len(ran)))
    rows = max(1, math.ceil(len(ran) / columns))
    figure, axes = plt.subplots(rows, columns, figsize=(3.6 * columns, 3.4 * rows), squeeze=False)
    for ax, model in zip(axes.flat, ran):
        _scatter(ax, predictions[model][predictions[model]["split"] == "test"], model)
    for ax in list(axes.flat)[len(ran):]:
        ax.axis("off")
    _save(figure, path)


def _save(figure, path) -> None:
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=110)
    plt.close(figure)
