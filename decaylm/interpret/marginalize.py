"""Element effects by marginalization: insert an element into background sequences and score the
change of prediction, at the centre (the effect) and at every `step` nt (the positional effect).

Backgrounds are test reporters shuffled with their dinucleotide content kept (tangermeme's
`dinucleotide_shuffle`, one seeded shuffle each), so they keep the library's composition but lose
its elements. An element given as a PWM (the known table, a user's MEME file) is inserted as a
sample of the PWM, one draw per background (seeded): a degenerate element such as Pumilio's
TGTAHATA or a GC-rich stretch is inserted in its variety, not as one string. A discovered motif is
inserted as its consensus. The insertion substitutes bases (the length stays that of the
reporters), as tangermeme's `marginalize` does; `marginalize` itself runs a torch model on one-hot
input, so the same substitution is done here on strings and scored through `predict`, which serves
every model kind.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from decaylm.interpret.attribution import BASES, decode, one_hot_batch

log = logging.getLogger(__name__)


def backgrounds(sequences, seed: int) -> list[str]:
    """One dinucleotide shuffle of each sequence (tangermeme), seeded."""
    import torch
    from tangermeme.ersatz import dinucleotide_shuffle

    x = torch.from_numpy(one_hot_batch(sequences))
    shuffled = dinucleotide_shuffle(x, n=1, random_state=seed, allow_N=True)  # (N, 1, 4, L)
    return decode(shuffled[:, 0].numpy().astype(np.float32))


def samples(element, n: int, rng: np.random.Generator) -> list[str]:
    """n insertions of an element: the string itself, or draws from a (4, w) PWM."""
    if isinstance(element, str):
        return [element] * n
    pwm = np.asarray(element, dtype=np.float64)
    cumulative = pwm.cumsum(axis=0) / pwm.sum(axis=0)
    draws = (rng.random((n, pwm.shape[1]))[:, None, :] > cumulative[None, :, :]).sum(axis=1)
    return ["".join(BASES[i] for i in row) for row in draws]


def insert(background: str, element: str, start: int) -> str:
    return background[:start] + element + background[start + len(element):]


def element_effects(model, backs: list[str], elements: dict, seed: int, positions=None) -> pd.DataFrame:
    """For each element (name -> string or PWM) and each start position, the change of prediction over
    the backgrounds: rows element, start (0-based; `centre` True for the central one), mean, sd, sem, n.
    `positions`: starts to try (None: the centre only)."""
    base = np.asarray(model.predict(backs), dtype=np.float64)
    length = len(backs[0])
    rows = []
    for k, (name, element) in enumerate(elements.items()):
        rng = np.random.default_rng([seed, k])
        inserts = samples(element, len(backs), rng)
        width = len(inserts[0])
        if width > length:
            log.warning("%s (%d nt) is longer than the backgrounds (%d nt): skipped", name, width, length)
            continue
        centre = (length - width) // 2
        starts = sorted({centre, *(s for s in (positions or []) if 0 <= s <= length - width)})
        batch = [insert(b, e, s) for s in starts for b, e in zip(backs, inserts)]
        scores = np.asarray(model.predict(batch, batch_size=max(256, len(backs))), dtype=np.float64)
        effects = scores.reshape(len(starts), len(backs)) - base[None, :]
        for s, row in zip(starts, effects):
            rows.append({"element": name, "start": s, "centre": s == centre, "width": width,
                         "mean": row.mean(), "sd": row.std(ddof=1) if len(row) > 1 else np.nan,
                         "sem": row.std(ddof=1) / np.sqrt(len(row)) if len(row) > 1 else np.nan, "n": len(row)})
    return pd.DataFrame(rows)


def plot_positional(model_name: str, effects: pd.DataFrame, path, note: str = "") -> None:
    """Effect of each element against its position in the reporter (mean ± sem over backgrounds)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from decaylm.io import save_figure

    fig, ax = plt.subplots(figsize=(7, 4))
    if effects.empty:
        ax.axis("off")
        ax.text(0.5, 0.5, f"{model_name}: no positional effects\n{note}".strip(), ha="center", va="center")
    else:
        for name, group in effects.groupby("element", sort=False):
            group = group.sort_values("start")
            centre = group["start"] + group["width"] / 2
            ax.plot(centre, group["mean"], marker="o", markersize=3, label=name)
            ax.fill_between(centre, group["mean"] - group["sem"], group["mean"] + group["sem"], alpha=0.2)
        ax.axhline(0, color="grey", linewidth=0.6)
        ax.set_xlabel("element centre in the reporter (nt from the 5' end)")
        ax.set_ylabel("change of prediction (log2 8 h / 2 h)")
        ax.set_title(f"{model_name}: element effect by position (mean ± s.e.m. over shuffled backgrounds)", fontsize=9)
        ax.legend(fontsize=7, ncol=2)
    save_figure(fig, path)


def plot_heatmap(table: pd.DataFrame, path) -> None:
    """Model x element heatmap of the mean central effect (diverging colours; blank: not run)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from decaylm.io import save_figure

    ok = table[table["status"] == "ok"]
    models = list(dict.fromkeys(table["model"]))
    elements = list(dict.fromkeys(ok["element"])) if not ok.empty else []
    grid = np.full((len(models), max(len(elements), 1)), np.nan)
    for _, row in ok.iterrows():
        grid[models.index(row["model"]), elements.index(row["element"])] = row["mean_effect"]
    limit = np.nanmax(np.abs(grid)) if np.isfinite(grid).any() else 1.0
    fig, ax = plt.subplots(figsize=(1.2 + 0.75 * max(len(elements), 1), 1.2 + 0.45 * len(models)))
    image = ax.imshow(grid, cmap="RdBu", vmin=-limit, vmax=limit, aspect="auto")
    ax.set_xticks(range(len(elements)), elements, rotation=60, ha="right", fontsize=7)
    labels = []
    for name in models:
        rows = table[table["model"] == name]
        labels.append(name if (rows["status"] == "ok").any() else f"{name} (not run)")
    ax.set_yticks(range(len(models)), labels, fontsize=7)
    for i in range(grid.shape[0]):
        for j in range(len(elements)):
            if np.isfinite(grid[i, j]):
                ax.text(j, i, f"{grid[i, j]:.2f}", ha="center", va="center", fontsize=6)
    fig.colorbar(image, ax=ax, label="mean change of prediction")
    ax.set_title("Inserted element effect per model (dinucleotide-shuffled test reporters)", fontsize=8)
    save_figure(fig, path)
