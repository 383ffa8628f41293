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
"""

from __future__ import annotations

import logging
import pickle

import numpy as np
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MaxAbsScaler

from decaylm.errors import InputError
from decaylm.io import atomic_path
from decaylm.models.specs import ModelSpec
from decaylm.models.artifact import TrainedModel, write_model_json
from decaylm.models.common import parts, training_length

log = logging.getLogger(__name__)
WEIGHTS = "model.pkl"


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
    with atomic_path(f"{out_dir}/{WEIGHTS}") as tmp, open(tmp, "wb") as handle:
        pickle.dump(model, handle)
    write_model_json(out_dir, spec, training_length(split), {"weights": WEIGHTS}, alpha=float(model[-1].alpha_))


class KmerWeights:
    """The fitted pipeline as one weight table per k over k-mer codes (letters of the vocabulary, plus a
    code for padding and letters it never saw, whose k-mers weigh nothing)."""

    def __init__(self, pipeline):
        vectorizer, scaler, ridge = pipeline[0], pipeline[1], pipeline[-1]
        weights = np.asarray(ridge.coef_, dtype=np.float64).ravel() / scaler.scale_
        self.intercept = float(np.asarray(ridge.intercept_).ravel()[0])
        self.letters = sorted({c for kmer in vectorizer.vocabulary_ for c in kmer})
        self.base = len(self.letters) + 1  # the last code: padding or an unseen letter
        self.k_max = max(len(kmer) for kmer in vectorizer.vocabulary_)
        self.tables = [np.zeros(self.base ** k) for k in range(1, self.k_max + 1)]
        index = {c: i for i, c in enumerate(self.letters)}
        for kmer, column in vectorizer.vocabulary_.items():
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
        with open(self.path("weights"), "rb") as handle:
            self.pipeline = pickle.load(handle)
        self.weights = KmerWeights(self.pipeline)

    def predict(self, sequences, batch_size: int = 256) -> np.ndarray:
        sequences = list(sequences)
        return np.concatenate([self.weights.predict(sequences[i:i + 4096]) for i in range(0, len(sequences), 4096)]
                              or [np.zeros(0)]).astype(np.float32)


def load(folder, record) -> KmerRidge:
    return KmerRidge(folder, record)
