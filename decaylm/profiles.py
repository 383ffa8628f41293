"""Profiles of window predictions along long sequences: the predict stage's figure.

`windows_long(table)` turns a window table of `decaylm.predict.score_windows` (wide: id, start,
end, one column per model and `{model}_sd` after an ensemble; or long: id, model, start, end,
prediction, sd) into the long layout; `plot_profiles` draws one panel per sequence (the first
`max_sequences`), one line per model at each window's centre, the ensembles' member spread as
a band, and known elements (the simulator's planted ones) as shaded spans. Positions are
1-based and inclusive, as in decaylm.predict.
"""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from decaylm.io import save_figure  # noqa: E402

WINDOW_COLUMNS = ["id", "start", "end"]
LONG_COLUMNS = ["id", "model", "start", "end", "prediction", "sd"]
# Destabilizing elements warm, stabilizing cool; other kinds grey.
ELEMENT_COLOURS = {"mir430": "#d62728", "are": "#ff7f0e", "pumilio": "#9467bd", "gc_rich": "#8c564b",
                   "polyu": "#1f77b4"}
ELEMENT_LABELS = {"mir430": "miR-430 site", "are": "AU-rich element", "pumilio": "Pumilio site",
                  "gc_rich": "GC-rich stretch", "polyu": "poly-U (stabilizing)"}


def windows_long(table: pd.DataFrame) -> pd.DataFrame:
    """id, model, start, end, prediction, sd (NaN where a model has none) from either layout."""
    if "model" in table.columns:
        long = table.copy()
        if "sd" not in long.columns:
            long["sd"] = float("nan")
        return long[LONG_COLUMNS].reset_index(drop=True)
    models = [c for c in table.columns if c not in WINDOW_COLUMNS and not (c.endswith("_sd") and c[:-3] in table.columns)]
    if not models:
        raise ValueError(f"window table has no model column (columns: {list(table.columns)})")
    frames = []
    for model in models:
        frame = table[WINDOW_COLUMNS].copy()
        frame.insert(1, "model", model)
        frame["prediction"] = table[model].to_numpy()
        frame["sd"] = table[f"{model}_sd"].to_numpy() if f"{model}_sd" in table.columns else float("nan")
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)[LONG_COLUMNS]


def plot_profiles(windows: pd.DataFrame, path, elements: pd.DataFrame | None = None, lengths=None,
                  max_sequences: int = 12, title: str = "") -> list[str]:
    """Draw the profile figure to `path` (PNG); returns the ids drawn (input order, at most max_sequences).

    windows: a window table (either layout; several models' tables concatenated or merged);
    elements: optional id, kind, start, end of known elements; lengths: optional id -> length
    (dict or Series; else the last window's end)."""
    long = windows_long(windows)
    if long.empty:
        raise ValueError("no windows to draw")
    ids = list(dict.fromkeys(long["id"]))
    shown = ids[:max_sequences]
    models = list(dict.fromkeys(long["model"]))
    colours = {model: f"C{i % 10}" for i, model in enumerate(models)}
    lengths = dict(lengths) if lengths is not None else {}
    if elements is not None:
        elements = elements[elements["id"].isin(shown)]
    kinds = list(dict.fromkeys(elements["kind"])) if elements is not None else []
    handles = [plt.Line2D([], [], color=colours[m], lw=1.5) for m in models]
    handles += [Patch(color=ELEMENT_COLOURS.get(k, "0.5"), alpha=0.35) for k in kinds]
    labels = list(models) + [f"planted {ELEMENT_LABELS.get(k, k)}" for k in kinds]
    legend_columns = min(len(labels), 5)
    columns = 1 if len(shown) == 1 else 2
    rows = math.ceil(len(shown) / columns)
    height = 2.3 * rows + 0.3 + 0.22 * math.ceil(len(labels) / legend_columns)
    figure, axes = plt.subplots(rows, columns, figsize=(6.4 * columns, height), squeeze=False, sharey=True,
                                layout="constrained")
    for ax, uid in zip(axes.flat, shown):
        part = long[long["id"] == uid]
        length = int(lengths.get(uid, part["end"].max()))
        if elements is not None:
            for row in elements[elements["id"] == uid].itertuples():
                colour = ELEMENT_COLOURS.get(row.kind, "0.5")
                # at least 0.6% of the axis wide, so a 7-nt site stays visible on a 1500-nt axis
                half = max((row.end - row.start + 1) / 2, 0.003 * length)
                centre = (row.start + row.end) / 2
                ax.axvspan(centre - half, centre + half, color=colour, alpha=0.35, lw=0)
        for model in models:
            one = part[part["model"] == model].sort_values("start")
            if one.empty:
                continue
            centre = (one["start"] + one["end"]) / 2
            # a sequence no longer than a window is one point: draw it as a dot
            ax.plot(centre, one["prediction"], color=colours[model], lw=1.3, label=model,
                    marker="o" if len(one) < 3 else None, markersize=4)
            if one["sd"].notna().any():
                ax.fill_between(centre, one["prediction"] - one["sd"], one["prediction"] + one["sd"],
                                color=colours[model], alpha=0.15, lw=0)
        ax.set_xlim(0, length + 1)
        ax.set_title(f"{uid} ({length} nt)", fontsize=9, loc="left")
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.25, lw=0.5)
    for ax in axes[-1]:
        ax.set_xlabel("window centre (nt)", fontsize=8)
    for ax in axes[:, 0]:
        ax.set_ylabel("predicted log2 change", fontsize=8)
    for ax in list(axes.flat)[len(shown):]:
        ax.axis("off")
    heading = title or "Predicted degradation along each sequence"
    if len(ids) > len(shown):
        heading += f" (first {len(shown)} of {len(ids)} sequences)"
    figure.suptitle(heading + "; lower = faster decay", fontsize=10)
    figure.legend(handles, labels, loc="outside lower center", ncol=legend_columns, fontsize=8, frameon=False)
    save_figure(figure, path, tight=False)  # the legend sits outside the axes (constrained layout)
    return shown
