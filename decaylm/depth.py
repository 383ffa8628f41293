"""R2 by read depth: how each model row does on the test reporters with few reads and with many.

A reporter's counting noise (its variance on log scale) is about 1/reads at each hour its target uses, so the
reporters with the fewest reads there carry the noisiest target. `depth_bins` puts the test reporters
in quartiles of their depth (`read_depth`: the fewest reads at any hour the target uses);
`r2_by_depth` gives each model row's R2 within each bin, with the comparison's grouped-bootstrap
interval (decaylm/evaluate.py), and each bin's noise ceiling from the very negative-binomial resamples
of the reads behind noise_ceiling.json (decaylm/noise.py). A bin's R2 and its ceiling share the
bin's target variance as denominator: compare a row with its bin's ceiling, not across bins.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from decaylm.errors import InputError
from decaylm.evaluate import aligned_predictions, percentile_interval, rows_r2, scored_models
from decaylm.io import save_figure, write_tsv
from decaylm.noise import ceiling_from_resamples, resampled_targets
from decaylm.sources import RawCounts

N_BINS = 4  # quartiles
DEPTH_COLUMNS = ["bin", "reads_low", "reads_high", "n_test", "model", "r2", "r2_ci_low", "r2_ci_high", "r2_ceiling",
                 "noise_variance", "target_variance", "status"]


def target_hours(hours, target: dict) -> list:
    """The hours (of `hours`, the raw reads' columns) whose reads make the target: from_hour and to_hour for
    `difference`; every hour from..to for `slope` and `kinetic`, which fit them all (decaylm/target.py)."""
    low, high = float(target["from_hour"]), float(target["to_hour"])
    if target["kind"] == "difference":
        chosen = [h for h in hours if float(h) in (low, high)]
    else:
        chosen = [h for h in hours if low <= float(h) <= high]
    if len(chosen) < 2:
        raise InputError("target.from_hour", f"the reads have {len(chosen)} of the target's hours {low:g}..{high:g} "
                         f"(their hours: {[f'{float(h):g}' for h in hours]})", "choose hours listed in data.hours")
    return chosen


def read_depth(reporters: pd.DataFrame, ids, target: dict) -> pd.Series:
    """Each reporter's depth (index id, in the order of `ids`): its fewest reads at the hours the target uses,
    the hour whose counting noise dominates its target."""
    ids = pd.Index(ids)
    missing = ids.difference(reporters.index)
    if len(missing):
        raise InputError("raw counts", f"{len(missing)} test reporter(s) of split.tsv have no reads, e.g. "
                         f"{list(missing[:3])}", "re-run the pipeline from the data stage on these counts")
    return reporters.loc[ids, target_hours(reporters.columns, target)].min(axis=1).astype(float)


def depth_bins(depth, n_bins: int = N_BINS) -> tuple[np.ndarray, np.ndarray]:
    """Each reporter's bin (1..k) by quantiles of its depth, and the k + 1 edges (depths of reporters): the
    fewest reads, the quantiles, the most reads; bin 1 holds [e0, e1], bin j (e_j-1, e_j]. Equal quantiles
    (many reporters at one depth) merge bins, so k <= n_bins; bin 1 may then be one depth, [e0, e0]."""
    values = np.asarray(depth, dtype=float)
    inner = np.unique(np.quantile(values, np.linspace(0, 1, n_bins + 1)[1:-1], method="inverted_cdf"))
    edges = np.concatenate([[values.min()], inner[inner < values.max()], [values.max()]])
    return np.searchsorted(edges[1:-1], values, side="left") + 1, edges


def resampled_test_targets(raw: RawCounts, test_ids, ceiling: dict, data: dict, target: dict):
    """(observed, resamples x reporters) targets of the test reporters: the draws behind noise_ceiling.json
    (its dispersions, resamples and seed, so the same numbers); None where the ceiling was not computed."""
    if ceiling.get("status") != "ok":
        return None
    alpha = np.array([ceiling["dispersion_by_hour"][f"{float(h):g}"] for h in raw.reporters.columns])
    return resampled_targets(raw, test_ids, alpha, ceiling["spike_dispersion"], data, target,
                             ceiling["n_resamples"], ceiling["seed"])


def r2_by_depth(table: pd.DataFrame, predictions: dict, split: pd.DataFrame, depth: pd.Series, n_resamples: int,
                seed: int, ceiling_targets=None, level: float = 0.95, n_bins: int = N_BINS) -> pd.DataFrame:
    """One row per depth bin and model row that ran (the comparison's order): the bin's edges and test
    reporters, the row's R2 in the bin with its grouped-bootstrap interval (every row on the same
    resamples; a repeated row: the mean over its repeats, as in the comparison), and the bin's noise
    ceiling with its noise and target variance (from `ceiling_targets`, resampled_test_targets of the same
    test reporters; blank without)."""
    test = split[split["split"] == "test"][["id", "group"]].reset_index(drop=True)
    bins, edges = depth_bins(depth.loc[test["id"]].to_numpy(), n_bins)
    ran = scored_models(table, predictions)
    if ran:
        y_true, columns, owners = aligned_predictions(test, predictions, ran)
    groups = test["group"].to_numpy()
    rows = []
    for b in range(1, len(edges)):
        inside = bins == b
        where = {"bin": b, "reads_low": edges[b - 1], "reads_high": edges[b], "n_test": int(inside.sum())}
        if ceiling_targets is not None and inside.sum() > 1:
            observed, draws = ceiling_targets
            where.update(ceiling_from_resamples(observed[inside], draws[:, inside]))
        if not ran:
            rows.append({**where, "status": "no model ran"})
            continue
        point, resampled = rows_r2(y_true[inside], columns[inside], owners, ran, groups[inside], n_resamples, seed)
        low, high = percentile_interval(resampled, level)
        rows += [{**where, "model": model, "r2": point[i], "r2_ci_low": low[i], "r2_ci_high": high[i], "status": "ok"}
                 for i, model in enumerate(ran)]
    return pd.DataFrame(rows, columns=DEPTH_COLUMNS).astype({"bin": "Int64", "n_test": "Int64"})


def not_computed(source: str) -> pd.DataFrame:
    """The table where the data have no reads to bin by."""
    return pd.DataFrame([{"status": f"not computed: no reads (data.source is '{source}')"}], columns=DEPTH_COLUMNS)


def depth_table(table: pd.DataFrame, predictions: dict, split: pd.DataFrame, raw: RawCounts | None, ceiling: dict,
                data: dict, target: dict, n_resamples: int, seed: int) -> pd.DataFrame:
    """r2_by_depth from the raw reads (None: the data have none, and the table says so)."""
    if raw is None:
        return not_computed(data["source"])
    test_ids = split.loc[split["split"] == "test", "id"]
    return r2_by_depth(table, predictions, split, read_depth(raw.reporters, test_ids, target), n_resamples, seed,
                       resampled_test_targets(raw, test_ids, ceiling, data, target))


def depth_summary(depth: pd.DataFrame) -> str:
    """The bins in one line, for the log."""
    bins = depth.dropna(subset=["bin"]).groupby("bin").first()
    return "; ".join(f"bin {b}: {r['reads_low']:g}-{r['reads_high']:g} reads, {r['n_test']} test reporters, noise "
                     f"ceiling {r['r2_ceiling']:.3f}" for b, r in bins.iterrows()) or depth["status"].iloc[0]


def hours_in_words(target: dict) -> str:
    """The hours whose reads make the target (target_hours), in words."""
    if target["kind"] == "difference":
        return f"{float(target['from_hour']):g} and {float(target['to_hour']):g} h"
    return f"every hour from {float(target['from_hour']):g} to {float(target['to_hour']):g} h"


def depth_markdown(depth: pd.DataFrame, target: dict | None = None, top: int = 3) -> str:
    """The section of comparison.md: per bin its reads, test reporters and ceiling, and the R2 [95% interval]
    of the `top` rows (the comparison's best first)."""
    head = "\n## R2 by read depth\n\n"
    if depth["status"].iloc[0].startswith("not computed"):
        return head + f"{depth['status'].iloc[0]}.\n"
    models = list(dict.fromkeys(depth["model"].dropna()))[:top]
    shown = {0: "no row (no model ran)", 1: "the top row"}.get(len(models), f"the top {len(models)} rows")
    depth_of = f"the fewest reads at the target's hours, {hours_in_words(target)}" if target else "the fewest reads"
    text = (head + f"Test reporters in quantile bins of their read depth ({depth_of}); R2 within each bin with its 95% "
            f"grouped-bootstrap interval for {shown} (every row: r2_by_depth.tsv, figures/r2_by_depth.png). The "
            "noise ceiling of a bin is the R2 a perfect predictor of the noise-free target would reach there; "
            "compare a row with its bin's ceiling (each bin has its own target variance).\n\n")
    text += "| bin | reads | n_test | noise ceiling | " + " | ".join(models) + " |\n|" + "---|" * (4 + len(models)) + "\n"
    for b, rows in depth.groupby("bin", sort=True):
        first = rows.iloc[0]
        ceiling = "" if pd.isna(first["r2_ceiling"]) else f"{first['r2_ceiling']:.3f}"
        cells = [f"{r['r2']:.3f} [{r['r2_ci_low']:.3f}, {r['r2_ci_high']:.3f}]"
                 for m in models for _, r in rows[rows["model"] == m].iterrows()]
        text += (f"| {b} | {first['reads_low']:g}-{first['reads_high']:g} | {first['n_test']} | {ceiling} | "
                 + " | ".join(cells) + " |\n")
    return text


def plot_r2_by_depth(depth: pd.DataFrame, path) -> None:
    """One panel: per depth bin, each row's R2 with its 95% interval (side by side, the comparison's order),
    and the bin's noise ceiling as a dashed line across the bin; a placeholder where it was not computed."""
    import matplotlib.pyplot as plt

    ran = depth[depth["status"] == "ok"]
    models = list(dict.fromkeys(ran["model"]))
    figure, ax = plt.subplots(figsize=(7.5 if len(models) > 6 else 6.5, 3.8))
    if not models:
        ax.text(0.5, 0.5, depth["status"].iloc[0], ha="center", va="center", fontsize=9)
        ax.axis("off")
        save_figure(figure, path)
        return
    bins = sorted(depth["bin"].dropna().unique())
    width = 0.8 / max(1, len(models))
    for i, model in enumerate(models):
        rows = ran[ran["model"] == model].set_index("bin").loc[bins]
        x = np.arange(len(bins)) - 0.4 + width * (i + 0.5)
        r2 = rows["r2"].to_numpy(dtype=float)
        errors = np.vstack([r2 - rows["r2_ci_low"].to_numpy(dtype=float), rows["r2_ci_high"].to_numpy(dtype=float) - r2])
        ax.errorbar(x, r2, yerr=errors, fmt="o", ms=4, capsize=2, lw=1, color=f"C{i % 10}", label=model)
    ceilings = depth.groupby("bin")["r2_ceiling"].first().loc[bins].to_numpy(dtype=float)
    for j, ceiling in enumerate(ceilings):
        if np.isfinite(ceiling):
            ax.hlines(ceiling, j - 0.45, j + 0.45, colors="C3", linestyles="--", lw=1.2,
                      label="noise ceiling of the bin" if j == 0 or not np.isfinite(ceilings[:j]).any() else None)
    edges = depth.groupby("bin")[["reads_low", "reads_high", "n_test"]].first().loc[bins]
    ax.set_xticks(np.arange(len(bins)), [f"bin {b}\n{lo:g}-{hi:g} reads\nn {n}" for b, (lo, hi, n)
                                         in zip(bins, edges.itertuples(index=False))], fontsize=8)
    # a bin of few reporters can have an interval reaching far below 0: cut it at the axis, not the points
    lowest, top = min(float(ran["r2"].min()), 0.0), max(float(ran["r2_ci_high"].max()), float(np.nanmax(ceilings)), 0.0)
    bottom = max(float(ran["r2_ci_low"].min()), lowest - 0.5)
    ax.set_ylim(bottom - 0.05 * (top - bottom), top + 0.05 * (top - bottom))
    if float(ran["r2_ci_low"].min()) < bottom:
        ax.set_title("intervals below the axis are cut", fontsize=8)
    ax.set_xlabel("test reporters by read depth (fewest reads at the target's hours)")
    ax.set_ylabel("test R² in the bin (95% bootstrap interval)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    save_figure(figure, path)


def write_depth(depth: pd.DataFrame, tsv_path, figure_path) -> None:
    write_tsv(depth, tsv_path)
    plot_r2_by_depth(depth, figure_path)

