"""What a linear k-mer model leaves on the real data: position, pairs and spacing of elements (issue 24, item 8).

    echo 19 > /proc/self/autogroup; .venv/bin/python benchmarks/kmer_residuals.py [--config config.yaml]
    echo 19 > /proc/self/autogroup; .venv/bin/python benchmarks/kmer_residuals.py --simulated   # the contrast

Every reporter of the configured data (config.yaml: the shipped UTR-seq data) is predicted out of fold,
5-fold GroupKFold over the pipeline's overlap groups (split.group_overlap_nt, 30 nt), by KMER_RIDGE's own pipeline
(decaylm/models/kmer_ridge.py `build`: 1..k_max-mer counts, MaxAbsScaler, RidgeCV whose alpha is chosen
by grouped folds inside the training part, as `train` does) and by the same pipeline with one more block
of features beside the k-mer counts (a FeatureUnion in the featurizer's place; the same scaler, alphas
and alpha selection), so a gain is the block's alone:

- sites: sites per element kind, each element one whole site (beyond what <= 6-mer counts hold); the
  reference for position and pairs;
- position: sites of each element kind (decaylm/simulate/elements.py `find_sites`: consensus strings of
  the five known elements of the rbp_known table and known_elements.meme, plus UUAG) counted in 5 bins
  of 22 nt, and the distance of the 3'-most site to the 3' end;
- pairs: both kinds present (each pair of kinds), two or more sites of one kind, and site pairs counted
  by kind pair and spacing bin;
- posk4: 4-mers counted per third of the reporter;
- context (--simulated only): the simulator's own non-additive term, truth.tsv's context_effect (context-
  dependent motifs, decaylm/simulate/kinetics.py): its gain over base is the share of the target that
  the term carries beyond what the k-mer counts fit, out of fold (an oracle: no model is given it).

Gains over the base carry a paired bootstrap interval over overlap groups and the spread over folds.
docs/simulator.md ("What a linear k-mer model leaves on the real data") has the figures.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.metrics import r2_score
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import FeatureUnion
from sklearn.preprocessing import FunctionTransformer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from decaylm.expression import normalize_counts  # noqa: E402
from decaylm.models import kmer_ridge  # noqa: E402
from decaylm.models.registry import parse_model_spec  # noqa: E402
from decaylm.simulate import TRUTH_NAME, config_from_params, write_simulation  # noqa: E402
from decaylm.simulate.elements import ELEMENT_KINDS, find_sites  # noqa: E402
from decaylm.sources import read_raw  # noqa: E402
from decaylm.split import overlap_groups  # noqa: E402
from decaylm.target import compute_target  # noqa: E402

FOLDS = 5
POSITION_BINS = 5  # 22 nt each on the 110-nt reporters
SPACING_EDGES = (0, 15, 30, 60)  # nt between two site starts: [0, 15), [15, 30), [30, 60), [60, end)
THIRDS = 3
BOOTSTRAP = 2000
CNN_GAP = 0.614 - 0.498  # CNN minus KMER_RIDGE, test R2 of the default real-data run (README): a reference only
KIND_PAIRS = list(itertools.combinations_with_replacement(range(len(ELEMENT_KINDS)), 2))


def load(config_path: Path, simulated_dir: Path | None = None):
    """Sequences, target and overlap groups as the pipeline builds them from `config_path`; with
    `simulated_dir`, from the simulator's library of the config's data.simulate settings instead (then
    also truth.tsv's context_effect per reporter, for the context block; else None)."""
    config = yaml.safe_load(config_path.read_text())
    data, target = dict(config["data"]), config["target"]
    if simulated_dir is not None:
        write_simulation(config_from_params(data.get("simulate")), simulated_dir)
        data["source"] = "simulated"
        raw = read_raw(data, simulated_dir)
    elif data.get("source") == "utrseq":
        data["path"] = str((ROOT / data["path"]).resolve())  # the config's path is relative to the repository
        raw = read_raw(data)
    else:
        raise SystemExit(f"{config_path}: data.source is {data.get('source')!r}; give utrseq, or --simulated")
    expression = normalize_counts(raw, data["pseudocount"], data["min_reads"], data.get("filter_hours") or [])
    table = compute_target(expression, target["kind"], target["from_hour"], target["to_hour"],
                           target.get("divisor", 1), kinetic=target)
    groups = overlap_groups(table["sequence"].tolist(), config["split"]["group_overlap_nt"])
    spec = parse_model_spec("KMER_RIDGE", config["models"]["KMER_RIDGE"]).architecture
    context = None
    if simulated_dir is not None:
        truth = pd.read_csv(simulated_dir / TRUTH_NAME, sep="\t").set_index("id")
        if "context_effect" in truth:
            context = truth.loc[table["id"], "context_effect"].to_numpy(float)
    return table["sequence"].to_numpy(), table["y"].to_numpy(float), groups, spec, context


def _sites(sequences) -> list[list[tuple[int, int]]]:
    """(kind index, start) of every site of every sequence."""
    return [[(k, start) for k, kind in enumerate(ELEMENT_KINDS) for start, _ in found[kind]]
            for found in map(find_sites, sequences)]


def position_features(sequences) -> sparse.csr_matrix:
    """Per kind: sites in each of POSITION_BINS bins, and the 3'-most site's distance to the 3' end over
    the length (0 without a site; the bins tell the two apart)."""
    n_kinds = len(ELEMENT_KINDS)
    out = np.zeros((len(sequences), n_kinds * (POSITION_BINS + 1)))
    for row, (sequence, sites) in enumerate(zip(sequences, _sites(sequences))):
        length = len(sequence)
        last = {}
        for k, start in sites:
            out[row, k * POSITION_BINS + min(start * POSITION_BINS // length, POSITION_BINS - 1)] += 1
            last[k] = max(last.get(k, -1), start)
        for k, start in last.items():
            out[row, n_kinds * POSITION_BINS + k] = (length - start) / length
    return sparse.csr_matrix(out)


def pair_features(sequences) -> sparse.csr_matrix:
    """Both kinds present (each pair of different kinds), >= 2 sites of a kind, and site pairs per kind
    pair (same kind included) and spacing bin."""
    n_kinds, n_bins = len(ELEMENT_KINDS), len(SPACING_EDGES)
    different = [(a, b) for a, b in KIND_PAIRS if a != b]
    pair_column = {pair: i for i, pair in enumerate(KIND_PAIRS)}
    out = np.zeros((len(sequences), len(different) + n_kinds + len(KIND_PAIRS) * n_bins))
    for row, sites in enumerate(_sites(sequences)):
        counts = np.bincount([k for k, _ in sites], minlength=n_kinds)
        for i, (a, b) in enumerate(different):
            out[row, i] = counts[a] > 0 and counts[b] > 0
        out[row, len(different):len(different) + n_kinds] = counts >= 2
        for (ka, sa), (kb, sb) in itertools.combinations(sites, 2):
            pair = pair_column[(min(ka, kb), max(ka, kb))]
            spacing = int(np.searchsorted(SPACING_EDGES, abs(sa - sb), side="right")) - 1
            out[row, len(different) + n_kinds + pair * n_bins + spacing] += 1
    return sparse.csr_matrix(out)


class ThirdKmers:
    """4-mers counted per third of the reporter (a 4-mer belongs to the third it starts in): 3 x 256
    columns, a fixed vocabulary so that every fold has the same ones."""

    def __init__(self, k: int = 4):
        self.k = k
        vocabulary = {"".join(w): i for i, w in enumerate(itertools.product("ACGT", repeat=k))}
        self.vectorizer = CountVectorizer(analyzer="char", ngram_range=(k, k), lowercase=False,
                                          vocabulary=vocabulary, dtype=np.float64)

    def __call__(self, sequences) -> sparse.csr_matrix:
        blocks = []
        for third in range(THIRDS):
            pieces = []
            for sequence in sequences:
                a, b = third * len(sequence) // THIRDS, (third + 1) * len(sequence) // THIRDS
                pieces.append(sequence[a:b + self.k - 1])
            blocks.append(self.vectorizer.transform(pieces))
        return sparse.hstack(blocks).tocsr()


def site_features(sequences) -> sparse.csr_matrix:
    """Sites per kind: each element as one whole site (7-8-nt sites and runs, which counts of <= 6-mers
    hold only in part), the reference for position and pairs, whose columns sum or combine these."""
    out = np.zeros((len(sequences), len(ELEMENT_KINDS)))
    for row, sites in enumerate(_sites(sequences)):
        for k, _ in sites:
            out[row, k] += 1
    return sparse.csr_matrix(out)


BLOCKS = {"sites": site_features, "position": position_features, "pairs": pair_features, "posk4": ThirdKmers(4)}


class Cached:
    """A block computed once for every reporter and looked up by sequence (the blocks are fixed functions
    of the sequence, so a fold's rows are the same numbers; this saves recomputing them in every fit)."""

    def __init__(self, block, sequences):
        self.matrix = sparse.csr_matrix(block(list(sequences)))
        self.row = {sequence: i for i, sequence in enumerate(sequences)}

    def __call__(self, sequences) -> sparse.csr_matrix:
        return self.matrix[[self.row[sequence] for sequence in sequences]]


# model -> (extra blocks, the model its gain is measured against besides base)
MODELS = {"base": ((), None), "+sites": (("sites",), None), "+sites+position": (("sites", "position"), "+sites"),
          "+sites+pairs": (("sites", "pairs"), "+sites"), "+posk4": (("posk4",), None),
          "+all": (("sites", "position", "pairs", "posk4"), "+sites"), "+context": (("context",), None)}


def pipeline(spec, folds, blocks: tuple[str, ...], cached: dict):
    """KMER_RIDGE's pipeline; extra blocks join its k-mer counts ahead of the same scaler and RidgeCV."""
    model = kmer_ridge.build(spec.k_max, spec.alphas, folds)
    if blocks:
        union = [("kmers", model.steps[0][1])]
        union += [(name, FunctionTransformer(cached[name], accept_sparse=True)) for name in blocks]
        model.steps[0] = ("features", FeatureUnion(union))
    return model


def grouped_bootstrap_gain(y, base, other, groups, rng) -> tuple[float, float]:
    """95% interval of R2(other) - R2(base) over reporters resampled by overlap group."""
    _, index = np.unique(groups, return_inverse=True)
    per_group = np.stack([np.bincount(index, weights=w) for w in
                          (np.ones_like(y), y, y * y, (y - base) ** 2, (y - other) ** 2)])
    gains = []
    for _ in range(BOOTSTRAP // 500):
        draws = rng.integers(0, index.max() + 1, size=(500, index.max() + 1))
        weights = np.stack([np.bincount(d, minlength=index.max() + 1) for d in draws]).astype(float)
        n, sy, syy, sse_base, sse_other = (weights @ per_group.T).T
        total = syy - sy * sy / n
        gains.append((sse_base - sse_other) / total)
    low, high = np.percentile(np.concatenate(gains), [2.5, 97.5])
    return float(low), float(high)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "config.yaml")
    parser.add_argument("--simulated", action="store_true",
                        help="the same measurement on the simulator's library (the config's data.simulate)")
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated subset of " + ",".join(MODELS))
    args = parser.parse_args(argv)
    names = args.models.split(",")
    started = time.time()
    with tempfile.TemporaryDirectory() as work:
        sequences, y, groups, spec, context = load(args.config, Path(work) if args.simulated else None)
    if context is None:  # the context block needs the simulator's truth
        if "+context" in names and args.models != parser.get_default("models"):
            raise SystemExit("+context needs --simulated data with the context term on")
        names = [name for name in names if name != "+context"]
    models = {name: MODELS[name] for name in names}
    models.setdefault("base", MODELS["base"])
    print(f"{len(y)} reporters, {len(np.unique(groups))} overlap groups, target sd {y.std():.3f}; "
          f"k-mers 1..{spec.k_max}, {len(spec.alphas)} alphas, {spec.cv_folds} inner folds")
    blocks = dict(BLOCKS)
    if context is not None:
        blocks["context"] = lambda _: sparse.csr_matrix(context[:, None])  # rows in the order of `sequences`
    cached = {name: Cached(block, sequences) for name, block in blocks.items()}
    print("extra blocks: " + ", ".join(f"{name} {block.matrix.shape[1]} columns" for name, block in cached.items()))
    outer = list(GroupKFold(n_splits=FOLDS).split(sequences, groups=groups))
    predicted = {name: np.zeros(len(y)) for name in models}
    fold_r2 = {name: [] for name in models}
    alphas = {name: [] for name in models}
    for fold, (train, test) in enumerate(outer):
        inner = list(GroupKFold(n_splits=spec.cv_folds).split(train, groups=groups[train]))
        for name, (blocks, _) in models.items():
            model = pipeline(spec, inner, blocks, cached).fit(sequences[train], y[train])
            predicted[name][test] = model.predict(sequences[test])
            fold_r2[name].append(r2_score(y[test], predicted[name][test]))
            alphas[name].append(model[-1].alpha_)
        print(f"fold {fold + 1}/{FOLDS} done, {time.time() - started:.0f} s", flush=True)

    print(f"\nout-of-fold R2 over all {len(y)} reporters (grouped {FOLDS}-fold); gains with their 95% "
          f"grouped-bootstrap interval ({BOOTSTRAP} resamples, seed 0 each) and range over folds; share of the "
          f"CNN's gap over KMER_RIDGE on the default split ({CNN_GAP:.3f}, a reference)")
    print("| model | OOF R2 | gain over base [95% CI] | per fold | share of CNN gap | gain over reference [95% CI] "
          "| per fold | alphas |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, (_, reference) in models.items():
        r2 = r2_score(y, predicted[name])
        alpha_text = "/".join(f"{a:g}" for a in alphas[name])
        cells = []
        for against in ("base", reference):
            if name == "base" or against not in predicted:
                cells += ["", ""] if against == reference else ["", "", ""]
                continue
            gain = r2 - r2_score(y, predicted[against])
            low, high = grouped_bootstrap_gain(y, predicted[against], predicted[name], groups, np.random.default_rng(0))
            per_fold = np.array(fold_r2[name]) - np.array(fold_r2[against])
            cells += [f"{gain:+.4f} [{low:+.4f}, {high:+.4f}]" + ("" if against == "base" else f" vs {against}"),
                      f"{per_fold.min():+.4f} to {per_fold.max():+.4f}"]
            if against == "base":
                cells.append(f"{gain / CNN_GAP:.0%}")
        print(f"| {name} | {r2:.3f} | " + " | ".join(cells) + f" | {alpha_text} |")
    print(f"\n{time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
