"""KMER_RIDGE: counts of all k-mers (k = 1..k_max) and ridge regression, alpha by CV on train.

In the spirit of the UTR-Seq k-mer regression (Rabani et al. 2017). The model is that of the scikit-learn
pipeline `build`: CountVectorizer's char n-grams (exactly the overlapping k-mers), MaxAbsScaler, and RidgeCV
with alpha chosen by cross-validation folds that keep overlap groups together, so overlapping reporters do not
make a weak penalty look good.

`fit_ridge` computes that model without the pipeline, in time linear in the number of reporters: the same
k-mer columns, scales and alpha, and the coefficients and intercept that the pipeline's solver approaches
(its conjugate gradients stop within 1e-4; a test compares the two). RidgeCV runs those conjugate gradients
over the sparse count matrix for each fold and alpha, and their iterations grow with the data
(docs/scale.md). `fit_ridge` counts the k-mers with numpy, a chunk of reporters at a time, and adds up each
fold's Gram matrix of the counts (features x features: 5,460 at k_max 6, 240 MB a fold). Each fold's ridge
for each alpha is then one Cholesky factorization, whose cost (folds x alphas + 1 of them, about 0.7 s each
at 5,460 features) does not grow with the reporters. With more features than MAX_GRAM_FEATURES (k_max 7
and up) the Grams would not fit in memory, and with fewer training reporters than MIN_GRAM_REPORTERS
their fixed cost does not pay: there it fits the pipeline itself.

A loaded model predicts without the vectorizer: the fitted pipeline is linear in the k-mer
counts, so each k-mer's weight (ridge coefficient over its MaxAbsScaler scale) goes into a table
indexed by the k-mer's code, and a prediction is the sum of the table over the sequence's windows
plus the intercept: the same number as the pipeline's up to float rounding (a test checks it),
without the vectorizer's per-string work, which in-silico mutagenesis pays 3 x L times per
sequence (speeds: docs/interpretation.md, "Speed").

The folder holds no pickle: `weights.safetensors` keeps the fitted numbers as arrays (the ridge
coefficients, the MaxAbsScaler scales, the intercept) with the k-mer of each column as JSON in its
metadata, so loading runs no code from the folder; `pipeline` rebuilds the scikit-learn pipeline
from them.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from safetensors import SafetensorError, safe_open
from safetensors.numpy import save_file
from scipy.linalg import cho_factor, cho_solve
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import Ridge, RidgeCV
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MaxAbsScaler
from threadpoolctl import threadpool_limits

from decaylm.errors import InputError
from decaylm.io import atomic_path
from decaylm.models.specs import ModelSpec
from decaylm.models.artifact import CHANGED, TrainedModel, write_model_json
from decaylm.models.common import parts, training_length

log = logging.getLogger(__name__)
WEIGHTS = "weights.safetensors"
MAX_TABLE = 1 << 27  # entries of the largest weight table loaded (1 GiB); k_max 10 over ACGTN needs 6e7
CHUNK = 2048  # reporters counted at a time: enough rows for BLAS to run at speed; 90 MB of counts at k_max 6
MAX_GRAM_FEATURES = 8000  # above (k_max 7: 21,844 over ACGT), the Grams outgrow memory: 3.8 GB each at k_max 7
# Below this many training reporters the pipeline is as fast (its solver's iterations are still few) in a
# fifth of the memory, the Grams' fixed cost (56 factorizations, 2.3 GB) does not pay, and every shipped
# config (at most about 31,000 training reporters) keeps its numbers: measured in docs/scale.md.
MIN_GRAM_REPORTERS = 50_000


def build(k_max: int, alphas, folds) -> object:
    """The scikit-learn pipeline whose model `fit_ridge` computes (benchmarks/kmer_residuals.py extends it)."""
    return make_pipeline(
        CountVectorizer(analyzer="char", ngram_range=(1, k_max), lowercase=False, dtype=np.float64),
        MaxAbsScaler(),
        RidgeCV(alphas=alphas, cv=folds),
    )


@dataclass
class RidgeFit:
    """A fitted KMER_RIDGE: ridge coefficients on the counts of `kmers` over their scales (MaxAbsScaler's: each
    k-mer's largest count in training), the intercept, and the alpha it was fitted with."""
    kmers: list[str]
    coef: np.ndarray
    scale: np.ndarray
    intercept: float
    alpha: float

    def pipeline(self):
        """The fitted scikit-learn pipeline of these numbers."""
        n = len(self.kmers)
        vectorizer = CountVectorizer(analyzer="char", ngram_range=(1, max(map(len, self.kmers))), lowercase=False,
                                     dtype=np.float64, vocabulary={kmer: i for i, kmer in enumerate(self.kmers)})
        scaler = MaxAbsScaler()
        scaler.scale_ = scaler.max_abs_ = self.scale
        scaler.n_features_in_ = n
        ridge = Ridge(alpha=self.alpha)
        ridge.coef_, ridge.intercept_, ridge.n_features_in_ = self.coef, self.intercept, n
        return make_pipeline(vectorizer, scaler, ridge)


class KmerCounts:
    """Counts of the k-mers (k = 1..k_max) of the sequences it is built on, in CountVectorizer's columns (every
    k-mer that occurs, sorted as strings), as dense rows from numpy codes of the windows: no Python work per
    k-mer, which is most of CountVectorizer's time."""

    def __init__(self, sequences: list[str], k_max: int):
        self.k_max = k_max
        letters = sorted(set("".join(sequences)))
        self.points = np.array([ord(c) for c in letters], dtype=np.uint32)
        self.base = len(letters)
        seen = [np.zeros(self.base ** k, dtype=bool) for k in range(1, k_max + 1)]
        for start in range(0, len(sequences), CHUNK):
            for k, _, codes in self.windows(sequences[start:start + CHUNK]):
                seen[k - 1][codes] = True
        found = []  # (k-mer, k, code) of every k-mer that occurs
        for k, present in enumerate(seen, start=1):
            codes = np.flatnonzero(present)
            digits = np.stack(np.unravel_index(codes, (self.base,) * k), axis=1)
            found += [("".join(row), k, code) for row, code in zip(np.array(letters)[digits], codes)]
        found.sort()
        self.kmers = [kmer for kmer, _, _ in found]
        self.columns = [np.full(self.base ** k, -1) for k in range(1, k_max + 1)]  # k-mer code -> column
        for column, (_, k, code) in enumerate(found):
            self.columns[k - 1][code] = column

    def windows(self, sequences: list[str]):
        """(k, row, code) for each k of every k-mer window of `sequences` (row: the sequence's index in it)."""
        lengths = np.array([len(s) for s in sequences])
        width = int(lengths.max())
        padded = np.frombuffer("".join(s.ljust(width, "\0") for s in sequences).encode("utf-32-le"),
                               dtype=np.uint32).reshape(len(sequences), width)
        digits = np.searchsorted(self.points, padded)  # padding gets a digit too: windows over it are dropped
        codes = np.zeros((len(sequences), width), dtype=np.int64)
        for k in range(1, self.k_max + 1):
            # codes of the k-mers starting at each position: the (k-1)-mer codes shifted by one letter
            codes = codes[:, : width - k + 1] * self.base + digits[:, k - 1:]
            inside = np.arange(width - k + 1) <= (lengths - k)[:, None]
            yield k, np.nonzero(inside)[0], codes[inside]

    def counts(self, sequences: list[str]) -> np.ndarray:
        """A row of counts per sequence, dense and float64 for BLAS."""
        p = len(self.kmers)
        cells = np.concatenate([row * p + self.columns[k - 1][codes] for k, row, codes in self.windows(sequences)])
        return np.bincount(cells, minlength=len(sequences) * p).reshape(len(sequences), p).astype(np.float64)


def ridge_solutions(gram, sums, cross, n, y_sum, alphas) -> tuple[np.ndarray, np.ndarray]:
    """Ridge coefficients (a row per alpha) and intercepts from sums over the reporters it trains on: the
    features' Gram matrix (overwritten), their sums and their products with y. These are the normal
    equations of the data centred for the intercept, as scikit-learn's Ridge solves them: X^T X - n m m^T,
    m the features' means. One Cholesky factorization per alpha: at 5,460 features eleven of them take less
    time than one eigendecomposition."""
    mean = sums / n
    gram -= np.outer(sums, mean)
    right = cross - sums * (y_sum / n)
    coefs = []
    for alpha in alphas:
        shifted = gram.copy()
        shifted.flat[:: len(sums) + 1] += alpha  # + alpha I
        coefs.append(cho_solve(cho_factor(shifted, overwrite_a=True, check_finite=False), right, check_finite=False))
    coefs = np.array(coefs)
    return coefs, y_sum / n - coefs @ mean


def _pipeline_fit(sequences, y, k_max: int, alphas, folds) -> RidgeFit:
    """The scikit-learn pipeline's own fit, as a RidgeFit."""
    pipeline = build(k_max, alphas, folds).fit(sequences, y)
    vocabulary, ridge = pipeline[0].vocabulary_, pipeline[-1]
    return RidgeFit(sorted(vocabulary, key=vocabulary.get), ridge.coef_, pipeline[1].scale_, float(ridge.intercept_),
                    float(ridge.alpha_))


# One BLAS thread: the job is sized for one (rules/models.smk), and on a busy machine OpenBLAS's threads spin:
# with two of them a 700 x 700 Cholesky factorization took 70 times as long (measured on 2 shared cores).
@threadpool_limits.wrap(limits=1, user_api="blas")
def fit_ridge(sequences, y, k_max: int, alphas, folds) -> RidgeFit:
    """The model that `build(k_max, alphas, folds).fit(sequences, y)` finds, in time linear in the reporters.
    folds: (train, test) index pairs whose test parts partition the reporters, as GroupKFold's do."""
    sequences, y = list(sequences), np.asarray(y, dtype=np.float64)
    if len(sequences) < MIN_GRAM_REPORTERS:  # decided before counting: the pipeline counts for itself
        return _pipeline_fit(sequences, y, k_max, alphas, folds)
    counter = KmerCounts(sequences, k_max)
    p, n_folds = len(counter.kmers), len(folds)
    if p > MAX_GRAM_FEATURES:
        return _pipeline_fit(sequences, y, k_max, alphas, folds)
    # Sums over each fold's reporters: the Gram matrix of their counts, the counts' sums and their products
    # with y. The counts are integers, so the Grams are exact, in whatever order the chunks come.
    gram, sums, cross = np.zeros((n_folds, p, p)), np.zeros((n_folds, p)), np.zeros((n_folds, p))
    scale = np.zeros(p)
    for f, (_, test) in enumerate(folds):
        for start in range(0, len(test), CHUNK):
            rows = test[start:start + CHUNK]
            counts = counter.counts([sequences[i] for i in rows])
            gram[f] += counts.T @ counts
            sums[f] += counts.sum(axis=0)
            cross[f] += y[rows] @ counts
            np.maximum(scale, counts.max(axis=0), out=scale)
    # MaxAbsScaler's scale, fitted on all training reporters: each k-mer's largest count (never 0: every
    # column's k-mer occurs). Dividing the sums by it makes them sums of the scaled counts.
    gram /= scale
    gram /= scale[:, None]
    sums /= scale
    cross /= scale
    sizes = np.array([len(test) for _, test in folds])
    y_sums = np.array([y[test].sum() for _, test in folds])

    def ridge(keep, alphas):
        """Coefficients (a row per alpha) and intercepts of the ridge trained on the folds in `keep` (a mask)."""
        return ridge_solutions(gram.sum(axis=0, where=keep[:, None, None]), sums[keep].sum(axis=0),
                               cross[keep].sum(axis=0), sizes[keep].sum(), y_sums[keep].sum(), alphas)

    # RidgeCV(cv=folds) picks alpha by GridSearchCV: the best mean over folds of R2 on the held-out fold, the
    # first of equals. Each R2 comes from the held-out fold's sums: with its counts and y centred on their
    # means (m, mean y), residual = (yc - Xc w) + (mean y - m w - intercept), and the cross terms add to 0.
    scores = np.zeros((n_folds, len(alphas)))
    for f, (_, test) in enumerate(folds):
        coefs, intercepts = ridge(np.arange(n_folds) != f, alphas)
        mean, y_mean = sums[f] / sizes[f], y_sums[f] / sizes[f]
        ss_tot = np.sum((y[test] - y_mean) ** 2)
        spread = ((coefs @ gram[f]) * coefs).sum(axis=1) - sizes[f] * (coefs @ mean) ** 2  # |Xc w|^2
        ss_res = (ss_tot - 2 * coefs @ (cross[f] - sums[f] * y_mean) + spread
                  + sizes[f] * (y_mean - coefs @ mean - intercepts) ** 2)
        scores[f] = 1 - ss_res / ss_tot if ss_tot > 0 else 0.0  # r2_score's 0 for a constant y (bar a perfect fit)
    alpha = float(alphas[int(np.argmax(scores.mean(axis=0)))])
    coefs, intercepts = ridge(np.ones(n_folds, dtype=bool), [alpha])
    return RidgeFit(counter.kmers, coefs[0], scale, float(intercepts[0]), alpha)


def train(split, spec: ModelSpec, out_dir) -> None:
    arch = spec.architecture
    train_part = parts(split)["train"]
    n_groups = train_part["group"].nunique()
    if n_groups < arch.cv_folds:
        raise InputError(f"models.{spec.name}.cv_folds", f"{arch.cv_folds} folds but only {n_groups} overlap groups "
                         "in the training split", "lower cv_folds")
    folds = list(GroupKFold(n_splits=arch.cv_folds).split(train_part, groups=train_part["group"]))
    fit = fit_ridge(train_part["sequence"], train_part["y"], arch.k_max, arch.alphas, folds)
    log.info("k-mers 1..%d: %d features; alpha chosen by grouped %d-fold CV on train: %g", arch.k_max,
             len(fit.kmers), arch.cv_folds, fit.alpha)
    with atomic_path(Path(out_dir) / WEIGHTS) as tmp:
        save_weights(fit, tmp)
    write_model_json(out_dir, spec, training_length(split), {"weights": WEIGHTS}, alpha=fit.alpha)


def save_weights(fit: RidgeFit, path) -> None:
    """The fitted numbers as a safetensors file: arrays, and the k-mer of each column in order."""
    arrays = {"coef": np.asarray(fit.coef, dtype=np.float64).ravel(),
              "scale": np.asarray(fit.scale, dtype=np.float64),
              "intercept": np.asarray(fit.intercept, dtype=np.float64).reshape(1)}
    save_file(arrays, str(path), metadata={"kmers": json.dumps(fit.kmers), "alpha": repr(float(fit.alpha))})


def read_weights(path) -> tuple[dict, list[str], float]:
    """(arrays, k-mers, alpha) of a weights file, checked to fit together; one line if they do not."""
    try:
        with safe_open(str(path), framework="numpy") as handle:
            arrays = {name: handle.get_tensor(name) for name in handle.keys()}
            metadata = handle.metadata() or {}
        kmers, alpha = json.loads(metadata["kmers"]), float(metadata["alpha"])
    except (SafetensorError, KeyError, ValueError, TypeError) as error:
        raise InputError(str(path), f"is not a KMER_RIDGE weights file ({error})", CHANGED) from None
    n = len(kmers) if isinstance(kmers, list) else 0
    shapes = {name: array.shape for name, array in arrays.items()}
    if shapes != {"coef": (n,), "scale": (n,), "intercept": (1,)} or not n or \
            not all(isinstance(kmer, str) and kmer for kmer in kmers):
        raise InputError(str(path), "its arrays and k-mers do not fit together", CHANGED)
    entries = (len({c for kmer in kmers for c in kmer}) + 1) ** max(map(len, kmers))
    if entries > MAX_TABLE:
        raise InputError(str(path), f"its k-mers need a weight table of {entries:.3g} entries", CHANGED)
    return {name: array.astype(np.float64) for name, array in arrays.items()}, kmers, alpha


class KmerWeights:
    """The fitted pipeline as one weight table per k over k-mer codes (letters of the vocabulary, plus a
    code for padding and letters it never saw, whose k-mers weigh nothing). `weights`: each k-mer's
    weight on its count (ridge coefficient over its MaxAbsScaler scale)."""

    def __init__(self, kmers: list[str], weights: np.ndarray, intercept: float):
        self.intercept = float(intercept)
        self.letters = sorted({c for kmer in kmers for c in kmer})
        self.base = len(self.letters) + 1  # the last code: padding or an unseen letter
        self.k_max = max(len(kmer) for kmer in kmers)
        self.tables = [np.zeros(self.base ** k) for k in range(1, self.k_max + 1)]
        index = {c: i for i, c in enumerate(self.letters)}
        for column, kmer in enumerate(kmers):
            code = 0
            for c in kmer:
                code = code * self.base + index[c]
            self.tables[len(kmer) - 1][code] = weights[column]
        self.lookup = np.full(256, self.base - 1, dtype=np.int64)
        for c, i in index.items():
            self.lookup[ord(c)] = i

    def predict(self, sequences: list[str]) -> np.ndarray:
        if not sequences:
            return np.zeros(0)
        width = max(len(s) for s in sequences)
        padded = np.frombuffer("".join(s.ljust(width, "\0") for s in sequences).encode("latin-1", "replace"),
                               dtype=np.uint8).reshape(len(sequences), width)
        codes = self.lookup[padded]
        total = np.full(len(sequences), self.intercept)
        window = np.zeros((len(sequences), width), dtype=np.int64)
        for k, table in enumerate(self.tables, start=1):
            # codes of the k-mers starting at each position: the (k-1)-mer codes shifted by one letter
            window = window[:, : width - k + 1] * self.base + codes[:, k - 1:]
            total += table[window].sum(axis=1)
        return total


class KmerRidge(TrainedModel):
    def __init__(self, folder, record):
        super().__init__(folder, record)
        self.arrays, self.kmers, self.alpha = read_weights(self.path("weights"))
        self.weights = KmerWeights(self.kmers, self.arrays["coef"] / self.arrays["scale"],
                                   float(self.arrays["intercept"][0]))

    @property
    def pipeline(self):
        """The fitted scikit-learn pipeline, rebuilt from the arrays: CountVectorizer counts the k-mers,
        a path independent of the weight tables that `predict` uses (a test compares the two)."""
        return RidgeFit(self.kmers, self.arrays["coef"], self.arrays["scale"], float(self.arrays["intercept"][0]),
                        self.alpha).pipeline()

    def predict(self, sequences, batch_size: int = 256) -> np.ndarray:
        sequences = list(sequences)
        return np.concatenate([self.weights.predict(sequences[i:i + 4096]) for i in range(0, len(sequences), 4096)]
                              or [np.zeros(0)]).astype(np.float32)


def load(folder, record) -> KmerRidge:
    return KmerRidge(folder, record)
