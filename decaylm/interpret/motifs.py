"""Motif discovery on attribution maps (modisco-lite), matching against known elements (memelite's
TOMTOM) and sequence logos (logomaker).

modisco-lite (`modiscolite.tfmodisco.TFMoDISco`) calls seqlets, the short windows of high absolute
contribution, splits them by sign (metaclusters: positive = raises the prediction, i.e. stabilizing,
as the target is log2 expression 8 h over 2 h; negative = destabilizing) and clusters them into
patterns. Its defaults are for 1 kb genomic windows and 10-20 nt transcription-factor sites; here the
reporters are 110 nt and the elements 4-10 nt, so the seqlet window, flanks and minimum cluster
sizes are scaled down (`MODISCO_DEFAULTS`, overridable from `interpret.modisco`): a 6-nt seqlet
window with 3-nt flanks and clusters of 5 seqlets or more. Seqlets come from at least 8% of the
windows rather than modisco's 3%: a 110-nt reporter holds one or two 4-10 nt elements, and a model
that has learned a dense k-mer background (as the simulator has one) makes modisco's Laplace null
so wide that its FDR cut keeps only the strongest elements' windows. The share was chosen on
simulated libraries of seeds other than the test's (docs/interpretation.md, "Validation on the
simulator", and benchmarks/bench_interpret_simulator.py).

RNA is single-stranded, but modisco aligns seqlets on both strands. A pattern whose seqlets mostly
aligned as reverse complements is therefore turned back to the strand they were read on, and TOMTOM
is run on the given strand only. Each pattern is trimmed to its core (columns whose absolute
contribution is at least `trim_fraction` of the strongest column's) before matching and insertion.

A motif with no known match at q < `max_q` is kept and reported as new.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field

import numpy as np

from decaylm.interpret.meme import Motif, consensus
from decaylm.sequences import BASES

log = logging.getLogger(__name__)

MODISCO_DEFAULTS = {
    "sliding_window_size": 6,
    "flank_size": 3,
    "min_metacluster_size": 10,
    "target_seqlet_fdr": 0.2,
    "max_seqlets_per_metacluster": 5000,
    "n_leiden_runs": 4,
    "trim_to_window_size": 12,
    "initial_flank_to_add": 3,
    "final_flank_to_add": 0,
    "min_num_to_trim_to": 10,
    "final_min_cluster_size": 5,
    "nearest_neighbors_to_compute": 200,
    "min_ic_windowsize": 4,
    "min_ic_in_window": 0.4,
    "min_passing_windows_frac": 0.08,
}


MAX_MOTIFS = 20  # patterns reported per model, most seqlets first (interpret.max_motifs)

# the settings of a second try when the clustering fails (an 8-nt window, clusters of 10 or more)
WIDE_WINDOW = {"sliding_window_size": 8, "flank_size": 4, "min_metacluster_size": 20, "final_min_cluster_size": 10}


@dataclass
class Discovered:
    name: str
    sign: str  # "+" raises the prediction (stabilizing), "-" lowers it (destabilizing)
    seqlets: int
    cwm: np.ndarray  # (4, w) mean contribution (hypothetical x one-hot) of the seqlets, trimmed
    ppm: np.ndarray  # (4, w) base frequencies of the seqlets, trimmed
    mean_effect: float  # mean summed contribution of the core over seqlets (prediction units)
    reverse_fraction: float  # share of seqlets modisco aligned as reverse complements (before turning)
    matches: list = field(default_factory=list)  # [(known name, p, q)], best first

    @property
    def consensus(self) -> str:
        return consensus(self.ppm)

    def as_motif(self) -> Motif:
        return Motif(self.name, self.ppm, "discovered", f"{self.sign}{self.consensus}")


def _reverse_complement(matrix: np.ndarray) -> np.ndarray:
    return matrix[::-1, ::-1].copy()  # ACGT rows reversed are TGCA: the complement


def _trim(cwm: np.ndarray, fraction: float) -> slice:
    strength = np.abs(cwm).sum(axis=0)
    keep = np.flatnonzero(strength >= fraction * strength.max())
    return slice(int(keep[0]), int(keep[-1]) + 1)


def discover(x: np.ndarray, hyp: np.ndarray, settings: dict | None = None, trim_fraction: float = 0.3,
             max_motifs: int = MAX_MOTIFS, _retry: bool = True) -> list[Discovered]:
    """modisco-lite on one-hot x and hypothetical contributions hyp (both (N, 4, L)); patterns of both
    signs, most seqlets first, at most `max_motifs`. When its Leiden clustering fails on NaN affinities
    (seen with the 6-nt window on MORPH_O's real-data maps), it is run once more with WIDE_WINDOW."""
    from modiscolite.tfmodisco import TFMoDISco

    params = {**MODISCO_DEFAULTS, **(settings or {})}
    params["nearest_neighbors_to_compute"] = min(params["nearest_neighbors_to_compute"], max(len(x) * 2, 10))
    one_hot = np.ascontiguousarray(x.transpose(0, 2, 1), dtype=np.float32)
    hypothetical = np.ascontiguousarray(hyp.transpose(0, 2, 1), dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            positive, negative = TFMoDISco(one_hot=one_hot, hypothetical_contribs=hypothetical, **params)
        except (ValueError, IndexError, RuntimeError) as error:  # too few seqlets for its clustering
            log.warning("modisco-lite found no patterns (%s)", " ".join(str(error).split())[:200])
            return []
        except BaseException as error:  # leidenalg raises a bare BaseException ("Cannot accept NaN weights")
            if type(error) is not BaseException:
                raise  # KeyboardInterrupt, SystemExit
            message = " ".join(str(error).split())[:200]
            if not _retry or all(params.get(k) == v for k, v in WIDE_WINDOW.items()):
                log.warning("modisco-lite failed in its clustering (%s); no motifs", message)
                return []
            log.warning("modisco-lite failed in its clustering (%s); retrying with an 8-nt window and clusters of 10 "
                        "or more", message)
            return discover(x, hyp, {**(settings or {}), **WIDE_WINDOW}, trim_fraction, max_motifs, _retry=False)
    found = []
    for sign, patterns in (("+", positive), ("-", negative)):
        for index, pattern in enumerate(patterns or []):
            cwm = np.asarray(pattern.contrib_scores, dtype=np.float64).T  # (4, w)
            ppm = np.asarray(pattern.sequence, dtype=np.float64).T
            reverse = float(np.mean([s.is_revcomp for s in pattern.seqlets])) if pattern.seqlets else 0.0
            if reverse > 0.5:  # RNA: show the strand the seqlets were read on
                cwm, ppm = _reverse_complement(cwm), _reverse_complement(ppm)
            core = _trim(cwm, trim_fraction)
            cwm, ppm = cwm[:, core], ppm[:, core]
            ppm = (ppm + 1e-3) / (ppm + 1e-3).sum(axis=0, keepdims=True)
            found.append(Discovered(f"{'pos' if sign == '+' else 'neg'}_{index}", sign, len(pattern.seqlets), cwm, ppm,
                                    float(cwm.sum()), max(reverse, 1 - reverse) if reverse > 0.5 else reverse))
    found.sort(key=lambda m: -m.seqlets)
    log.info("modisco-lite: %d patterns (%d stabilizing, %d destabilizing) from %d sequences", len(found),
             sum(m.sign == "+" for m in found), sum(m.sign == "-" for m in found), len(x))
    return found[:max_motifs]


# the narrowest discovered motif matched against the known elements: a 4-nt pattern such as UUAG
# "matches" any T-rich element (TTAG: ARE at q 0.04), so narrower ones are reported as new (with
# their nearest known element)
MIN_WIDTH = 5


def match(discovered: list[Discovered], known: list[Motif], max_q: float = 0.05) -> None:
    """TOMTOM (memelite) of every discovered motif against the known ones, on the given strand; q-values
    by Benjamini-Hochberg over all query x known pairs (`decoys` widen the background). Fills `matches`
    (q < max_q, best first) of motifs at least MIN_WIDTH wide."""
    if not discovered or not known:
        return
    from memelite.tomtom import tomtom

    targets = [k.pwm for k in known] + decoys()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p_values = tomtom([m.ppm for m in discovered], targets, reverse_complement=False, n_jobs=1)[0]
    p_values = p_values[:, :len(known)]  # the decoys only calibrate the background
    p_values = np.nan_to_num(np.asarray(p_values, dtype=np.float64), nan=1.0)
    q_values = benjamini_hochberg(p_values.ravel()).reshape(p_values.shape)
    for i, motif in enumerate(discovered):
        order = np.argsort(p_values[i])
        wide = motif.ppm.shape[1] >= MIN_WIDTH
        motif.matches = [(known[j].name, float(p_values[i, j]), float(q_values[i, j])) for j in order
                         if wide and q_values[i, j] < max_q]
        motif.best = (known[order[0]].name, float(p_values[i, order[0]]), float(q_values[i, order[0]]))


def decoys(n: int = 200, seed: int = 0) -> list[np.ndarray]:
    """Seeded random motifs (Dirichlet columns, 6-10 wide) added to TOMTOM's targets: its p-values take
    the target columns as the background, and a table of five near-deterministic elements (several of
    them T-rich) is too small a background (memelite warns below 25 targets). They are never reported."""
    rng = np.random.default_rng(seed)
    return [rng.dirichlet(np.full(4, 0.5), size=int(rng.integers(6, 11))).T for _ in range(n)]


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    n = len(p)
    if n == 0:
        return p
    order = np.argsort(p)
    ranked = p[order] * n / np.arange(1, n + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1].clip(max=1.0)
    out = np.empty(n)
    out[order] = q
    return out


def motif_rows(model: str, discovered: list[Discovered]) -> list[dict]:
    """motifs.tsv rows: motif, consensus, sign, mean effect, seqlets, best known match, its q-value."""
    rows = []
    for m in discovered:
        best = m.matches[0] if m.matches else None
        nearest = getattr(m, "best", None)
        rows.append({"model": model, "motif": m.name, "consensus": m.consensus, "sign": m.sign,
                     "mean_effect": m.mean_effect, "seqlets": m.seqlets,
                     "best_match": best[0] if best else "new",
                     "match_q": best[2] if best else (nearest[2] if nearest else np.nan),
                     "nearest_known": nearest[0] if nearest else "", "reverse_fraction": m.reverse_fraction,
                     "status": "ok"})
    return rows


def draw_logos(model: str, discovered: list[Discovered], path, note: str = "") -> None:
    """One logo per motif: its contribution-weighted matrix (CWM; letters above the axis raise the
    prediction, below lower it), titled with sign, seqlets and best known match."""
    import logomaker
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    from decaylm.io import save_figure

    if not discovered:
        fig, ax = plt.subplots(figsize=(6, 1.6))
        ax.axis("off")
        ax.text(0.5, 0.5, f"{model}: no motifs\n{note}".strip(), ha="center", va="center", fontsize=10, wrap=True)
    else:
        fig, axes = plt.subplots(len(discovered), 1, figsize=(6, 1.5 * len(discovered)), squeeze=False)
        for ax, m in zip(axes[:, 0], discovered):
            frame = pd.DataFrame(m.cwm.T, columns=list(BASES))
            logomaker.Logo(frame, ax=ax, color_scheme="classic")
            ax.axhline(0, color="black", linewidth=0.5)
            label = m.matches[0][0] + f" (q={m.matches[0][2]:.2g})" if m.matches else "new"
            ax.set_title(f"{m.name} {m.sign} {m.consensus}: {m.seqlets} seqlets, {label}", fontsize=8)
            ax.set_xticks([])
            ax.tick_params(labelsize=6)
        fig.suptitle(f"{model}: motifs (contribution-weighted)", fontsize=9)
    save_figure(fig, path)
