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

from decaylm.io import atomic_path
from decaylm.models.common import parts, spec_value

log = logging.getLogger(__name__)
DEFAULT_ALPHAS = [float(a) for a in np.logspace(-1, 4, 11)]


def build(k_max: int, alphas, folds) -> object:
    return make_pipeline(
        CountVectorizer(analyzer="char", ngram_range=(1, k_max), lowercase=False, dtype=np.float64),
        MaxAbsScaler(),
        RidgeCV(alphas=alphas, cv=folds),
    )


def train_and_predict(split, spec: dict, out_dir, seed: int, name: str = "KMER_RIDGE") -> np.ndarray:
    k_max = spec_value(spec, "k_max", 6, name)
    alphas = spec_value(spec, "alphas", DEFAULT_ALPHAS, name)
    n_folds = spec_value(spec, "cv_folds", 5, name)
    train = parts(split)["train"]
    folds = list(GroupKFold(n_splits=n_folds).split(train, groups=train["group"]))
    model = build(k_max, alphas, folds)
    model.fit(train["sequence"], train["y"])
    log.info("k-mers 1..%d: %d features; alpha chosen by grouped %d-fold CV on train: %g", k_max,
             len(model[0].vocabulary_), n_folds, model[-1].alpha_)
    with atomic_path(f"{out_dir}/model.pkl") as tmp, open(tmp, "wb") as handle:
        pickle.dump(model, handle)
    return model.predict(split["sequence"])
