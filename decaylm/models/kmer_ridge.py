"""KMER_RIDGE: counts of all k-mers (k = 1..k_max) and ridge regression, alpha by CV on train.

In the spirit of the UTR-Seq k-mer regression (Rabani et al. 2017). scikit-learn does the
work: CountVectorizer's char n-grams are exactly the overlapping k-mers. Alpha is chosen by
cross-validation folds that keep overlap groups together, so overlapping reporters do not
make a weak penalty look good.
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
from decaylm.model_specs import ModelSpec
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


class KmerRidge(TrainedModel):
    def __init__(self, folder, record):
        super().__init__(folder, record)
        with open(self.path("weights"), "rb") as handle:
            self.pipeline = pickle.load(handle)

    def predict(self, sequences, batch_size: int = 256) -> np.ndarray:
        return self.pipeline.predict(list(sequences)).astype(np.float32)


def load(folder, record) -> KmerRidge:
    return KmerRidge(folder, record)
