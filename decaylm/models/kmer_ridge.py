"""KMER_RIDGE: counts of all k-mers (k = 1..k_max) and ridge regression, alpha by CV on train.

In the spirit of the UTR-Seq k-mer regression (Rabani et al. 2017). scikit-learn does the
work: CountVectorizer's char n-grams are exactly the overlapping k-mers. Alpha is chosen by
cross-validation folds that keep overlap groups together, so overlapping reporters do not
make a weak penalty look good.

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
from pathlib import Path

import numpy as np
from safetensors import SafetensorError, safe_open
from safetensors.numpy import save_file
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import Ridge, RidgeCV
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MaxAbsScaler

from decaylm.errors import InputError
from decaylm.io import atomic_path
from decaylm.models.specs import ModelSpec
from decaylm.models.artifact import CHANGED, TrainedModel, write_model_json
from decaylm.models.common import parts, training_length

log = logging.getLogger(__name__)
WEIGHTS = "weights.safetensors"
MAX_TABLE = 1 << 27  # entries of the largest weight table loaded (1 GiB); k_max 10 over ACGTN needs 6e7


def build(k_max: int, alphas, folds) -> object:
    return make_pipeline(
        CountVectorizer(analyzer="char", ngram_range=(1, k_max), lowercase=False, dtype=np.float64),
        MaxAbsScaler(),
        RidgeCV(alphas=alphas, cv=folds),
    )


def train(split, spec: ModelSpec, out_dir) -> None:
    arch = spec.architecture
    train_part = parts(split)["train"]
    n_groups = train_part["group"].nunique()
    if n_groups < arch.cv_folds:
        raise InputError(f"models.{spec.name}.cv_folds", f"{arch.cv_folds} folds but only {n_groups} overlap groups "
                         "in the training split", "lower cv_folds")
    folds = list(GroupKFold(n_splits=arch.cv_folds).split(train_part, groups=train_part["group"]))
    model = build(arch.k_max, arch.alphas, folds)
    model.fit(train_part["sequence"], train_part["y"])
    log.info("k-mers 1..%d: %d features; alpha chosen by grouped %d-fold CV on train: %g", arch.k_max,
             len(model[0].vocabulary_), arch.cv_folds, model[-1].alpha_)
    with atomic_path(Path(out_dir) / WEIGHTS) as tmp:
        save_weights(model, tmp)
    write_model_json(out_dir, spec, training_length(split), {"weights": WEIGHTS}, alpha=float(model[-1].alpha_))


def save_weights(pipeline, path) -> None:
    """The fitted pipeline's numbers as a safetensors file: arrays, and the k-mer of each column in order."""
    vectorizer, scaler, ridge = pipeline[0], pipeline[1], pipeline[-1]
    kmers = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.get)
    arrays = {"coef": np.asarray(ridge.coef_, dtype=np.float64).ravel(),
              "scale": np.asarray(scaler.scale_, dtype=np.float64),
              "intercept": np.asarray(ridge.intercept_, dtype=np.float64).reshape(1)}
    save_file(arrays, str(path), metadata={"kmers": json.dumps(kmers), "alpha": repr(float(ridge.alpha_))})


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
        n = len(self.kmers)
        vectorizer = CountVectorizer(analyzer="char", ngram_range=(1, max(map(len, self.kmers))), lowercase=False,
                                     dtype=np.float64, vocabulary={kmer: i for i, kmer in enumerate(self.kmers)})
        scaler = MaxAbsScaler()
        scaler.scale_ = scaler.max_abs_ = self.arrays["scale"]
        scaler.n_features_in_ = n
        ridge = Ridge(alpha=self.alpha)
        ridge.coef_, ridge.intercept_, ridge.n_features_in_ = self.arrays["coef"], float(self.arrays["intercept"][0]), n
        return make_pipeline(vectorizer, scaler, ridge)

    def predict(self, sequences, batch_size: int = 256) -> np.ndarray:
        sequences = list(sequences)
        return np.concatenate([self.weights.predict(sequences[i:i + 4096]) for i in range(0, len(sequences), 4096)]
                              or [np.zeros(0)]).astype(np.float32)


def load(folder, record) -> KmerRidge:
    return KmerRidge(folder, record)
